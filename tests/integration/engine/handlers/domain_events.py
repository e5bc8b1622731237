"""Handlers and custom publishers of the domain event tests.

``events.payment`` fails retryably ``fail_times`` times, then charges; ``events.order``
validates. The publishers: ``PaymentPublisher`` builds the payload of a failure from its
error and skips a success without a transaction id; ``SilentPublisher`` never publishes;
``BrokenPublisher`` raises.
"""

from __future__ import annotations

from typing import Any

from tasker_ctl.sdk import StepContext, StepHandler, StepHandlerResult
from tasker_ctl.sdk.domain_events import BasePublisher, StepEventContext
from tasker_ctl.sdk.errors import RetryableError
from tasker_ctl.sdk.step_handler.functional import step_handler
from tests.integration.engine.handlers import record

ANNOUNCED: list[tuple[str, Any]] = []


@step_handler("events.order")
def order(context: StepContext) -> dict[str, Any]:
    record(context)
    return {
        "order_id": context.get_input("order_id"),
        "validation_timestamp": "2026-01-01T00:00:00Z",
        "validation_checks": ["order_id_present"],
    }


@step_handler("events.payment")
def payment(context: StepContext) -> dict[str, Any]:
    call = record(context)
    if context.retry_count < (context.get_config("fail_times") or 0):
        raise RetryableError(f"gateway busy on attempt {call.attempt}", error_code="BUSY")
    if context.get_config("no_transaction"):
        return {"amount": 10}
    return {"transaction_id": f"TXN-{call.attempt}", "amount": 10, "payment_method": "card"}


class PaymentPublisher(BasePublisher):
    @property
    def publisher_name(self) -> str:
        return "payments.PaymentPublisher"

    def should_publish(self, ctx: StepEventContext) -> bool:
        return not ctx.success or bool((ctx.result or {}).get("transaction_id"))

    def transform_payload(self, ctx: StepEventContext) -> Any:
        if ctx.success:
            return {**ctx.result, "publisher": self.publisher_name}
        error = ctx.error or {}
        return {
            "error_code": ctx.metadata.get("error_code"),
            "error_message": error.get("message"),
            "attempt": ctx.attempt,
        }

    def additional_metadata(self, ctx: StepEventContext) -> dict[str, Any]:
        return {"publisher_type": "custom"}

    def after_publish(self, event_name: str, payload: Any, metadata: dict[str, Any]) -> None:
        ANNOUNCED.append((event_name, payload))


class SilentPublisher(BasePublisher):
    publisher_name = "silent"

    def before_publish(self, event_name: str, payload: Any, metadata: dict[str, Any]) -> bool:
        return False


class BrokenPublisher(BasePublisher):
    @property
    def publisher_name(self) -> str:
        return "broken"

    def transform_payload(self, ctx: StepEventContext) -> Any:
        raise RuntimeError("cannot build the payload")


class CorpusHandler(StepHandler):
    """What the handlers of Tasker Core's domain event examples return, by step."""

    handler_name = ""  # a subclass per callable of the template names it

    def call(self, context: StepContext) -> StepHandlerResult:
        record(context)
        # ValidateOrderHandler or validate_order: the callable says which step this is
        name = context.handler_name.lower().replace("_", "")
        now = "2026-01-01T00:00:00Z"
        if "validateorder" in name:
            result: dict[str, Any] = {
                "order_id": context.get_input("order_id"),
                "validation_timestamp": now,
                "validation_checks": ["order_id_present", "customer_id_present"],
                "validated": True,
            }
        elif "processpayment" in name:
            if context.get_input_or("simulate_failure", False):
                raise RetryableError("Simulated payment failure", error_code="PAYMENT_DECLINED")
            result = {
                "transaction_id": f"TXN-{context.step_uuid}",
                "amount": context.get_input_or("amount", 0),
                "payment_method": "credit_card",
                "processed_at": now,
                "status": "success",
            }
        elif "updateinventory" in name:
            result = {
                "order_id": context.get_input("order_id"),
                "items": [{"sku": "ITEM-001", "quantity": 1}],
                "success": True,
                "updated_at": now,
            }
        else:
            result = {
                "notification_id": f"NOTIF-{context.step_uuid}",
                "channel": context.get_config("notification_type") or "email",
                "recipient": context.get_input("customer_id"),
                "sent_at": now,
                "status": "delivered",
            }
        return self.success(result)


class CorpusPaymentPublisher(BasePublisher):
    """Tasker Core's example PaymentEventPublisher: a success's payload from its transaction, a
    failure's from its error; a subclass per name the template gives it."""

    publisher_name = ""

    def should_publish(self, ctx: StepEventContext) -> bool:
        if ctx.event_name.endswith("processed"):
            return ctx.success and bool((ctx.result or {}).get("transaction_id"))
        if ctx.event_name.endswith("failed"):
            return not ctx.success and bool(ctx.metadata.get("error_code"))
        return True

    def transform_payload(self, ctx: StepEventContext) -> Any:
        if ctx.success:
            return {**(ctx.result or {}), "publisher": self.publisher_name}
        return {
            "error_code": ctx.metadata["error_code"],
            "error_message": (ctx.error or {}).get("message"),
            "order_id": (ctx.task_context or {}).get("order_id"),
            "failed_at": "2026-01-01T00:00:00Z",
        }
