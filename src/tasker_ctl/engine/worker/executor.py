"""Running one claimed attempt: build the handler's context, call it, judge the outcome.

The dispatch payload has the shape Tasker Core's worker hands to Python handlers (task, step
row, template step definition, every completed ancestor's stored result, read as far as the
handler looks: see ``ancestors``), so handler modules
written for it see what they expect. Outcomes are turned into Tasker Core's stored result
envelope; a success whose result breaks the step's ``result_schema`` is a permanent failure.
A handler that runs past the step's ``timeout_seconds`` fails with a retryable ``timeout``.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from tasker_ctl.engine.errors import (
    GrowthOutcomeError,
    HandlerAbortedError,
    HandlerDeadlineExceeded,
    StepTimeoutError,
)
from tasker_ctl.engine.rules.batches import BatchOutcome, read_batch_outcome
from tasker_ctl.engine.rules.decisions import read_decision_outcome
from tasker_ctl.engine.worker.attempt import Attempt, Outcome
from tasker_ctl.engine.worker.composition_step import GateWait, GrammarPlan, GrammarServices
from tasker_ctl.engine.worker.dispatch import dispatch_of, entry_point, step_context
from tasker_ctl.engine.worker.handler_process import HandlerProcess
from tasker_ctl.engine.worker.stored_outcome import (
    MESSAGE_LIMIT,
    NAME_LIMIT,
    aborted,
    failure_for,
    not_storable,
    retry_after_of,
    stored_code,
    stored_metadata,
    stored_text,
)
from tasker_ctl.sdk.contracts import SchemaUnusableError
from tasker_ctl.sdk.registry import HandlerRegistry
from tasker_ctl.sdk.types import StepContext, StepHandlerResult
from tasker_ctl.storable import DEFAULT_MAX_RESULT_BYTES, StorableLimits, unstorable


def build_context(attempt: Attempt, handler_name: str) -> StepContext:
    """The context of a handler run in the worker: ancestors' results are read lazily."""
    dispatch = dispatch_of(attempt.step, attempt.prepared.definition_json)
    return step_context(dispatch, handler_name, attempt.ancestors)


def execute(
    attempt: Attempt,
    registry: HandlerRegistry,
    worker_id: str,
    services: GrammarServices | None = None,
    handler_process: HandlerProcess | None = None,
    *,
    max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
) -> Outcome:
    """Run the attempt's handler (or composition) and return its outcome (never raises for
    handler problems). ``handler_process`` runs the handlers that are to run in a process of
    their own (``handler_process``); without it every handler runs on this thread.

    The outcome's envelope is always storable (``stored_outcome``): a result that is not, or
    is larger than ``max_result_bytes`` as JSON, fails the step for good, naming where.
    """
    definition = attempt.definition
    started = time.perf_counter()
    try:
        result = _invoke(attempt, registry, services, handler_process)
        if isinstance(result, GateWait):
            problem = unstorable(result.checkpoint) or unstorable(result.metadata)
            if problem is None:
                return _gate_outcome(result, started)
            result = not_storable(definition.name, problem)
    except StepTimeoutError:
        result = StepHandlerResult.failure(
            f"step '{definition.name}' timed out after {definition.timeout_seconds} s",
            error_type="timeout",
            retryable=True,
        )
    except HandlerAbortedError as exc:  # raised on the thread of a step with a timeout
        result = aborted(exc.aborted)
    except Exception as exc:  # a class handler's own exception, classified as intended
        result = failure_for(exc)
    except BaseException as exc:
        # SystemExit, GeneratorExit, a handler's own BaseException: the attempt's failure,
        # never the worker's end. A KeyboardInterrupt on the main thread may be the
        # operator's Ctrl-C (signals arrive there): it goes on. Workers run on other threads.
        if isinstance(exc, KeyboardInterrupt) and _on_main_thread():
            raise
        result = aborted(exc)
    if not isinstance(result, StepHandlerResult):
        result = StepHandlerResult.failure(
            f"handler returned {stored_text(type(result).__name__, NAME_LIMIT)}, "
            "not a StepHandlerResult",
            error_type="invalid_result",
            retryable=False,
        )
    if result.is_success:  # checked first: the checks below read the result
        problem = unstorable(result.result or {}, StorableLimits(max_bytes=max_result_bytes))
        if problem is not None:
            result = not_storable(definition.name, problem)
    if result.is_success and result.metadata.get("checkpoint_yield") is True:
        return _checkpoint_outcome(attempt, result, started)
    chosen: tuple[str, ...] = ()
    batch: BatchOutcome | None = None
    if result.is_success:
        try:
            chosen, batch = _growth(attempt, result)
        except GrowthOutcomeError as error:
            kind = "decision" if attempt.prepared.segments is not None else "batch_outcome"
            result = StepHandlerResult.failure(
                str(error),
                error_type=f"invalid_{kind}",
                retryable=False,
                error_code=error.code,
            )
    check = attempt.prepared.result_check
    if result.is_success and check is not None:
        try:
            problems = check(result.result or {})
        except SchemaUnusableError as error:  # the schema is at fault (a $ref it cannot follow)
            problems = []
            result = StepHandlerResult.failure(
                f"result_schema of step '{definition.name}': {error.message}",
                error_type=error.code.lower(),
                retryable=False,
                error_code=error.code,
            )
        if problems:
            result = StepHandlerResult.failure(
                f"result of step '{definition.name}' does not match its result_schema: "
                + "; ".join(problems[:5]),
                error_type="result_schema_violation",
                retryable=False,
                error_code="RESULT_SCHEMA_VIOLATION",
                metadata={"violations": problems},
            )
    outcome = _outcome(attempt, result, started, worker_id)
    if outcome.success and (chosen or batch is not None):
        return replace(outcome, chosen=chosen, batch=batch)
    return outcome


