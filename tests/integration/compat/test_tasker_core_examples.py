"""Tasker Core's blog, domain-event and method-dispatch examples run unchanged on tasker-ctl.

The handler modules belong to Tasker Core (``crates/tasker-py/tests/handlers`` in its
repository), not to this project: point ``TASKER_CORE_PY_HANDLERS`` at that directory to run
these tests, e.g. ``TASKER_CORE_PY_HANDLERS=~/src/tasker-core/crates/tasker-py/tests/handlers``.
Contexts, step names, states and attempts are those of Tasker Core's end-to-end tests
(tests/e2e/python). Its two refund workflows have no Python end-to-end test, so they take the
contexts and step expectations of its Ruby namespace isolation test. The result values follow
from Tasker Core's handlers and those contexts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tasker_ctl.engine.running import run_template
from tasker_ctl.engine.views.task_report import StepReport, TaskReport
from tests.conftest import CORPUS_ROOT

# Read at import: the suite's autouse fixture clears TASKER_* variables before each test.
HANDLERS = os.environ.get("TASKER_CORE_PY_HANDLERS")
TEMPLATES = CORPUS_ROOT / "tests" / "fixtures" / "task_templates" / "python"

pytestmark = [
    pytest.mark.skipif(
        not HANDLERS,
        reason="set TASKER_CORE_PY_HANDLERS to Tasker Core's crates/tasker-py/tests/handlers",
    ),
    pytest.mark.skipif(not TEMPLATES.is_dir(), reason=f"shared corpus not found at {TEMPLATES}"),
]

# style -> what the template file name carries before "_py.yaml"
STYLES = {"class": "", "decorator": "_dsl"}

# style -> what the templates append to a step's base name; most follow this convention
USUAL_STEP_SUFFIXES = {"class": "", "decorator": "_dsl_py"}

ORDER_ID = "3b0c6a1e-7c55-4a57-9d2b-1c1f0f2d9a10"


@dataclass(frozen=True)
class Example:
    """One template run: every step completes at its first attempt and the task completes."""

    context: dict[str, Any]
    # step base name -> {dotted path into the step's result: expected value}
    results: dict[str, dict[str, Any]]
    # ((step, path), (step, path)): a value produced upstream that a later step must carry
    carried: tuple[tuple[tuple[str, str], tuple[str, str]], ...] = ()
    step_suffixes: dict[str, str] | None = None

    def step_name(self, base: str, style: str) -> str:
        return base + (self.step_suffixes or USUAL_STEP_SUFFIXES)[style]


EXAMPLES: dict[str, Example] = {
    "ecommerce_order_processing": Example(
        context={
            "cart_items": [{"product_id": 1, "quantity": 2}, {"product_id": 2, "quantity": 1}],
            "customer_info": {
                "email": "customer@example.com",
                "name": "John Doe",
                "phone": "+1-555-0123",
            },
            "payment_info": {"method": "credit_card", "token": "tok_test_valid", "amount": 124.76},
        },
        results={
            "validate_cart": {
                "subtotal": pytest.approx(109.97),
                "tax": pytest.approx(8.8),
                "shipping": pytest.approx(5.99),
                "total": pytest.approx(124.76),
                "item_count": 2,
            },
            "process_payment": {
                "status": "completed",
                "amount_charged": pytest.approx(124.76),
                "payment_method_type": "credit_card",
            },
            "update_inventory": {
                "updated_products.0.product_id": 1,
                "updated_products.0.new_stock": 98,
                "updated_products.1.product_id": 2,
                "updated_products.1.new_stock": 49,
            },
            "create_order": {
                "status": "confirmed",
                "total_amount": pytest.approx(124.76),
                "customer_email": "customer@example.com",
            },
            "send_confirmation": {
                "email_sent": True,
                "email_type": "order_confirmation",
                "recipient": "customer@example.com",
            },
        },
        carried=(
            (("validate_cart", "total"), ("process_payment", "amount_charged")),
            (("validate_cart", "total"), ("create_order", "total_amount")),
        ),
    ),
    "data_pipeline_analytics_pipeline": Example(
        context={
            "pipeline_id": "pipeline_compat",
            "date_range": {"start_date": "2025-11-01", "end_date": "2025-11-30"},
        },
        results={
            "extract_sales_data": {"source": "SalesDatabase", "total_amount": 3199.73},
            "extract_inventory_data": {"total_quantity": 575, "products_tracked": 3},
            "extract_customer_data": {"total_customers": 5, "total_lifetime_value": 30500.0},
            "transform_sales": {"record_count": 5, "total_revenue": 3199.73},
            "transform_inventory": {"total_quantity_on_hand": 575, "reorder_alerts": 0},
            "transform_customers": {"avg_customer_value": 6100.0, "total_lifetime_value": 30500.0},
            "aggregate_metrics": {
                "sources_included": 3,
                "total_revenue": 3199.73,
                "total_customers": 5,
                "total_inventory_quantity": 575,
                "revenue_per_customer": 639.95,
            },
            "generate_insights": {
                "pipeline_complete": True,
                "health_score.score": 100,
                "total_metrics_analyzed": 10,
            },
        },
        carried=(
            (("transform_sales", "total_revenue"), ("aggregate_metrics", "total_revenue")),
            (
                ("transform_inventory", "total_quantity_on_hand"),
                ("aggregate_metrics", "total_inventory_quantity"),
            ),
        ),
    ),
    "microservices_user_registration": Example(
        context={
            "user_info": {
                "email": "registration@example.com",
                "name": "Test User",
                "plan": "pro",
                "source": "api_test",
            }
        },
        results={
            "create_user_account": {
                "status": "created",
                "email": "registration@example.com",
                "plan": "pro",
            },
            "setup_billing_profile": {
                "status": "active",
                "plan": "pro",
                "price": 29.99,
                "billing_cycle": "monthly",
            },
            "initialize_preferences": {"status": "active", "defaults_applied": 8},
            "send_welcome_sequence": {"status": "sent", "messages_sent": 2},
            "update_user_status": {
                "status": "active",
                "all_services_coordinated": True,
                "registration_summary.registration_status": "complete",
                "registration_summary.welcome_sent": True,
            },
        },
        carried=(
            (("create_user_account", "user_id"), ("setup_billing_profile", "user_id")),
            (("create_user_account", "user_id"), ("initialize_preferences", "user_id")),
            (("create_user_account", "user_id"), ("update_user_status", "user_id")),
            (
                ("setup_billing_profile", "billing_id"),
                ("update_user_status", "registration_summary.billing_id"),
            ),
        ),
    ),
    "payments_process_refund": Example(
        context={
            "payment_id": "pay_test_12345abc",
            "refund_amount": 4999,
            "refund_reason": "customer_request",
            "customer_email": "customer@example.com",
            "partial_refund": False,
        },
        results={
            "validate_payment_eligibility": {
                "payment_validated": True,
                "eligibility_status": "eligible",
                "payment_id": "pay_test_12345abc",
                "refund_amount": 4999,
            },
            "process_gateway_refund": {
                "refund_processed": True,
                "refund_status": "processed",
                "refund_amount": 4999,
            },
            "update_payment_records": {"records_updated": True, "payment_status": "refunded"},
            "notify_customer": {
                "notification_sent": True,
                "customer_email": "customer@example.com",
                "refund_amount": 4999,
            },
        },
        carried=(
            (("process_gateway_refund", "refund_id"), ("update_payment_records", "refund_id")),
            (("process_gateway_refund", "refund_id"), ("notify_customer", "refund_id")),
        ),
    ),
    "customer_success_process_refund": Example(
        context={
            "ticket_id": "ticket_cs_789",
            "customer_id": "cust_premium_456",
            "refund_amount": 4999,
            "refund_reason": "Product defective",
            "customer_email": "premium@example.com",
            "agent_notes": "Customer very upset, expedite refund",
            "requires_approval": True,
        },
        results={
            "validate_refund_request": {
                "request_validated": True,
                "ticket_id": "ticket_cs_789",
                "customer_tier": "premium",
            },
            # the premium tier's policy waives the approval the context asks for
            "check_refund_policy": {"policy_compliant": True, "requires_approval": False},
            "get_manager_approval": {"approval_obtained": True, "auto_approved": True},
            "execute_refund_workflow": {
                "task_delegated": True,
                "target_namespace": "payments",
                "target_workflow": "process_refund",
            },
            "update_ticket_status": {
                "ticket_updated": True,
                "new_status": "resolved",
                "refund_completed": True,
            },
        },
        carried=(
            (
                ("validate_refund_request", "customer_tier"),
                ("check_refund_policy", "customer_tier"),
            ),
            (
                ("execute_refund_workflow", "delegated_task_id"),
                ("update_ticket_status", "delegated_task_id"),
            ),
        ),
    ),
    # Tasker Core's test also counts the events its worker routed; tasker-ctl publishes none
    # (no domain-event publishers, docs/sdk.md), so the task and its steps are what compare.
    "domain_event_publishing": Example(
        context={
            "order_id": ORDER_ID,
            "customer_id": "python_customer_123",
            "amount": 99.99,
            "simulate_failure": False,
        },
        results={
            "domain_events_py_validate_order": {"validated": True, "order_id": ORDER_ID},
            "domain_events_py_process_payment": {"status": "success", "amount": 99.99},
            "domain_events_py_update_inventory": {"success": True, "order_id": ORDER_ID},
            "domain_events_py_send_notification": {
                "status": "delivered",
                "recipient": "python_customer_123",
            },
        },
        step_suffixes={"class": "", "decorator": "_dsl"},
    ),
}


def _value_at(result: dict[str, Any] | None, path: str) -> Any:
    value: Any = result
    for key in path.split("."):
        assert value is not None, f"nothing at {path!r} in {result!r}"
        value = value[int(key)] if isinstance(value, list) else value.get(key)
    return value


def _run(base: str, style: str, context: dict[str, Any], database_url: str) -> TaskReport:
    file = TEMPLATES / f"{base}{STYLES[style]}_py.yaml"
    assert file.is_file(), file
    return run_template(
        file,
        context=context,
        handlers=[str(Path(str(HANDLERS)))],
        database_url=database_url,
        timeout=60,
        check_handlers=True,
    )


def _steps_by_name(steps: list[StepReport]) -> dict[str, StepReport]:
    return {step.name: step for step in steps}


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("template", sorted(EXAMPLES))
def test_tasker_core_example(template: str, style: str, database_url: str) -> None:
    example = EXAMPLES[template]
    report = _run(template, style, example.context, database_url)
    assert report.status == "complete", report
    steps = _steps_by_name(report.steps)
    assert sorted(steps) == sorted(example.step_name(base, style) for base in example.results)
    for base, expected in example.results.items():
        step = steps[example.step_name(base, style)]
        assert (step.name, step.state, step.attempts) == (step.name, "complete", 1)
        actual = {path: _value_at(step.result, path) for path in expected}
        assert actual == expected, step.name
    for (source, source_path), (target, target_path) in example.carried:
        produced = _value_at(steps[example.step_name(source, style)].result, source_path)
        assert produced is not None, (source, source_path)
        carried = _value_at(steps[example.step_name(target, style)].result, target_path)
        assert carried == produced, (target, target_path)


# style -> step base name -> the handler method that produced the step's result
METHOD_DISPATCH = {
    # Tasker Core's Python worker always calls `call`; tasker-ctl honours `handler.method`.
    "class": {
        "validate_step": "validate",
        "process_step": "process",
        "refund_step": "refund",
        "default_call_step": "call",
    },
    # decorated functions have only `call`, which both orchestrators then invoke
    "decorator": {
        "validate_step": "call",
        "process_step": "call",
        "refund_step": "call",
        "default_call_step": "call",
    },
}
METHOD_DISPATCH_STEP_SUFFIXES = {"class": "_py", "decorator": "_dsl_py"}


@pytest.mark.parametrize("style", sorted(STYLES))
def test_tasker_core_method_dispatch(style: str, database_url: str) -> None:
    report = _run(
        "method_dispatch", style, {"data": {"amount": 100.0, "reason": "test_refund"}}, database_url
    )
    assert report.status == "complete", report
    suffix = METHOD_DISPATCH_STEP_SUFFIXES[style]
    expected = {f"{base}{suffix}": method for base, method in METHOD_DISPATCH[style].items()}
    steps = _steps_by_name(report.steps)
    assert sorted(steps) == sorted(expected)
    assert all((step.state, step.attempts) == ("complete", 1) for step in report.steps)
    invoked = {name: _value_at(step.result, "invoked_method") for name, step in steps.items()}
    assert invoked == expected
    if style == "class":
        assert _value_at(steps["validate_step_py"].result, "validated") is True
        assert _value_at(steps["process_step_py"].result, "processed_amount") == pytest.approx(
            110.0
        )
        assert _value_at(steps["refund_step_py"].result, "refund_reason") == "test_refund"
