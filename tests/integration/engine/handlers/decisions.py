"""Decision handlers. ``decide.route`` (class style, DecisionHandler) routes to the steps
named in the task context's ``route``: a list, ``"none"`` for no branches, or a mapping from
decision step name to either. ``decide.skip_or_route`` (functional, ``@decision_handler``)
does the same for a list or ``"none"`` with ``Decision.route`` / ``Decision.skip``.
``decide.malformed`` returns an outcome of an unknown type."""

from __future__ import annotations

from typing import Any

from tasker_ctl.sdk import StepContext, StepHandlerResult
from tasker_ctl.sdk.step_handler import DecisionHandler
from tasker_ctl.sdk.step_handler.functional import Decision, decision_handler, step_handler
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


@decision_handler("decide.skip_or_route")
def skip_or_route(context: StepContext) -> Decision:
    """Functional style: ``Decision.skip`` when the context's ``route`` is ``"none"``."""
    record(context)
    route = context.get_input("route")
    if route == "none":
        return Decision.skip("nothing to approve", result={"approved": True})
    return Decision.route(list(route))


@step_handler("decide.malformed")
def malformed(context: StepContext) -> dict[str, Any]:
    record(context)
    return {"decision_point_outcome": {"type": "route_everywhere"}}
