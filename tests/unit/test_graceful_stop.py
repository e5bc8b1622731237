"""Ctrl-C (SIGINT, SIGTERM) sets the stop flag as the signal arrives.

The main thread of ``tasker-ctl run`` spends its time waiting in the database driver, where
Python-level signal handlers do not run until the wait's interval ends; a worker thread
could finish its step and start the next one meanwhile. Here the main thread blocks the
signal while it waits, which is the same for the Python handler: it cannot run until the
wait is over. The stop flag must be set regardless.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest

from tasker_ctl.cli.stopping import GracefulStop


def _send_and_watch(stopper: GracefulStop, seen: list[bool], done: threading.Event) -> None:
    os.kill(os.getpid(), signal.SIGINT)
    seen.append(stopper.stop.wait(5))
    done.set()


@pytest.mark.parametrize("repetition", range(3))
def test_stop_is_set_while_the_main_thread_runs_no_python(repetition: int) -> None:
    said: list[str] = []
    seen: list[bool] = []
    done = threading.Event()
    with GracefulStop(lambda: said.append("stopping")) as stopper:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            sender = threading.Thread(target=_send_and_watch, args=(stopper, seen, done))
            sender.start()
            assert done.wait(10)  # the main thread waits here, as it does in the driver
            sender.join()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        assert seen == [True]
        assert stopper.signalled == signal.SIGINT
        # the Python handler ran once the main thread could: the first signal, said once
        assert said == ["stopping"]


def test_a_second_signal_quits_at_once() -> None:
    previous = signal.getsignal(signal.SIGINT)
    with GracefulStop() as stopper:
        signal.raise_signal(signal.SIGINT)
        assert stopper.stop.is_set()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is previous
    assert signal.set_wakeup_fd(-1) == -1  # the wakeup descriptor is given back too


def test_off_the_main_thread_nothing_is_installed() -> None:
    installed: list[object] = []

    def enter() -> None:
        with GracefulStop() as stopper:
            installed.append(stopper._watcher)

    thread = threading.Thread(target=enter)
    thread.start()
    thread.join()
    assert installed == [None]
