"""The handler process without a database: real child processes, hand-made dispatches.

What a crash, an exit, a hang, an unpicklable or oversized result and a broken handler
module each become; what a handler process loads; and that results cross the pipe intact.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasker_ctl.engine.errors import HandlerDeadlineExceeded
from tasker_ctl.engine.worker import handler_process
from tasker_ctl.engine.worker.dispatch import Dispatch, dispatch_of
from tasker_ctl.engine.worker.handler_child import (
    ChildSetup,
    handler_locations,
    load_registry,
    result_fields,
)
from tasker_ctl.engine.worker.handler_loading import load_handlers
from tasker_ctl.engine.worker.handler_process import HandlerProcess, describe_exit
from tasker_ctl.errors import UsageError
from tasker_ctl.sdk.registry import HandlerRegistry
from tasker_ctl.sdk.types import StepHandlerResult
from tasker_ctl.template.model import StepDefinition
from tests.unit.engine.claimed_rows import claimed_step

HANDLERS = """
import ctypes, os, threading, time
from tasker_ctl.sdk import StepHandler, StepHandlerResult
from tasker_ctl.sdk.step_handler.functional import step_handler

@step_handler("unit.where")
def where(context):
    return {"pid": os.getpid(), "ancestors": sorted(context.dependency_results)}

@step_handler("unit.segfault")
def segfault(context):
    ctypes.string_at(0)

@step_handler("unit.exit")
def exit_now(context):
    os._exit(context.get_config("code"))

@step_handler("unit.hang")
def hang(context):
    time.sleep(600)

@step_handler("unit.big")
def big(context):
    return {"text": "x" * 10_000}

@step_handler("unit.lock")
def lock(context):
    return StepHandlerResult.success({"lock": threading.Lock()})

@step_handler("unit.lock_in_metadata")
def lock_in_metadata(context):
    return StepHandlerResult.failure(
        "upstream said 503", "upstream", True, {"status": 503, "response": threading.Lock()}
    )

class Renamed(StepHandler):
    handler_name = "unit.renamed"

    def call(self, context):
        return StepHandlerResult.success({"class": type(self).__qualname__})
