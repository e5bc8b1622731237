"""``DecisionMixin``: results for decision-point steps (``tasker_core...mixins.decision``).

Orchestration reads only ``result.decision_point_outcome`` of a successful decision step:
``{"type": "create_steps", "step_names": [...]}`` or ``{"type": "no_branches"}``. The other
keys (``routing_context``, ``reason``, ``dynamic_steps``) are informational.
"""

from __future__ import annotations

from typing import Any

from tasker_ctl.sdk.types import DecisionPointOutcome, DecisionType, StepHandlerResult

__all__ = ["DecisionMixin", "decision_metadata", "decision_outcome_result"]


def decision_metadata(handler: object, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """``metadata`` plus the deciding handler's name and version (the input is not mutated)."""
    name = getattr(handler, "name", None) or type(handler).__name__
    version = getattr(handler, "version", None) or "1.0.0"
    return {**(metadata or {}), "decision_handler": str(name), "decision_version": str(version)}


def decision_outcome_result(outcome: DecisionPointOutcome) -> dict[str, Any]:
    """The result dict a decision step stores for ``outcome``."""
    result: dict[str, Any]
    if outcome.decision_type == DecisionType.NO_BRANCHES:
        result = {
            "decision_point_outcome": {"type": DecisionType.NO_BRANCHES.value},
            "reason": outcome.reason,
        }
    else:
        result = {
            "decision_point_outcome": {
                "type": outcome.decision_type.value,
                "step_names": list(outcome.next_step_names),
            }
        }
        if outcome.dynamic_steps:
            result["dynamic_steps"] = outcome.dynamic_steps
    if outcome.routing_context:
        result["routing_context"] = dict(outcome.routing_context)
    return result


class DecisionMixin:
    """Helpers for handlers of ``type: decision`` steps; combine with ``StepHandler``."""

    @property
    def decision_capabilities(self) -> list[str]:
        return ["decision", "routing"]

    def decision_success(
        self,
        steps: list[str],
        routing_context: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> StepHandlerResult:
        """Create the named branch steps (they must be declared descendants)."""
        outcome = DecisionPointOutcome.create_steps(steps, routing_context=routing_context)
        return self.decision_success_with_outcome(outcome, metadata=metadata)

    def route_to_steps(
        self,
        step_names: list[str],
        routing_context: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> StepHandlerResult:
        """Alias of ``decision_success``."""
        return self.decision_success(step_names, routing_context, metadata)

    def decision_success_with_outcome(
        self, outcome: DecisionPointOutcome, metadata: dict[str, Any] | None = None
    ) -> StepHandlerResult:
        """The success result for a prepared ``DecisionPointOutcome``."""
        return StepHandlerResult.success(
            decision_outcome_result(outcome), decision_metadata(self, metadata)
        )

    def decision_no_branches(
        self, outcome: DecisionPointOutcome, metadata: dict[str, Any] | None = None
    ) -> StepHandlerResult:
        """The success result of a decision that creates no steps."""
        return StepHandlerResult.success(
            decision_outcome_result(outcome), decision_metadata(self, metadata)
        )

    def skip_branches(
        self,
        reason: str,
        routing_context: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> StepHandlerResult:
        """Create no branch steps, saying why."""
        outcome = DecisionPointOutcome.no_branches(reason, routing_context=routing_context)
        return self.decision_no_branches(outcome, metadata=metadata)

    def decision_failure(
        self,
        message: str,
        error_type: str = "decision_error",
        retryable: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> StepHandlerResult:
        """A failed decision (permanent by default: bad data does not improve on retry)."""
        return StepHandlerResult.failure(
            message=message,
            error_type=error_type,
            retryable=retryable,
            metadata=decision_metadata(self, metadata),
        )
