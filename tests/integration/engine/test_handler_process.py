"""Handlers in their own process: a crash, an exit or a hang fails only its attempt.

Workers run with ``isolation="process"`` (or steps ask for ``isolation: process``), against
real PostgreSQL, with real handler processes: a segfaulting handler, one that calls
``os._exit(3)`` and one that hangs past ``timeout_seconds`` each fail with their real cause,
attempt after attempt, while the same worker goes on to complete other work. The same is
checked once through ``tasker-ctl worker --isolation process`` and ``tasker-ctl run
--isolation process`` subprocesses. Nothing sleeps for a fixed time: tests poll the database
(or the process table) with a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tasker_ctl.engine.worker.attempt import Attempt, Outcome
from tasker_ctl.engine.worker.loop import Worker, WorkerOptions
from tasker_ctl.sdk.registry import HandlerRegistry
from tests.conftest import PROJECT_ROOT
from tests.environment import command_environment
from tests.integration.engine.conftest import Engine, make_template, step
from tests.integration.engine.handlers import isolation

HANDLERS_MODULE = isolation.__name__
HANDLERS_FILE = Path(isolation.__file__)
ONCE = {"max_attempts": 1}
TWICE = {"max_attempts": 2, "backoff": "none"}
REFUND = {"callable": "isolation.methods", "method": "refund"}


@dataclass
class Served:
    """A worker running on a thread of the test, and the outcomes it recorded."""

    worker: Worker
    outcomes: list[tuple[Attempt, Outcome]] = field(default_factory=list)

    def of(self, step_name: str) -> list[Outcome]:
        return [o for a, o in self.outcomes if a.step.name == step_name]


@contextmanager
def serving(
    engine: Engine, isolation_mode: str = "process", registry: HandlerRegistry | None = None
) -> Iterator[Served]:
    if registry is None:
        registry = HandlerRegistry()
        registry.register_module(isolation)
    options = WorkerOptions(
        poll_interval=0.2,
        worker_id="isolation-test",
        isolation=isolation_mode,  # type: ignore[arg-type]
        handlers=(HANDLERS_MODULE,),
    )
    stop = threading.Event()
    failures: list[BaseException] = []
    served = Served(Worker(engine.url, registry, options, stop))
    served.worker.on_outcome = lambda attempt, outcome: served.outcomes.append((attempt, outcome))

    def work() -> None:
        try:
            served.worker.run()
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=work, name="isolation-worker", daemon=True)
    thread.start()
    try:
        yield served
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive(), "the worker did not stop"
    if failures:
        raise failures[0]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


def wait_resting(engine: Engine, task_uuid: uuid.UUID, timeout: float = 60.0) -> str:
    wait_until(lambda: engine.resting(task_uuid), f"task {task_uuid} rests", timeout)
    return str(engine.task(task_uuid)["current_state"])


def process_gone(pid: int) -> bool:
    """Whether ``pid`` no longer runs (an exited process not yet reaped by init counts)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except (FileNotFoundError, ProcessLookupError):
        return True
    return any(line.split()[1:2] == ["Z"] for line in status.splitlines() if line[:6] == "State:")


