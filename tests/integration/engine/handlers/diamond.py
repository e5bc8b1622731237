"""Class-style handlers: Tasker Core's diamond workflow.

even_number = 6: start squares (36); branch_b adds 25 (61); branch_c multiplies by 2 (72);
end averages the branches (66.5).
"""

from __future__ import annotations

from tasker_ctl.sdk import StepContext, StepHandler, StepHandlerResult
from tests.integration.engine.handlers import record


class DiamondStart(StepHandler):
    handler_name = "diamond.start"

    def call(self, context: StepContext) -> StepHandlerResult:
        record(context)
        return self.success({"result": context.get_input("even_number") ** 2})


class DiamondBranchB(StepHandler):
    handler_name = "diamond.branch_b"

    def call(self, context: StepContext) -> StepHandlerResult:
        record(context)
        return self.success(
            {"result": context.get_dependency_result("diamond_start")["result"] + 25}
        )


class DiamondBranchC(StepHandler):
    handler_name = "diamond.branch_c"

    async def call(self, context: StepContext) -> StepHandlerResult:  # async handlers run too
        record(context)
        return self.success(
            {"result": context.get_dependency_result("diamond_start")["result"] * 2}
        )


class DiamondEnd(StepHandler):
    handler_name = "diamond.end"

    def call(self, context: StepContext) -> StepHandlerResult:
        record(context)
        b = context.get_dependency_field("diamond_branch_b", "result")
        c = context.get_dependency_field("diamond_branch_c", "result")
        return self.success({"result": (b + c) / 2})
