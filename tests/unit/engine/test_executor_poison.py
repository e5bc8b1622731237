"""The executor never lets a poison outcome out: whatever a handler returns or raises, the
outcome's envelope is storable JSON of bounded size, and the cause is named in it.

No database: ``execute`` runs real handlers on a hand-made attempt.
"""

from __future__ import annotations

import datetime
import decimal
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from tasker_ctl.engine.worker.ancestors import AncestorResults
from tasker_ctl.engine.worker.attempt import Attempt, Outcome, PreparedTemplate
from tasker_ctl.engine.worker.executor import execute
from tasker_ctl.engine.worker.stored_outcome import MESSAGE_LIMIT, METADATA_LIMIT
from tasker_ctl.sdk.errors import PermanentError
from tasker_ctl.sdk.registry import HandlerRegistry
from tasker_ctl.sdk.step_handler.base import StepHandler
from tasker_ctl.sdk.step_handler.functional import step_handler
from tasker_ctl.sdk.types import StepContext, StepHandlerResult
from tasker_ctl.storable import unstorable
from tasker_ctl.template.model import TaskTemplate
from tests.unit.engine.claimed_rows import claimed_step


def deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"a": value}
    return value


def looped() -> list[Any]:
    loop: list[Any] = []
    loop.append(loop)
    return loop


POISON: dict[str, Callable[[], Any]] = {
    "object": object,
    "set": lambda: {1, 2},
    "datetime": lambda: datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    "decimal": lambda: decimal.Decimal("9.99"),
    "bytes": lambda: b"\xff",
    "cycle": looped,
    "deep": lambda: deep(100_000),
    "huge_int": lambda: 10**4300,
    "nan": lambda: float("nan"),
    "inf": lambda: float("inf"),
    "nul": lambda: "a\x00b",
    "surrogate": lambda: "\udc80",
}


def run(handler: Callable[..., Any], **settings: Any) -> Outcome:
    """``handler`` run as the only step of a template, through ``execute``."""
    registry = HandlerRegistry()
    if not (isinstance(handler, type) and issubclass(handler, StepHandler)):
        handler = step_handler("poison.handler")(handler)
    registry.register("poison.handler", handler)
    max_result_bytes = settings.pop("max_result_bytes", None)
    template = TaskTemplate.model_validate(
        {
            "name": "poison",
            "namespace_name": "tests",
            "version": "1.0.0",
            "steps": [{"name": "only", "handler": {"callable": "poison.handler"}, **settings}],
        }
    )
    step = claimed_step(
        "only",
        inputs=None,
        task={"task_name": "poison", "task_version": "1.0.0", "namespace_name": "tests"},
    )
    attempt = Attempt(
        step=step,
        prepared=PreparedTemplate(template).step("only"),
        ancestors=AncestorResults({}),
    )
    extra = {} if max_result_bytes is None else {"max_result_bytes": max_result_bytes}
    outcome = execute(attempt, registry, "w", **extra)
    assert_storable(outcome)
    return outcome


def assert_storable(outcome: Outcome) -> None:
    problem = unstorable(outcome.envelope)
    assert problem is None, problem
    json.dumps(outcome.envelope, allow_nan=False)
    if outcome.checkpoint is not None:
        assert unstorable(outcome.checkpoint) is None


def error_of(outcome: Outcome) -> dict[str, Any]:
    assert not outcome.success
    error = outcome.envelope["error"]
    assert isinstance(error, dict)
    return error


@pytest.mark.parametrize("kind", sorted(POISON))
def test_an_unstorable_result_is_a_permanent_failure_naming_where(kind: str) -> None:
    outcome = run(lambda: {"items": [1, {"value": POISON[kind]()}]})
    error = error_of(outcome)
    assert error["error_type"] == "result_not_storable"
    assert outcome.envelope["metadata"]["error_code"] == "RESULT_NOT_STORABLE"
    assert not outcome.retryable
    assert "$.items[1].value" in error["message"]
    assert "step 'only'" in error["message"]


def test_a_datetime_result_says_what_to_return_instead() -> None:
    outcome = run(lambda: {"when": datetime.datetime(2026, 1, 1)})
    message = error_of(outcome)["message"]
    assert "$.when: datetime is not JSON; return an ISO string (value.isoformat())" in message


def test_a_result_over_the_size_limit_fails_as_too_large() -> None:
    outcome = run(lambda: {"blob": "x" * 2000}, max_result_bytes=1000)
    error = error_of(outcome)
    assert error["error_type"] == "result_too_large"
    assert outcome.envelope["metadata"]["error_code"] == "RESULT_TOO_LARGE"
    assert "$.blob" in error["message"]
    assert run(lambda: {"blob": "x" * 900}, max_result_bytes=1000).success


def test_a_storable_result_is_stored_as_returned() -> None:
    outcome = run(lambda: {"when": "2026-01-01", "n": 10**999, "nested": deep(150)})
    assert outcome.success
    assert outcome.envelope["result"]["n"] == 10**999


def raiser(error: BaseException) -> Callable[[], Any]:
    def handler() -> Any:
        raise error

    return handler


class Abort(BaseException):
    """A BaseException of the handler's own."""


ABORTS: dict[str, BaseException] = {
    "SystemExit": SystemExit(0),
    "SystemExit_code": SystemExit(3),
    "KeyboardInterrupt": KeyboardInterrupt(),
    "GeneratorExit": GeneratorExit(),
    "Abort": Abort("gave up"),
}