def children_of(pid: int) -> list[tuple[int, str]]:
    """The (pid, state) of every process whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="utf-8")
        except OSError:  # ended meanwhile
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after its parenthesis
        state, parent = stat.rpartition(")")[2].split()[:2]
        if int(parent) == pid:
            found.append((int(entry.name), state))
    return found


def single(handler: str, retry: dict[str, Any], name: str, **settings: Any) -> Any:
    return make_template([step("only", handler, retry=retry, **settings)], name=name)


def chain_of_three() -> Any:
    return make_template(
        [
            step("first", "isolation.where"),
            step("second", "isolation.where", "first"),
            step("third", "isolation.where", "second"),
        ],
        name="isolation_chain",
    )


def error_of(engine: Engine, task_uuid: uuid.UUID, name: str = "only") -> dict[str, Any]:
    error = engine.steps(task_uuid)[name]["results"]["error"]
    assert isinstance(error, dict)
    return error


def assert_no_lost_attempt(engine: Engine, task_uuid: uuid.UUID) -> None:
    reasons = {(row["metadata"] or {}).get("reason") for row in engine.step_transitions(task_uuid)}
    assert "lease_expired" not in reasons


def test_a_segfault_fails_each_attempt_with_its_signal_and_the_worker_goes_on(
    engine: Engine,
) -> None:
    crashing = engine.submit(single("isolation.segfault", TWICE, "isolation_segfault"), {})
    with serving(engine) as served:
        assert wait_resting(engine, crashing.task_uuid) == "blocked_by_failures"
        # the same worker (its thread never stopped) then runs another task to the end
        other = engine.submit(chain_of_three(), {"n": 1})
        assert wait_resting(engine, other.task_uuid) == "complete"

    row = engine.steps(crashing.task_uuid)["only"]
    assert (row["current_state"], row["attempts"]) == ("error", 2)
    error = error_of(engine, crashing.task_uuid)
    assert error["error_type"] == "handler_process_died"
    assert error["message"].startswith("handler_process_died: signal 11 (SIGSEGV)")
    assert error["retryable"] is True
    assert error["metadata"]["signal"] == "SIGSEGV"
    # every attempt recorded the real cause; none was lost to a lease
    attempts = served.of("only")
    assert len(attempts) == 2
    for outcome in attempts:
        assert outcome.envelope["error"]["error_type"] == "handler_process_died"
        assert outcome.retryable
    assert_no_lost_attempt(engine, crashing.task_uuid)
    # the other task's handlers ran in a handler process, not in the worker's
    results = [row["results"]["result"] for row in engine.steps(other.task_uuid).values()]
    assert {result["pid"] for result in results} != {os.getpid()}
    assert all(result["loaded_in"] == result["pid"] for result in results)


def test_an_exiting_handler_fails_with_its_exit_code(engine: Engine) -> None:
    exiting = engine.submit(
        single("isolation.exit", ONCE, "isolation_exit", config={"code": 3}), {}
    )
    other = engine.submit(chain_of_three(), {"n": 2})
    with serving(engine):
        assert wait_resting(engine, exiting.task_uuid) == "blocked_by_failures"
        assert wait_resting(engine, other.task_uuid) == "complete"
    error = error_of(engine, exiting.task_uuid)
    assert error["error_type"] == "handler_process_died"
    assert error["message"].startswith("handler_process_died: exit code 3")
    assert error["metadata"]["exit_code"] == 3
    assert_no_lost_attempt(engine, exiting.task_uuid)


def test_a_hung_handler_is_killed_at_its_timeout(engine: Engine, tmp_path: Path) -> None:
    pid_file = tmp_path / "hung.pid"
    hung = engine.submit(
        single(
            "isolation.hang",
            ONCE,
            "isolation_hang",
            timeout_seconds=1,
            config={"pid_file": str(pid_file)},
        ),
        {},
    )
    with serving(engine) as served:
        assert wait_resting(engine, hung.task_uuid) == "blocked_by_failures"
        pid = int(pid_file.read_text(encoding="utf-8"))
        # killed and reaped by the time the outcome was recorded: no abandoned thread,
        # no process left burning CPU
        assert process_gone(pid)
        other = engine.submit(chain_of_three(), {"n": 3})
        assert wait_resting(engine, other.task_uuid) == "complete"
    error = error_of(engine, hung.task_uuid)
    assert error["error_type"] == "timeout"
    assert error["retryable"] is True
    assert error["message"] == "step 'only' timed out after 1 s"
    [outcome] = served.of("only")
    assert outcome.retryable
    # a fresh process served the next attempts
    pids = {row["results"]["result"]["pid"] for row in engine.steps(other.task_uuid).values()}
    assert pid not in pids
    assert os.getpid() not in pids


def test_a_step_asks_for_its_own_process_on_a_thread_worker(engine: Engine) -> None:
    template = make_template(
        [
            step("in_thread", "isolation.where"),
            step("in_process", "isolation.where", "in_thread", isolation="process"),
            step("crash", "isolation.exit", "in_process", isolation="process", retry=ONCE),
        ],
        name="isolation_mixed",
    )
    task = engine.submit(template, {})
    with serving(engine, "thread"):
        assert wait_resting(engine, task.task_uuid) == "blocked_by_failures"
    steps = engine.steps(task.task_uuid)
    assert steps["in_thread"]["results"]["result"]["pid"] == os.getpid()
    assert steps["in_process"]["results"]["result"]["pid"] != os.getpid()
    # the worker (this test's process) survived the exit
    assert error_of(engine, task.task_uuid, "crash")["error_type"] == "handler_process_died"


def test_a_handler_process_sees_what_a_thread_sees(engine: Engine) -> None:
    """The same dispatch both ways: context, every ancestor's result, retry count, key."""
    template = chain_of_three()
    seen = {}
    for mode in ("thread", "process"):
        task = engine.submit(template, {"mode": mode})
        with serving(engine, mode):
            assert wait_resting(engine, task.task_uuid) == "complete"
        results = {
            name: row["results"]["result"] for name, row in engine.steps(task.task_uuid).items()
        }
        for result in results.values():
            assert (result["pid"] == os.getpid()) is (mode == "thread")
            assert result["inputs"] == {"mode": mode}
            del result["pid"], result["loaded_in"], result["inputs"], result["idempotency_key"]
        seen[mode] = results
    assert seen["thread"] == seen["process"]
    # the third step is handed its grandparent's result too
    assert seen["process"]["third"]["ancestors"] == ["first", "second"]


