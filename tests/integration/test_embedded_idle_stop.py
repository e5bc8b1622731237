"""Idle stop: an embedded server tasker-ctl started stops by itself once it has had no client
for the idle period (here a second), and not while a client is connected; `db start` with
TASKER_IDLE_STOP is in tests/e2e/test_db_cli.py. The watcher is a real detached process; the
tests poll real conditions (the server's postmaster.pid, the watcher's own record of its
checks) against a deadline."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tasker_ctl.db.embedded import embedded_status, reset_embedded, start_embedded
from tasker_ctl.db.idle_stop import LOG_FILE, STATE_FILE
from tasker_ctl.engine.store import connect

DEADLINE_SECONDS = 90.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE_SECONDS:g} s: {what}")
        time.sleep(0.05)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = tmp_path / "project" / ".tasker"
    try:
        yield path
    finally:
        reset_embedded(path)


def _watcher_state(home: Path) -> dict[str, object]:
    try:
        return dict(json.loads((home / STATE_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def test_a_server_with_a_client_keeps_running(home: Path) -> None:
    url = start_embedded(home, idle_stop_after=1.0)
    with connect(url) as store:
        # many checks, for several idle periods, each seeing the client: still running
        wait_for(
            lambda: int(str(_watcher_state(home).get("checks", 0))) >= 40,
            "the watcher checked the server forty times",
        )
        state = _watcher_state(home)
        assert state["clients"] == 1
        assert embedded_status(home).running
        assert store.server_version()
    wait_for(lambda: not embedded_status(home).running, "the server stopped once left alone")


def test_idle_stop_off_starts_no_watcher(home: Path) -> None:
    start_embedded(home, idle_stop_after=0)
    assert not (home / LOG_FILE).exists()
    assert "tasker_ctl.db.idle_stop " + str(home) not in _processes()


def _processes() -> str:
    return subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=False).stdout