"""


@pytest.fixture
def handlers_file(tmp_path: Path) -> Path:
    path = tmp_path / "unit_isolation_handlers.py"
    path.write_text(HANDLERS, encoding="utf-8")
    return path


@pytest.fixture
def process(handlers_file: Path) -> Iterator[HandlerProcess]:
    registry = load_handlers([str(handlers_file)])
    opened = HandlerProcess(registry, handler_locations([str(handlers_file)]), "process")
    yield opened
    opened.close()


def dispatch(name: str = "only", config: dict[str, Any] | None = None) -> Dispatch:
    definition = {"name": name, "handler": {"callable": "x", "initialization": config or {}}}
    step = claimed_step(name, task={"task_name": "t", "namespace_name": "ns"})
    return dispatch_of(step, json.dumps(definition))


def call(process: HandlerProcess, handler: str, **options: Any) -> StepHandlerResult:
    config = options.pop("config", None)
    ancestors = options.pop("ancestors", {})
    return process.call(handler, None, dispatch(config=config), ancestors, **options)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_handler_runs_in_a_process_that_is_kept_for_the_next_attempt(
    process: HandlerProcess,
) -> None:
    first = call(process, "unit.where", ancestors={"a": {"result": 1}, "b": {}})
    assert first.is_success, first
    assert first.result is not None
    pid = first.result["pid"]
    assert pid != os.getpid()
    assert first.result["ancestors"] == ["a", "b"]
    second = call(process, "unit.where")
    assert second.result is not None
    assert second.result["pid"] == pid == process.pid
    # a dotted callable names a handler in a loaded module, as in the worker
    dotted = call(process, "unit_isolation_handlers.where")
    assert dotted.result is not None
    assert dotted.result["pid"] == pid
    process.close()
    assert gone(pid)
    assert process.pid is None


def test_a_segfault_fails_the_attempt_and_the_next_gets_a_new_process(
    process: HandlerProcess,
) -> None:
    failed = call(process, "unit.segfault")
    assert not failed.is_success
    assert failed.error_type == "handler_process_died"
    assert failed.retryable
    assert failed.error_message is not None
    assert failed.error_message.startswith("handler_process_died: signal 11 (SIGSEGV) ")
    assert "step 'only'" in failed.error_message
    assert failed.metadata["signal"] == "SIGSEGV"
    assert gone(failed.metadata["pid"])
    assert process.pid is None
    after = call(process, "unit.where")
    assert after.is_success


def test_an_exit_code_is_the_cause(process: HandlerProcess) -> None:
    failed = call(process, "unit.exit", config={"code": 3})
    assert failed.error_message is not None
    assert failed.error_message.startswith("handler_process_died: exit code 3 ")
    assert failed.metadata["exit_code"] == 3


def test_a_handler_past_its_timeout_is_killed_with_its_process(process: HandlerProcess) -> None:
    assert call(process, "unit.where").is_success  # the process is up: only the handler is timed
    pid = process.pid
    assert pid is not None
    with pytest.raises(HandlerDeadlineExceeded):
        call(process, "unit.hang", timeout=0.5)
    assert gone(pid)
    assert process.pid is None
    assert call(process, "unit.where").is_success


def test_results_that_cannot_come_back_are_permanent_failures(
    process: HandlerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = call(process, "unit.lock")
    assert (locked.error_type, locked.retryable) == ("invalid_result", False)
    assert locked.error_message is not None
    assert "cannot be sent from the handler process: TypeError" in locked.error_message
    pid = process.pid
    assert pid is not None  # the process is fine: it said what went wrong
    # metadata that cannot be sent is left out, and the failure still arrives
    upstream = call(process, "unit.lock_in_metadata")
    assert (upstream.error_message, upstream.error_type) == ("upstream said 503", "upstream")
    assert upstream.retryable
    assert upstream.metadata["status"] == 503
    assert "lock" in upstream.metadata["not_sent"]["response"]
    monkeypatch.setattr(handler_process, "MAX_REPLY_BYTES", 5_000)
    big = call(process, "unit.big")
    assert (big.error_type, big.retryable) == ("invalid_result", False)
    assert big.error_message is not None
    assert "larger than the 5,000 bytes" in big.error_message
    assert gone(pid)  # its reply was left unread: the process could not be used again


def test_a_handler_process_that_cannot_load_its_handlers_says_why(handlers_file: Path) -> None:
    process = HandlerProcess(HandlerRegistry(), ["no_such_module_for_isolation"], "process")
    failed = call(process, "unit.where")
    process.close()
    assert failed.error_type == "handler_process_start_failed"
    assert failed.retryable
    assert failed.error_message is not None
    assert "cannot load the handlers" in failed.error_message
    assert "no_such_module_for_isolation" in failed.error_message


def test_unknown_handlers_and_modes(process: HandlerProcess) -> None:
    missing = call(process, "unit.nowhere")
    assert (missing.error_type, missing.retryable) == ("handler_not_found", False)
    # worded as the worker words it: the same locations were loaded on both sides
    assert missing.error_message == process.registry.not_found_message("unit.nowhere")
    assert missing.error_message.startswith("Handler not found: unit.nowhere; --handlers loaded")
    with pytest.raises(UsageError, match="isolation must be 'thread' or 'process'"):
        HandlerProcess(HandlerRegistry(), (), "processes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("worker", "step", "composition", "runs_there"),
    [
        ("thread", None, False, False),
        ("thread", "process", False, True),
        ("process", None, False, True),
        ("process", "process", True, False),  # compositions always run in the worker
    ],
)
def test_which_attempts_run_in_the_process(
    worker: Any, step: str | None, composition: bool, runs_there: bool
) -> None:
    definition: dict[str, Any] = {"name": "s", "handler": {"callable": "x"}}
    if step is not None:
        definition["isolation"] = step
    if composition:
        definition["composition"] = {
            "name": "c",
            "outcome": {"description": "d", "output_schema": {"type": "object"}},
            "invocations": [{"capability": "transform", "config": {"filter": "."}}],
        }
    process = HandlerProcess(HandlerRegistry(), (), worker)
    assert process.wanted_by(StepDefinition.model_validate(definition)) is runs_there


def test_a_template_step_may_ask_for_a_process_but_not_for_less() -> None:
    asked = StepDefinition.model_validate({"name": "s", "handler": {"callable": "x"}})
    assert asked.isolation is None
    with pytest.raises(ValueError, match="process"):
        StepDefinition.model_validate(
            {"name": "s", "handler": {"callable": "x"}, "isolation": "thread"}
        )


# -- what a handler process loads ----------------------------------------------------------


def test_handler_locations_name_modules_so_a_fresh_interpreter_finds_them(
    handlers_file: Path,
) -> None:
    load_handlers([str(handlers_file)])  # imported under a name of its own, not importable
    from_file = next(
        module
        for module in list(sys.modules.values())
        if getattr(module, "__file__", None) == str(handlers_file.resolve())
    )
    script = ModuleType("__main__")  # its handlers travel as registry entries
    assert handler_locations(["pkg.handlers", json, from_file, script]) == (
        "pkg.handlers",
        "json",
        str(handlers_file.resolve()),
    )


def test_a_handler_process_registers_what_the_worker_registered(handlers_file: Path) -> None:
    registry = load_handlers([str(handlers_file)])
    renamed = registry.get_handler_class("unit.renamed")
    assert renamed is not None
    registry.register("by.hand", renamed)  # a key no module scan would find
    setup = ChildSetup.of((), registry)
    again = load_registry(pickle.loads(pickle.dumps(setup)))
    assert again.get_handler_class("by.hand") is renamed
    assert set(registry.list_handlers()) <= set(again.list_handlers())


# -- results cross the pipe intact ---------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
OBJECTS = st.dictionaries(st.text(max_size=8), JSON, max_size=5)


@settings(max_examples=60, deadline=None)
@given(
    success=st.booleans(),
    result=OBJECTS,
    metadata=OBJECTS,
    message=st.text(),
    error_code=st.none() | st.text(min_size=1, max_size=12),
    retryable=st.booleans(),
)
def test_a_result_comes_back_as_the_handler_returned_it(
    success: bool,
    result: dict[str, Any],
    metadata: dict[str, Any],
    message: str,
    error_code: str | None,
    retryable: bool,
) -> None:
    if success:
        returned = StepHandlerResult.success(result, metadata)
    else:
        returned = StepHandlerResult.failure(
            message, "some_error", retryable, metadata, error_code=error_code
        )
    reply = pickle.dumps(("result", result_fields(returned)))
    assert handler_process._result_of(reply, dispatch()) == returned


@given(code=st.integers(min_value=0, max_value=255))
def test_an_exit_is_described_by_its_code(code: int) -> None:
    assert describe_exit(code) == (f"exit code {code}", None)


@given(number=st.sampled_from(sorted(signal.Signals, key=int)))
def test_a_signal_is_described_by_number_and_name(number: signal.Signals) -> None:
    assert describe_exit(-int(number)) == (
        f"signal {int(number)} ({number.name})",
        number.name,
    )