def test_results_and_failures_cross_the_process_boundary_as_in_a_thread(engine: Engine) -> None:
    handlers = {
        "unpicklable": ("isolation.unpicklable", ONCE),
        "permanent": ("isolation.permanent", TWICE),
        "not_a_result": ("isolation.not_a_result", ONCE),
        "missing": ("isolation.nowhere", ONCE),
    }
    tasks = {
        name: engine.submit(single(handler, retry, f"isolation_{name}"), {})
        for name, (handler, retry) in handlers.items()
    }
    with serving(engine) as served:
        for task in tasks.values():
            assert wait_resting(engine, task.task_uuid) == "blocked_by_failures"
    errors = {
        name: [o.envelope["error"] for a, o in served.outcomes if a.task.name == task]
        for name, task in ((name, f"isolation_{name}") for name in handlers)
    }
    [unpicklable] = errors["unpicklable"]
    assert unpicklable["error_type"] == "invalid_result"
    assert unpicklable["retryable"] is False
    assert "cannot be sent from the handler process" in unpicklable["message"]
    assert "lock" in unpicklable["message"]
    [declined] = errors["permanent"]  # not retried: classified as in a thread
    assert declined["error_type"] == "PermanentError"
    assert declined["metadata"]["error_code"] == "CARD_DECLINED"
    assert "Traceback" in declined["metadata"]["traceback"]
    [not_a_result] = errors["not_a_result"]
    assert not_a_result["error_type"] == "invalid_result"
    assert not_a_result["message"] == "handler returned dict, not a StepHandlerResult"
    [missing] = errors["missing"]
    assert missing["error_type"] == "handler_not_found"
    assert missing["message"].startswith("Handler not found: isolation.nowhere; --handlers")
    assert engine.steps(tasks["permanent"].task_uuid)["only"]["attempts"] == 1


def test_async_handlers_and_named_methods_run_in_the_process(engine: Engine) -> None:
    template = make_template(
        [
            step("sleepy", "isolation.sleepy_async"),
            {**step("refund", "isolation.methods"), "handler": REFUND},
        ],
        name="isolation_async",
    )
    task = engine.submit(template, {})
    with serving(engine):
        assert wait_resting(engine, task.task_uuid) == "complete"
    steps = engine.steps(task.task_uuid)
    assert steps["sleepy"]["results"]["result"]["async"] is True
    assert steps["refund"]["results"]["result"]["method"] == "refund"
    assert steps["refund"]["results"]["result"]["pid"] != os.getpid()


def test_the_handler_process_stops_with_its_worker(engine: Engine) -> None:
    task = engine.submit(make_template([step("one", "isolation.where")], name="iso_stop"), {})
    with serving(engine):
        assert wait_resting(engine, task.task_uuid) == "complete"
        pid = engine.steps(task.task_uuid)["one"]["results"]["result"]["pid"]
        assert not process_gone(pid)  # kept for the next attempt
    assert process_gone(pid)  # stopped (and reaped) when the worker stopped


# -- the real commands --------------------------------------------------------------------------


WORKER_ENV = {"PYTHONPATH": str(PROJECT_ROOT), "NO_COLOR": "1"}


def command() -> list[str]:
    return [sys.executable, "-m", "tasker_ctl"]


@contextmanager
def worker_command(url: str, log: Path, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    environment = command_environment()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                *command(),
                "worker",
                "--handlers",
                str(HANDLERS_FILE),
                "--database-url",
                url,
                "--isolation",
                "process",
                "--staleness-interval",
                "0",
                *extra,
            ],
            env={**environment, **WORKER_ENV},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


