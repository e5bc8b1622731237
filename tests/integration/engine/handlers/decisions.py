"""Decision handlers: the class style (DecisionHandler) routes to the steps named in the
task context's ``route`` (a list), or to none when it is ``"none"``."""

from __future__ import annotations

from tasker_ctl.sdk import StepContext, StepHandlerResult
from tasker_ctl.sdk.step_handler import DecisionHandler
from tests.integration.engine.handlers import record


class RouteFromContext(DecisionHandler):
    handler_name = "decide.route"

    def call(self, context: StepContext) -> StepHandlerResult:
        record(context)
        route = context.get_input("route")
        if route == "none":
            return self.skip_branches("nothing to do", routing_context={"route": route})
        return self.route_to_steps(list(route), routing_context={"route": route})
