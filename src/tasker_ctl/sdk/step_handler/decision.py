"""``DecisionHandler``: a ``StepHandler`` with the decision helpers mixed in."""

from __future__ import annotations

from tasker_ctl.sdk.step_handler.base import StepHandler
from tasker_ctl.sdk.step_handler.mixins.decision import DecisionMixin

__all__ = ["DecisionHandler"]


class DecisionHandler(DecisionMixin, StepHandler):
    """Base class for handlers of ``type: decision`` steps."""

    @property
    def capabilities(self) -> list[str]:
        return ["process", "decision", "routing"]