@pytest.mark.slow
def test_tasker_ctl_worker_with_process_isolation(engine: Engine, tmp_path: Path) -> None:
    pid_file = tmp_path / "hung.pid"
    crashing = engine.submit(single("isolation.segfault", TWICE, "cli_segfault"), {})
    exiting = engine.submit(single("isolation.exit", ONCE, "cli_exit", config={"code": 3}), {})
    hung = engine.submit(
        single(
            "isolation.hang",
            ONCE,
            "cli_hang",
            timeout_seconds=1,
            config={"pid_file": str(pid_file)},
        ),
        {},
    )
    fine = engine.submit(chain_of_three(), {"n": 4})
    log = tmp_path / "worker.log"
    with worker_command(engine.url, log, "--concurrency", "2") as worker:
        for task in (crashing, exiting, hung, fine):
            wait_resting(engine, task.task_uuid, timeout=90)
        assert worker.poll() is None, log.read_text(encoding="utf-8")
        # the dead and the killed handler processes were reaped: no zombie is left
        assert "Z" not in {state for _, state in children_of(worker.pid)}
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, log.read_text(encoding="utf-8")
    output = log.read_text(encoding="utf-8")
    assert "Traceback" not in output, output
    assert "concurrency 2 (handler processes)," in output
    assert "handler_process_died: signal 11 (SIGSEGV)" in output
    assert "handler_process_died: exit code 3" in output
    assert "timed out after 1 s" in output
    assert engine.task(fine.task_uuid)["current_state"] == "complete"
    assert error_of(engine, crashing.task_uuid)["error_type"] == "handler_process_died"
    assert error_of(engine, exiting.task_uuid)["message"].startswith(
        "handler_process_died: exit code 3"
    )
    assert error_of(engine, hung.task_uuid)["error_type"] == "timeout"
    for task in (crashing, exiting, hung):
        assert_no_lost_attempt(engine, task.task_uuid)
    assert process_gone(int(pid_file.read_text(encoding="utf-8")))
    pids = {row["results"]["result"]["pid"] for row in engine.steps(fine.task_uuid).values()}
    assert worker.pid not in pids


@pytest.mark.slow
def test_a_handler_process_does_not_outlive_a_killed_worker(engine: Engine, tmp_path: Path) -> None:
    pid_file = tmp_path / "hung.pid"
    template = single("isolation.hang", ONCE, "cli_orphan", config={"pid_file": str(pid_file)})
    engine.submit(template, {})
    with worker_command(engine.url, tmp_path / "worker.log") as worker:
        wait_until(pid_file.exists, "the handler has started")
        pid = int(pid_file.read_text(encoding="utf-8"))
        assert not process_gone(pid)
        worker.send_signal(signal.SIGKILL)  # no chance to stop its handler process
        worker.wait(timeout=30)
        wait_until(lambda: process_gone(pid), "the orphaned handler process exits", 30)


@pytest.mark.slow
def test_tasker_ctl_run_with_process_isolation(engine: Engine, tmp_path: Path) -> None:
    template = tmp_path / "crash.yaml"
    template.write_text(
        "name: run_isolation\nnamespace_name: engine_tests\nversion: 1.0.0\n"
        "steps:\n"
        "  - name: fine\n    handler: {callable: isolation.where}\n"
        "  - name: boom\n    handler: {callable: isolation.segfault}\n"
        "    dependencies: [fine]\n    retry: {max_attempts: 2, backoff: none}\n",
        encoding="utf-8",
    )
    environment = command_environment()
    result = subprocess.run(
        [
            *command(),
            "run",
            str(template),
            "--handlers",
            str(HANDLERS_FILE),
            "--database-url",
            engine.url,
            "--isolation",
            "process",
            "--json",
        ],
        env={**environment, **WORKER_ENV},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    steps = {s["name"]: s for s in report["steps"]}
    assert steps["fine"]["state"] == "complete"
    assert steps["boom"]["attempts"] == 2
    assert "handler_process_died: signal 11 (SIGSEGV)" in result.stderr


def console_spans(text: str) -> list[dict[str, Any]]:
    """The spans the console exporter wrote (JSON objects, one after another) in ``text``."""
    decoder, spans, index = json.JSONDecoder(), [], text.find("{")
    while index >= 0:
        try:
            value, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            index = text.find("{", index + 1)
            continue
        if isinstance(value, dict) and "context" in value:
            spans.append(value)
        index = text.find("{", end)
    return spans


@pytest.mark.slow
def test_spans_a_handler_starts_in_its_process_join_the_attempt(
    engine: Engine, tmp_path: Path
) -> None:
    template = tmp_path / "traced.yaml"
    template.write_text(
        "name: traced_isolation\nnamespace_name: engine_tests\nversion: 1.0.0\n"
        "steps:\n  - name: traced\n    handler: {callable: isolation.traced}\n",
        encoding="utf-8",
    )
    environment = command_environment(("TASKER_", "OTEL_"))
    result = subprocess.run(
        [
            *command(),
            "run",
            str(template),
            "--handlers",
            str(HANDLERS_FILE),
            "--database-url",
            engine.url,
            "--isolation",
            "process",
            "--json",
        ],
        env={**environment, **WORKER_ENV, "OTEL_TRACES_EXPORTER": "console"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    spans = {span["name"]: span for span in console_spans(result.stderr)}
    attempt, handler = spans["step traced"], spans["handler work"]
    assert handler["context"]["trace_id"] == attempt["context"]["trace_id"]
    assert handler["parent_id"] == attempt["context"]["span_id"]
