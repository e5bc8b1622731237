"""Handlers a planner may choose (``plan.checks.*``) and the frame's steps of the planning
tests' template (tests/integration/engine/planning_support.py)."""

from __future__ import annotations

from typing import Any

from tasker_ctl.sdk.step_handler.functional import step_handler
from tasker_ctl.sdk.types import StepContext


@step_handler("plan.gather")
def gather(context: StepContext) -> dict[str, Any]:
    # the context's "signals" asks for that many (a large result reaches the planner summarized)
    count = context.get_input("signals") or 2
    return {"service": "checkout", "signals": [f"signal {n}: latency" for n in range(count)]}


@step_handler("plan.planner")
def planner() -> dict[str, Any]:  # never called: the engine plans
    raise AssertionError("a planning step's handler is not called")


@step_handler("plan.checks.logs")
def logs(context: StepContext) -> dict[str, Any]:
    return {"check": "logs", "inputs": dict(context.step_inputs)}


@step_handler("plan.checks.deploys")
def deploys(context: StepContext) -> dict[str, Any]:
    return {"check": "deploys", "inputs": dict(context.step_inputs)}


@step_handler("plan.checks.queues")
def queues(context: StepContext) -> dict[str, Any]:
    return {"check": "queues", "inputs": dict(context.step_inputs)}


@step_handler("plan.report")
def report(context: StepContext) -> dict[str, Any]:
    planned = context.get_dependency_result("plan")["steps"]
    exhausted = (context.step_inputs.get("planning") or {}).get("exhausted")
    seen = [name for name in planned if context.get_dependency_result(name)]
    return {"seen": seen, "exhausted": exhausted}
