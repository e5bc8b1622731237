"""Mixins that add helpers to a ``StepHandler`` subclass (``tasker_core.step_handler.mixins``)."""

from __future__ import annotations

from tasker_ctl.sdk.step_handler.mixins.decision import DecisionMixin

__all__ = ["DecisionMixin"]
