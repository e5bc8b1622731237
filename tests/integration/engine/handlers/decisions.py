"""Decision handlers. ``decide.route`` (class style, DecisionHandler) routes to the steps
named in the task context's ``route``: a list, ``"none"`` for no branches, or a mapping from
decision step name to either. ``decide.malformed`` returns an outcome of an unknown type."""

from __future__ import annotations

from typing import Any

from tasker_ctl.sdk import StepContext, StepHandlerResult
from tasker_ctl.sdk.step_handler import DecisionHandler
from tasker_ctl.sdk.step_handler.functional import step_handler
from tests.integration.engine.handlers import record


class RouteFromContext(DecisionHandler):
    handler_name = "decide.route"

    def call(self, context: StepContext) -> StepHandlerResult:
        call = record(context)
        route = context.get_input("route")
        if isinstance(route, dict):
            route = route[call.step]
        if route == "none":
            return self.skip_branches("nothing to do", routing_context={"route": route})
        return self.route_to_steps(list(route), routing_context={"route": route})


@step_handler("decide.malformed")
def malformed(context: StepContext) -> dict[str, Any]:
    record(context)
    return {"decision_point_outcome": {"type": "route_everywhere"}}
