"""Handlers of the diamond example, in class style.

Each class names the template's ``handler.callable`` in ``handler_name``; a new instance runs
every attempt. Configuration comes from the step's ``handler.initialization``.
"""

from __future__ import annotations

from tasker_ctl.sdk import StepContext, StepHandler, StepHandlerResult


class DiamondStartHandler(StepHandler):
    handler_name = "examples.diamond.DiamondStartHandler"

    def call(self, context: StepContext) -> StepHandlerResult:
        number = context.get_input("even_number")
        if not isinstance(number, int) or number % 2:
            return self.failure(
                f"{number!r} is not an even number", error_type="validation_error", retryable=False
            )
        return self.success({"value": number**2})


class DiamondBranchBHandler(StepHandler):
    handler_name = "examples.diamond.DiamondBranchBHandler"

    def call(self, context: StepContext) -> StepHandlerResult:
        start = context.get_dependency_field("diamond_start", "value")
        return self.success({"value": start + context.get_config("constant")})


class DiamondBranchCHandler(StepHandler):
    handler_name = "examples.diamond.DiamondBranchCHandler"

    def call(self, context: StepContext) -> StepHandlerResult:
        start = context.get_dependency_field("diamond_start", "value")
        return self.success({"value": start * context.get_config("factor")})


class DiamondEndHandler(StepHandler):
    handler_name = "examples.diamond.DiamondEndHandler"

    def call(self, context: StepContext) -> StepHandlerResult:
        branches = [
            context.get_dependency_field(step, "value")
            for step in ("diamond_branch_b", "diamond_branch_c")
        ]
        if any(value is None for value in branches):
            return self.failure("a branch left no value", retryable=False)
        return self.success({"value": sum(branches) / len(branches), "inputs": branches})
