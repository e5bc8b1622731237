"""Handlers of the expense approval example (examples/approval/approval.yaml).

The decision is a class handler (DecisionHandler); the other steps are decorated functions.
"""

from __future__ import annotations

from typing import Any

from tasker_ctl.sdk import StepContext, StepHandlerResult
from tasker_ctl.sdk.errors import PermanentError
from tasker_ctl.sdk.step_handler import DecisionHandler
from tasker_ctl.sdk.step_handler.functional import step_handler

REVIEWS = ("auto_approve", "manager_review", "finance_review")


@step_handler("examples.approval.validate_request")
def validate_request(context: StepContext) -> dict[str, Any]:
    amount = float(context.get_input("amount"))
    if amount > 100_000:
        raise PermanentError(f"an expense of {amount:.2f} needs a purchase order, not a claim")
    return {"amount_cents": round(amount * 100), "employee_id": context.get_input("employee_id")}


class RouteByAmount(DecisionHandler):
    handler_name = "examples.approval.RouteByAmount"

    def call(self, context: StepContext) -> StepHandlerResult:
        cents = context.get_dependency_field("validate_request", "amount_cents")
        manager = int(context.get_config("manager_threshold_cents"))
        finance = int(context.get_config("finance_threshold_cents"))
        if cents < manager:
            chosen = ["auto_approve"]
        elif cents < finance:
            chosen = ["manager_review"]
        else:
            chosen = ["manager_review", "finance_review"]
        return self.route_to_steps(chosen, routing_context={"amount_cents": cents})


@step_handler("examples.approval.auto_approve")
def auto_approve(context: StepContext) -> dict[str, Any]:
    return {"approved": True, "reviewer": "policy"}


@step_handler("examples.approval.manager_review")
def manager_review(context: StepContext) -> dict[str, Any]:
    return {"approved": True, "reviewer": "manager of " + str(context.get_input("employee_id"))}


@step_handler("examples.approval.finance_review")
def finance_review(context: StepContext) -> dict[str, Any]:
    purpose = str(context.get_input("purpose"))
    return {"approved": "travel" in purpose or "training" in purpose, "reviewer": "finance"}


@step_handler("examples.approval.finalize_approval")
def finalize_approval(context: StepContext) -> dict[str, Any]:
    # only the reviews the decision created are among the dependency results
    reviews = [context.get_dependency_result(name) for name in REVIEWS]
    answered = [review for review in reviews if review is not None]
    approved = all(review["approved"] for review in answered)
    return {
        "status": "approved" if approved else "rejected",
        "reviewers": [review["reviewer"] for review in answered],
    }
