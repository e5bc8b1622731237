"""A planning step's attempt: ask the planner for a fragment, check it, ask again with the
findings, and return the outcome whose recording writes the accepted fragment as steps.

The handler a planning step names is not called: the engine plans. Each model call is one
planning attempt, written before the call (``calling``, with the budget it reserved) and
completed after it, each write fenced by the step's claim (``planning_calls``), so that

- a worker that dies during a call leaves a row the next worker counts as spent
  (``interrupted``) before it calls again: at most one extra call per death, and the ledger
  never holds less than was spent;
- a worker that dies after an accepted answer leaves it recorded: the next one writes that
  fragment instead of asking again;
- the model is never a judge: an answer is accepted only when the validator reports no error.

Rounds: a round is the first request and up to ``max_repairs`` repairs (each holding the last
answer and its findings only, so requests do not grow). A round without a valid fragment is
followed by up to ``max_replans`` fresh rounds that start from the task as it is, told why the
last round failed; a model whose rounds all fail, or whose calls fail, hands over to the next
of ``fallback_models``. When nothing is left the step fails for good with the last findings
(``PLANNING_NO_VALID_FRAGMENT``); a transport error or a rate limit of the last model is the
step's ordinary retryable failure. A budget that cannot cover the next call ends planning
gracefully instead: the step completes with no fill and its convergence step runs next, with
the diagnostic in its inputs under ``planning.exhausted`` (the emergency convergence).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tasker_ctl.engine.errors import AwaitingReplan, PlanningFailure
from tasker_ctl.engine.graph.planning_ledger import read_budget
from tasker_ctl.engine.store.connection import Store
from tasker_ctl.engine.worker.attempt import Attempt, Outcome
from tasker_ctl.engine.worker.failpoints import failpoint
from tasker_ctl.engine.worker.planning_answers import (
    accepted_pending,
    failure_result,
    judge_answer,
    summary,
)
from tasker_ctl.engine.worker.planning_calls import (
    Call,
    close_answered,
    close_failed,
    interrupt_left_calls,
    open_call,
    release_fill_reservation,
    seconds_since,
)
from tasker_ctl.engine.worker.planning_inputs import (
    PlanningInputs,
    phase_of,
    with_failure_context,
)
from tasker_ctl.engine.worker.planning_replans import Progress, await_replan
from tasker_ctl.engine.worker.planning_spans import PlannerSpans
from tasker_ctl.engine.worker.planning_summaries import give_context
from tasker_ctl.errors import TaskerError
from tasker_ctl.sdk.registry import HandlerRegistry
from tasker_ctl.sdk.types import StepHandlerResult
from tasker_ctl.template.model import PlanningBlock, TaskTemplate

if TYPE_CHECKING:
    from tasker_ctl.engine.worker.options import WorkerOptions
    from tasker_ctl.planning.plan import PlannedFill
    from tasker_ctl.planning.planner import Planner, PlannerAnswer
    from tasker_ctl.telemetry import Telemetry

# what ends planning gracefully (the emergency convergence) rather than failing the step
EXHAUSTION = ("PLANNING_BUDGET_EXHAUSTED",)


class _RoundFailed(Exception):
    """A round (or a model's call) that produced no valid fragment; the next round or the
    next model may still."""

    def __init__(self, failure: PlanningFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class PlanningRunner:
    """Runs the planning steps a worker claims; planners are opened once per worker."""

    def __init__(
        self, options: WorkerOptions, registry: HandlerRegistry, telemetry: Telemetry | None
    ) -> None:
        self._options = options
        self._telemetry = telemetry
        self._inputs = PlanningInputs(registry, options.trust)
        self._spans = PlannerSpans(telemetry)

    def run(self, store: Store, attempt: Attempt, template: TaskTemplate) -> Outcome:
        """Plan ``attempt``'s step: its outcome, with the fill to write on success (never
        raises for the planner's or the answer's problems)."""
        from tasker_ctl.engine.worker.executor import gate_outcome, outcome_of

        started = time.perf_counter()
        try:
            result, fill = self._plan(store, attempt, template)
        except AwaitingReplan as waiting:  # the step parks until an approver decides
            return gate_outcome(waiting.gate, started)
        except PlanningFailure as failure:
            if failure.code in EXHAUSTION and attempt.definition.planning is not None:
                result, fill = _exhausted(attempt, attempt.definition.planning, failure)
            else:
                result = failure_result(failure)
                return outcome_of(attempt, result, started, self._options.worker_id)
        outcome = outcome_of(attempt, result, started, self._options.worker_id)
        return replace(outcome, fill=fill) if outcome.success else outcome

    def _plan(
        self, store: Store, attempt: Attempt, template: TaskTemplate
    ) -> tuple[StepHandlerResult, PlannedFill]:
        definition = attempt.definition
        block = definition.planning
        if block is None:  # validation refuses such a template; a stored one may predate it
            raise PlanningFailure(
                "PLANNING_BLOCK_MISSING", f"planning step '{definition.name}' has no planning block"
            )
        step = attempt.step
        phase = phase_of(step)
        rows = store.fetch_all("planning_attempts_of_step", step_uuid=step.step_uuid, phase=phase)
        interrupt_left_calls(store, attempt, rows)
        pending = accepted_pending(rows)
        if pending is not None and not _fill_written(store, pending):
            # the answer was accepted and its steps reserved, but the fill never written: it
            # is checked again (its own reservation counting as available) and written
            held = _steps_of(pending["fragment"])
            frame = self._inputs.frame(store, attempt, template, held_steps=held)
            check = judge_fragment(pending["fragment"], frame)
            if check.accepted and check.fragment is not None:
                fill = _fill(check.fragment, str(pending["fragment_id"]), attempt, block)
                return _success(fill, int(pending["attempt"])), fill
            release_fill_reservation(store, attempt, pending["planning_attempt_uuid"], held)
        _require_a_phase(store, attempt)
        progress = Progress.of(attempt.step.checkpoint)
        last = progress.failure()
        inputs: list[Any] | None = None
        specs = self._specs(block)
        for index in range(progress.model, len(specs)):
            planner = self._planner(specs[index], block)
            if inputs is None:  # summaries are made once, by the first model
                inputs = self._context(store, attempt, template, block, planner)
            first = progress.round if index == progress.model else 0
            for round_number in range(first, block.max_replans + 1):
                if round_number and block.replan_gate:
                    await_replan(attempt, block, index, round_number, last)
                try:
                    return self._round(store, attempt, template, block, planner, last, inputs)
                except _RoundFailed as failed:
                    last = failed.failure
                    if last.code != "PLANNING_NO_VALID_FRAGMENT":
                        break  # the model's calls fail: the next model, if any
        assert last is not None  # at least one round ran
        raise last

    def _round(
        self,
        store: Store,
        attempt: Attempt,
        template: TaskTemplate,
        block: PlanningBlock,
        planner: Planner,
        last: PlanningFailure | None,
        inputs: list[Any],
    ) -> tuple[StepHandlerResult, PlannedFill]:
        """One round: the first request and its repairs; ``_RoundFailed`` without a fragment."""
        from tasker_ctl.planning.errors import PlanningPromptTooLarge
        from tasker_ctl.planning.prompt import repair_request

        frame = self._inputs.frame(store, attempt, template)
        try:
            prompt = self._inputs.prompt(store, attempt, template, block, frame, inputs)
        except PlanningPromptTooLarge as error:
            raise PlanningFailure(error.code, error.message, hint=error.hint) from error
        request = prompt.request
        if last is not None and last.findings:
            request = with_failure_context(prompt, last.findings, planner.model)
        last_answer, last_findings = "", list[Any]()
        for repair in range(block.max_repairs + 1):
            if repair:
                request = repair_request(prompt, last_answer, last_findings)
            call = open_call(
                store,
                attempt,
                block,
                planner,
                prompt,
                request,
                last_findings,
                phase_of(attempt.step),
            )
            failpoint("planning.before_call")
            answer, wall = self._call(store, attempt, planner, call)
            frame = self._inputs.frame(store, attempt, template)
            fragment_id = str(call.attempt_uuid)
            check = judge_answer(answer.text, frame, source=f"attempt {call.number}")
            self._spans.end(answer, check)
            close_answered(store, attempt, call, answer, wall, check, fragment_id)
            failpoint("planning.after_answer")
            if check.accepted and check.fragment is not None:
                fill = _fill(check.fragment, fragment_id, attempt, block)
                return _success(fill, call.number), fill
            last_answer, last_findings = answer.text, list(check.findings)
        raise _RoundFailed(
            PlanningFailure(
                "PLANNING_NO_VALID_FRAGMENT",
                f"no valid fragment from {planner.spec} after {block.max_repairs + 1} "
                f"attempt(s) of planning step '{attempt.definition.name}': "
                f"{summary(last_findings)}",
                findings=last_findings,
                hint="see `tasker-ctl inspect task TASK --planning`; `task retry-step` plans "
                "again, `task complete-step --result @fragment.yaml` supplies a fragment by hand",
            )
        )

    def _context(
        self,
        store: Store,
        attempt: Attempt,
        template: TaskTemplate,
        block: PlanningBlock,
        planner: Planner,
    ) -> list[Any]:
        """How each input of the prompt is given (``planning_summaries``)."""
        frame = self._inputs.frame(store, attempt, template)
        values, schemas = self._inputs.context_values(attempt, template, block, frame)
        return give_context(store, attempt, block, planner, values, schemas, self._spans)

    def _specs(self, block: PlanningBlock) -> list[str]:
        """The planner specs in the order they are tried: the one in force, then the
        template's fallbacks (``--planner`` overrides the model, not the fallbacks)."""
        from tasker_ctl.planning.planner import resolve_planner_spec

        try:
            first = resolve_planner_spec(self._options.planner, block.model)
        except TaskerError as error:
            raise PlanningFailure(error.code, error.message, hint=error.hint) from error
        fallbacks = [spec for spec in getattr(block, "fallback_models", []) if spec != first]
        return [first, *fallbacks]

    # -- one call ---------------------------------------------------------------------------

    def _call(
        self, store: Store, attempt: Attempt, planner: Planner, call: Call
    ) -> tuple[PlannerAnswer, Decimal]:
        """Make the call: its answer and how long it took; a failed call is recorded and
        ends the round (``_RoundFailed``)."""
        from tasker_ctl.planning.errors import PlannerCallFailed

        self._spans.start(attempt, planner, call)
        started = time.perf_counter()
        try:
            answer = planner.propose(call.request)
        except PlannerCallFailed as error:
            # a refusal (rate limit, bad request) used nothing; an unknown fate may have
            billed = error.retryable and error.code != "PLANNER_RATE_LIMITED"
            wall = seconds_since(started, time.perf_counter())
            close_failed(store, attempt, call, error, wall, billed=billed)
            self._spans.end(None, None, error_type=error.code)
            raise _RoundFailed(
                PlanningFailure(
                    error.code,
                    f"planner call failed: {error.message}",
                    retryable=error.retryable,
                    retry_after=error.retry_after,
                    hint=error.hint,
                )
            ) from error
        except TaskerError as error:  # a cassette that ran out, say: asking again won't help
            wall = seconds_since(started, time.perf_counter())
            close_failed(store, attempt, call, error, wall, billed=False)
            self._spans.end(None, None, error_type=error.code)
            raise _RoundFailed(
                PlanningFailure(error.code, error.message, hint=error.hint)
            ) from error
        return answer, seconds_since(started, time.perf_counter())

    def _planner(self, spec: str, block: PlanningBlock) -> Planner:
        from tasker_ctl.planning.planner import open_planner

        try:
            planner: Planner = self._options.planners.get_or_open(
                spec,
                lambda: open_planner(
                    spec,
                    record=self._options.planner_record,
                    base_dir=self._options.planner_base_dir,
                    price=block.price,
                ),
            )
        except TaskerError as error:
            raise PlanningFailure(error.code, error.message, hint=error.hint) from error
        return planner


