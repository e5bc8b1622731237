"""The OpenTelemetry span of each model call a planning step makes (a GenAI ``chat`` span,
``telemetry/genai.py``): started before the call, ended with its usage and verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tasker_ctl.engine.worker.attempt import Attempt
from tasker_ctl.engine.worker.planning_calls import Call
from tasker_ctl.engine.worker.planning_inputs import phase_of

if TYPE_CHECKING:
    from tasker_ctl.planning.planner import Planner, PlannerAnswer
    from tasker_ctl.telemetry import Telemetry


class PlannerSpans:
    """The span of the call in flight (one at a time: a worker makes one call at a time)."""

    def __init__(self, telemetry: Telemetry | None) -> None:
        self._telemetry = telemetry
        self._span: Any = None

    def start(self, attempt: Attempt, planner: Planner, call: Call) -> None:
        if self._telemetry is None:
            return
        from tasker_ctl.telemetry import PlannerCallInfo

        step = attempt.step
        self._span = self._telemetry.start_planner_call(
            PlannerCallInfo(
                task_uuid=str(step.task_uuid),
                step_uuid=str(step.step_uuid),
                step_name=step.name,
                namespace=step.namespace_name,
                provider=planner.provider,
                model=planner.model,
                attempt=call.number,
                planning_phase=phase_of(step),
                max_output_tokens=call.request.max_output_tokens,
                trace_id=step.trace_id,
                span_id=step.span_id,
            )
        )

    def end(self, answer: PlannerAnswer | None, check: Any, error_type: str | None = None) -> None:
        span, self._span = self._span, None
        if span is None:
            return
        from tasker_ctl.telemetry import PlannerCallResult

        span.end(
            PlannerCallResult(
                tokens_in=answer.tokens_in if answer else None,
                tokens_out=answer.tokens_out if answer else None,
                response_model=answer.model if answer else None,
                accepted=check.accepted if check is not None else None,
                findings=len(check.findings) if check is not None else 0,
                cost_usd=answer.cost_usd if answer else None,
                error_type=error_type,
            )
        )