def _growth(
    attempt: Attempt, result: StepHandlerResult
) -> tuple[tuple[str, ...], BatchOutcome | None]:
    """What a successful decision or batchable step adds to the task (raises
    GrowthOutcomeError when its outcome cannot be carried out: nothing is added)."""
    name = attempt.definition.name
    segments, batches = attempt.prepared.segments, attempt.prepared.batches
    if segments is not None:
        decision = read_decision_outcome(result.result)
        chosen = decision.step_names if decision else ()
        segments.check_choice(name, chosen)
        return chosen, None
    if batches is not None:
        batch = read_batch_outcome(result.result)
        if batch is not None:
            batches.check(name, batch)
        return (), batch
    return (), None


def _checkpoint_outcome(attempt: Attempt, result: StepHandlerResult, started: float) -> Outcome:
    yielded = result.result if isinstance(result.result, dict) else {}
    checkpoint = {
        "cursor": yielded.get("cursor"),
        "items_processed": yielded.get("items_processed", 0),
        "accumulated_results": yielded.get("accumulated_results"),
    }
    return Outcome(
        success=True,
        envelope={},
        retryable=False,
        retry_after=None,
        duration_ms=int((time.perf_counter() - started) * 1000),
        checkpoint=checkpoint,
    )


def _invoke(
    attempt: Attempt,
    registry: HandlerRegistry,
    services: GrammarServices | None = None,
    handler_process: HandlerProcess | None = None,
) -> Any:
    definition = attempt.definition
    plan = attempt.prepared.grammar
    if plan is not None:
        return _run_composition(attempt, plan, services)
    if handler_process is not None and handler_process.wanted_by(definition):
        return _invoke_in_process(attempt, handler_process)
    handler = registry.resolve(definition.handler.callable)
    if handler is None:
        return StepHandlerResult.failure(
            registry.not_found_message(definition.handler.callable),
            error_type="handler_not_found",
            retryable=False,
        )
    context = build_context(attempt, handler.name)
    call = entry_point(handler, definition.handler.method)
    timeout = definition.timeout_seconds
    if timeout is None:
        value = call(context)
        return asyncio.run(_awaited(value)) if inspect.isawaitable(value) else value
    return _call_with_timeout(lambda: call(context), float(timeout))


def _run_composition(
    attempt: Attempt, plan: GrammarPlan, services: GrammarServices | None
) -> StepHandlerResult | GateWait:
    from tasker_ctl.engine.worker.composition_step import dependency_results, run_grammar_step

    deps = dependency_results(attempt.definition.dependencies, attempt.ancestors)

    def run() -> StepHandlerResult | GateWait:
        return run_grammar_step(plan, attempt.step, deps, services)

    timeout = attempt.definition.timeout_seconds
    if timeout is None:
        return run()
    outcome: StepHandlerResult | GateWait = _call_with_timeout(run, float(timeout))
    return outcome


def _invoke_in_process(attempt: Attempt, process: HandlerProcess) -> StepHandlerResult:
    """The attempt's handler run in the worker's handler process: every ancestor's result
    is read now and sent along, and past the step's timeout the process is killed."""
    from tasker_ctl.telemetry.propagation import current_trace

    definition = attempt.definition
    dispatch = dispatch_of(attempt.step, attempt.prepared.definition_json)
    timeout = definition.timeout_seconds
    try:
        return process.call(
            definition.handler.callable,
            definition.handler.method,
            dispatch,
            attempt.ancestors.copy(),
            timeout=None if timeout is None else float(timeout),
            trace=current_trace(),
        )
    except HandlerDeadlineExceeded:
        raise StepTimeoutError from None