def _require_a_phase(store: Store, attempt: Attempt) -> None:
    """A planning round needs a phase of the task's budget: none left is exhaustion."""
    left = read_budget(store, attempt.step.task_uuid, lock=False).remaining("phases")
    if left is not None and left < 1:
        raise PlanningFailure(
            "PLANNING_BUDGET_EXHAUSTED",
            f"the task's planning budget has no phase left for planning step "
            f"'{attempt.definition.name}' (phase {phase_of(attempt.step)})",
        )


def _exhausted(
    attempt: Attempt, block: PlanningBlock, failure: PlanningFailure
) -> tuple[StepHandlerResult, PlannedFill]:
    """The emergency convergence: no fill, the convergence step next, told why."""
    from tasker_ctl.engine.worker.planning_answers import findings_json
    from tasker_ctl.planning.plan import PlannedFill

    diagnostic = {
        "code": failure.code,
        "message": failure.message,
        "planning_step": attempt.definition.name,
        "phase": phase_of(attempt.step),
        "findings": findings_json(failure.findings[:5]),
    }
    fill = PlannedFill(
        fragment_id=f"exhausted-{attempt.step.step_uuid}",
        planning_step=attempt.definition.name,
        convergence=block.convergence,
        phase=phase_of(attempt.step),
        steps=(),
        edges=(),
        exhausted=diagnostic,
    )
    result = StepHandlerResult.success(
        {"fragment_id": fill.fragment_id, "steps": [], "exhausted": diagnostic}
    )
    return result, fill


