"""Handler base classes and the decorator API (``tasker_core.step_handler``)."""

from __future__ import annotations

from tasker_ctl.sdk.step_handler import mixins
from tasker_ctl.sdk.step_handler.base import StepHandler, StepHandlerCallResult
from tasker_ctl.sdk.step_handler.decision import DecisionHandler
from tasker_ctl.sdk.step_handler.functional import (
    BatchConfig,
    Decision,
    FunctionalHandler,
    HandlerDecorator,
    batch_analyzer,
    batch_worker,
    decision_handler,
    depends_on,
    handler_class,
    inputs,
    step_handler,
)
from tasker_ctl.sdk.step_handler.mixins import DecisionMixin

__all__ = [
    "BatchConfig",
    "Decision",
    "DecisionHandler",
    "DecisionMixin",
    "FunctionalHandler",
    "HandlerDecorator",
    "StepHandler",
    "StepHandlerCallResult",
    "batch_analyzer",
    "batch_worker",
    "decision_handler",
    "depends_on",
    "handler_class",
    "inputs",
    "mixins",
    "step_handler",
]
