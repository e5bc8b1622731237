"""Example fragments shared by the planning tests (the first is the one docs/fragments.md shows)."""

from __future__ import annotations

from typing import Any

CONTEXT: dict[str, Any] = {
    "goal": "Enrich the order and notify the customer",
    "reasoning": "Fetch the customer, score the risk, then converge on the notification",
    "estimated_steps": 3,
    "estimated_depth": 2,
}


def fragment(*steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A fragment document around ``steps``."""
    return {"fragment_version": "1.0", "planning_context": CONTEXT, "steps": list(steps), **extra}


GRAMMAR_STEP: dict[str, Any] = {
    "name": "fetch_customer",
    "handler": {
        "grammar": "http_request",
        "config": {"resource": "crm", "entity": "v1/customers"},
    },
    "inputs": {"customer_id": "${task.context.order.customer_id}"},
    "reasoning": "The customer record holds the contact address",
}
CALLABLE_STEP: dict[str, Any] = {
    "name": "score_risk",
    "handler": {"callable": "orders.ScoreRisk"},
    "dependencies": ["fetch_customer"],
    "inputs": {"customer": "${steps.fetch_customer.result}"},
}
COMPOSITION_STEP: dict[str, Any] = {
    "name": "summarise",
    "handler": {
        "composition": {
            "outcome": {"description": "A summary", "output_schema": {"type": "object"}},
            "invocations": [{"capability": "transform", "config": {"filter": "."}}],
        }
    },
    "dependencies": ["score_risk"],
    "inputs": {"score": "${steps.score_risk.result.score}"},
}
CONVERGENCE_STEP: dict[str, Any] = {
    "name": "notify",
    "handler": {"callable": "orders.Notify"},
    "dependencies": ["score_risk"],
    "step_type": "deferred_convergence",
}

EXAMPLES: list[dict[str, Any]] = [
    fragment(
        GRAMMAR_STEP,
        CALLABLE_STEP,
        CONVERGENCE_STEP,
        convergence="notify",
        resource_bounds={"max_downstream_steps": 5, "max_downstream_depth": 2},
    ),
    fragment(CALLABLE_STEP | {"dependencies": [], "inputs": {}}),
    fragment(GRAMMAR_STEP, CALLABLE_STEP, COMPOSITION_STEP),
]
CALLABLES = ["orders.Notify", "orders.ScoreRisk"]
PATTERNS = ["http_request"]