def judge_fragment(fragment: Any, frame: Any) -> Any:
    """The validator's verdict on a stored fragment (an accepted one, checked again before
    it is written by another worker than the one that accepted it)."""
    from tasker_ctl.planning.validator import check_fragment

    return check_fragment(fragment, frame, source="recorded fragment")


def _fill_written(store: Store, row: Mapping[str, Any]) -> bool:
    found = store.fetch_one("fill_committed", attempt_uuid=row["planning_attempt_uuid"])
    return bool(found and found["committed"])


def _fill(fragment: Any, fragment_id: str, attempt: Attempt, block: PlanningBlock) -> PlannedFill:
    from tasker_ctl.planning.plan import plan_fill

    return plan_fill(
        fragment,
        fragment_id=fragment_id,
        planning_step=attempt.definition.name,
        convergence=block.convergence,
        phase=phase_of(attempt.step),
        attempt_uuid=fragment_id,  # a planner's fragment is named after its attempt
        planning_definition=attempt.definition,
    )


def _success(fill: PlannedFill, attempt: int) -> StepHandlerResult:
    """The planning step's result: the fragment, the steps it added, the attempt that
    proposed it (the attempts its step made in all, counting every retry of the step)."""
    return StepHandlerResult.success(
        {
            "fragment_id": fill.fragment_id,
            "steps": list(fill.step_names),
            "planning_attempts": attempt,
        }
    )


def _steps_of(fragment: Any) -> int:
    steps = fragment.get("steps") if isinstance(fragment, Mapping) else None
    return len(steps) if isinstance(steps, list) else 0