async def _awaited(value: Awaitable[Any]) -> Any:
    return await value


async def _bounded(value: Awaitable[Any], timeout: float) -> Any:
    """Await ``value``, cancelling it at the deadline (an async handler can be stopped)."""
    task = asyncio.ensure_future(value)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if task not in done:
        task.cancel()
        raise StepTimeoutError
    return task.result()


def _call_with_timeout(call: Callable[[], Any], timeout: float) -> Any:
    # A thread cannot be killed: on timeout the attempt fails and a sync handler's thread is
    # abandoned (a daemon, so it never holds up the process's exit). Async handlers are
    # cancelled at the deadline.
    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def run() -> None:
        try:
            value = call()
            if inspect.isawaitable(value):
                value = asyncio.run(_bounded(value, timeout))
            outcome["value"] = value
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            finished.set()

    # in a copy of the caller's context: spans the handler starts stay children of the
    # attempt's span (a new thread would otherwise start from an empty context)
    context_copy = contextvars.copy_context()
    threading.Thread(target=context_copy.run, args=(run,), name="tasker-step", daemon=True).start()
    if not finished.wait(timeout):
        raise StepTimeoutError
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, Exception):
            raise error
        # a SystemExit or KeyboardInterrupt of the handler's thread is the handler's own
        raise HandlerAbortedError(error)
    return outcome["value"]


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def gate_outcome(waiting: GateWait, started: float) -> Outcome:
    """The outcome of an attempt that stopped at a gate (a composition's, a replan's)."""
    return _gate_outcome(waiting, started)


def _gate_outcome(waiting: GateWait, started: float) -> Outcome:
    prompt = stored_text(waiting.metadata.get("prompt"), MESSAGE_LIMIT)
    return Outcome(
        success=False,
        # shown by reports of the attempt; the step stores only the checkpoint
        envelope={
            "error": {
                "error_type": "awaiting_approval",
                "message": f"waiting for approval: {prompt}",
            }
        },
        retryable=False,
        retry_after=None,
        duration_ms=int((time.perf_counter() - started) * 1000),
        awaiting=waiting,
    )


def failed_outcome(attempt: Attempt, result: StepHandlerResult, worker_id: str) -> Outcome:
    """The outcome of a failure the worker decides on (the attempt's own outcome could not be
    recorded), stored as any other."""
    return _outcome(attempt, result, time.perf_counter(), worker_id)


def outcome_of(attempt: Attempt, result: StepHandlerResult, started: float, worker: str) -> Outcome:
    """The outcome of ``result`` (a handler's, or the engine's for a planning step), with the
    stored envelope every outcome has."""
    return _outcome(attempt, result, started, worker)


def _outcome(attempt: Attempt, result: StepHandlerResult, started: float, worker: str) -> Outcome:
    duration_ms = int((time.perf_counter() - started) * 1000)
    # every text bounded, every member storable: the success's result was checked already
    metadata = stored_metadata(result.metadata)
    error_type = stored_text(result.error_type or "unknown", NAME_LIMIT)
    envelope_metadata = {
        "execution_time_ms": duration_ms,
        "handler_version": None,
        "retryable": bool(result.retryable) if not result.is_success else False,
        "completed_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "worker_id": worker,
        "attempt": attempt.number,
        "error_code": stored_code(result.error_code or metadata.get("error_code")),
        "error_type": None if result.is_success or result.error_type is None else error_type,
        "custom": {k: v for k, v in metadata.items() if k not in ("error_code",)},
    }
    envelope: dict[str, Any] = {
        "step_uuid": str(attempt.step.step_uuid),
        "success": result.is_success,
        "result": (result.result or {}) if result.is_success else None,
        "metadata": envelope_metadata,
        "status": "completed"
        if result.is_success
        else ("retryable_error" if result.retryable else "permanent_error"),
        "error": None
        if result.is_success
        else {
            "message": stored_text(result.error_message or "Unknown error", MESSAGE_LIMIT),
            "error_type": error_type,
            "retryable": result.retryable,
            "metadata": metadata,
        },
    }
    return Outcome(
        success=result.is_success,
        envelope=envelope,
        retryable=bool(result.retryable) and not result.is_success,
        retry_after=retry_after_of(result.metadata.get("retry_after")),
        duration_ms=duration_ms,
    )