@pytest.mark.parametrize("timeout", [None, 30], ids=["direct", "timeout_thread"])
@pytest.mark.parametrize("name", sorted(ABORTS))
def test_a_base_exception_is_contained_as_handler_aborted(name: str, timeout: int | None) -> None:
    settings = {} if timeout is None else {"timeout_seconds": timeout}
    results: list[Outcome] = []
    # on a worker thread, as workers run: a KeyboardInterrupt there is never the operator's
    thread = threading.Thread(target=lambda: results.append(run(raiser(ABORTS[name]), **settings)))
    thread.start()
    thread.join(30)
    assert results, "execute did not return"
    error = error_of(results[0])
    assert error["error_type"] == "handler_aborted"
    assert type(ABORTS[name]).__name__ in error["message"]
    assert results[0].envelope["metadata"]["error_code"] == "HANDLER_ABORTED"
    assert not results[0].retryable


def test_a_handler_system_exit_on_the_main_thread_is_contained() -> None:
    assert threading.current_thread() is threading.main_thread()
    error = error_of(run(raiser(SystemExit("bye"))))
    assert error["error_type"] == "handler_aborted"
    assert "SystemExit: bye" in error["message"]


def test_a_handler_keyboard_interrupt_on_the_timeout_thread_is_contained() -> None:
    # the handler runs on its own thread: the interrupt is the handler's, even here
    error = error_of(run(raiser(KeyboardInterrupt()), timeout_seconds=30))
    assert error["error_type"] == "handler_aborted"


def test_ctrl_c_on_the_main_thread_still_interrupts() -> None:
    """On the main thread a KeyboardInterrupt may be the operator's Ctrl-C: it goes on."""
    with pytest.raises(KeyboardInterrupt):
        run(raiser(KeyboardInterrupt()))


def test_an_async_handler_system_exit_is_contained() -> None:
    async def handler() -> Any:
        raise SystemExit(1)

    assert error_of(run(handler))["error_type"] == "handler_aborted"


def test_a_huge_message_is_cut_with_a_note() -> None:
    outcome = run(raiser(ValueError("x" * 20_000_000)))
    error = error_of(outcome)
    assert len(error["message"]) < MESSAGE_LIMIT + 100
    assert error["message"].endswith("… [cut 19,991,808 characters]")
    assert len(json.dumps(outcome.envelope)) < 4 * METADATA_LIMIT


def test_unstorable_error_metadata_is_replaced_with_a_note() -> None:
    when = datetime.datetime(2026, 1, 1)
    outcome = run(
        raiser(
            PermanentError(
                "card declined",
                error_code="CARD_DECLINED",
                metadata={"when": when, "bank": "ok", "blob": "y" * (2 * METADATA_LIMIT)},
            )
        )
    )
    error = error_of(outcome)
    assert error["message"] == "card declined"
    assert outcome.envelope["metadata"]["error_code"] == "CARD_DECLINED"
    metadata = error["metadata"]
    assert metadata["bank"] == "ok"
    assert "when" not in metadata
    assert "blob" not in metadata
    assert "datetime is not JSON" in metadata["not_stored"]["when"]
    assert "passes the limit" in metadata["not_stored"]["blob"]


def test_unstorable_success_metadata_does_not_fail_the_step() -> None:
    outcome = run(
        lambda: StepHandlerResult.success({"ok": True}, metadata={"seen": {1, 2}, "n": 1})
    )
    assert outcome.success
    custom = outcome.envelope["metadata"]["custom"]
    assert custom["n"] == 1
    assert "set is not JSON" in custom["not_stored"]["seen"]


def test_an_unstorable_checkpoint_yield_fails_the_step() -> None:
    outcome = run(
        lambda: StepHandlerResult.success(
            {"cursor": datetime.date(2026, 1, 1), "items_processed": 1},
            metadata={"checkpoint_yield": True},
        )
    )
    assert outcome.checkpoint is None
    assert error_of(outcome)["error_type"] == "result_not_storable"


def test_text_fields_with_nul_and_surrogates_are_made_storable() -> None:
    outcome = run(
        lambda: StepHandlerResult.failure(
            "bad \x00 byte \ud800",
            error_type="weird\x00type",
            error_code="C\x00" * 500,
            retryable=False,
            metadata={"retry_after": float("inf")},
        )
    )
    error = error_of(outcome)
    assert error["message"] == "bad \ufffd byte \ufffd"
    assert error["error_type"] == "weird\ufffdtype"
    assert len(outcome.envelope["metadata"]["error_code"]) < 300


def test_an_exception_that_cannot_be_printed_still_fails_the_step() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    class Raising(StepHandler):
        handler_name = "poison.handler"

        def call(self, context: StepContext) -> StepHandlerResult:
            raise Unprintable

    error = error_of(run(Raising))
    assert "Unprintable" in error["message"]


def test_retry_after_that_is_not_a_finite_number_is_ignored() -> None:
    for retry_after in (float("inf"), float("nan"), 10**400, -5):
        outcome = run(
            lambda value=retry_after: StepHandlerResult.failure(
                "later", retryable=True, metadata={"retry_after": value}
            )
        )
        assert outcome.retry_after is None
