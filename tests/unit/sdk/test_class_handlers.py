"""Class-style handlers: StepHandler helpers, DecisionHandler outputs, identities."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tasker_ctl.sdk as sdk
from tasker_ctl.sdk import DecisionHandler, StepContext, StepHandler, StepHandlerResult
from tasker_ctl.sdk.errors import PermanentError
from tasker_ctl.sdk.step_handler import mixins
from tasker_ctl.sdk.testing import make_context, run_handler
from tasker_ctl.sdk.types import DecisionPointOutcome, ErrorType


class Doubler(StepHandler):
    handler_name = "math.Doubler"
    handler_version = "2.1.0"

    def call(self, context: StepContext) -> StepHandlerResult:
        value = context.get_input("n")
        if value is None:
            return self.failure("n is required", error_type="validation_error", retryable=False)
        return self.success({"doubled": value * 2}, metadata={"note": "ok"})


class Unnamed(StepHandler):
    def call(self, context: StepContext) -> StepHandlerResult:
        return self.success()


class Router(DecisionHandler):
    handler_name = "orders.Router"

    def call(self, context: StepContext) -> StepHandlerResult:
        amount = context.get_input_or("amount", 0)
        if amount > 1000:
            return self.decision_success(["manager_review"], routing_context={"amount": amount})
        if amount > 0:
            return self.route_to_steps(["auto_approve"])
        return self.skip_branches("nothing to approve")


def test_identity_of_reexported_classes() -> None:
    from tasker_ctl.sdk import step_handler, types
    from tasker_ctl.sdk.step_handler import base, decision

    assert sdk.StepHandler is step_handler.StepHandler is base.StepHandler
    assert sdk.StepHandlerResult is types.StepHandlerResult
    assert sdk.StepContext is types.StepContext
    assert sdk.ErrorType is types.ErrorType
    assert sdk.DecisionHandler is step_handler.DecisionHandler is decision.DecisionHandler
    assert sdk.DecisionMixin is mixins.DecisionMixin
    assert sdk.PermanentError is PermanentError
    from tasker_ctl.sdk.batch_processing import Batchable, batchable

    assert sdk.Batchable is Batchable is batchable.Batchable


def test_importing_the_sdk_stays_light() -> None:
    code = (
        "import sys, tasker_ctl.sdk, tasker_ctl.sdk.testing\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('rich', 'typer', 'jsonschema')"
        " or m.startswith(('tasker_ctl.template', 'tasker_ctl.cli', 'tasker_ctl.report'))]\n"
        "print(heavy)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "[]"


def test_success_and_failure_helpers() -> None:
    ok = run_handler(Doubler, make_context(input_data={"n": 21}))
    assert ok.is_success
    assert ok.result == {"doubled": 42}
    assert ok.metadata == {"note": "ok"}
    bad = run_handler(Doubler, make_context())
    assert (bad.error_message, bad.error_type, bad.retryable) == (
        "n is required",
        "validation_error",
        False,
    )


def test_success_without_result_is_empty_dict() -> None:
    assert run_handler(Unnamed, make_context()).result == {}


def test_failure_accepts_error_type_enum_and_error_code() -> None:
    result = Unnamed().failure("t", error_type=ErrorType.TIMEOUT, error_code="SLOW")
    assert (result.error_type, result.error_code, result.retryable) == ("timeout", "SLOW", True)
    assert result.metadata == {"error_code": "SLOW"}


def test_name_version_capabilities() -> None:
    doubler = Doubler()
    assert (doubler.name, doubler.version, doubler.capabilities) == (
        "math.Doubler",
        "2.1.0",
        ["process"],
    )
    assert doubler.config_schema() is None
    assert repr(doubler) == "Doubler(name='math.Doubler', version='2.1.0')"
    assert Unnamed().name == "Unnamed"
    assert Unnamed().version == "1.0.0"
    assert Router().capabilities == ["process", "decision", "routing"]


def test_step_handler_is_abstract() -> None:
    with pytest.raises(TypeError):
        StepHandler()  # type: ignore[abstract]


class TestDecisionHandler:
    def test_create_steps_shape(self) -> None:
        result = run_handler(Router, make_context(input_data={"amount": 5000}))
        assert result.is_success
        assert result.result == {
            "decision_point_outcome": {"type": "create_steps", "step_names": ["manager_review"]},
            "routing_context": {"amount": 5000},
        }
        assert result.metadata == {"decision_handler": "orders.Router", "decision_version": "1.0.0"}

    def test_routing_context_only_when_non_empty(self) -> None:
        result = run_handler(Router, make_context(input_data={"amount": 5}))
        assert result.result == {
            "decision_point_outcome": {"type": "create_steps", "step_names": ["auto_approve"]}
        }

    def test_no_branches_shape(self) -> None:
        result = run_handler(Router, make_context())
        assert result.result == {
            "decision_point_outcome": {"type": "no_branches"},
            "reason": "nothing to approve",
        }

    def test_skip_with_routing_context(self) -> None:
        result = Router().skip_branches("r", routing_context={"k": 1}, metadata={"m": 1})
        assert result.result == {
            "decision_point_outcome": {"type": "no_branches"},
            "reason": "r",
            "routing_context": {"k": 1},
        }
        assert result.metadata == {
            "m": 1,
            "decision_handler": "orders.Router",
            "decision_version": "1.0.0",
        }

    def test_with_outcome_includes_dynamic_steps(self) -> None:
        outcome = DecisionPointOutcome.create_steps(["a"], dynamic_steps=[{"name": "a"}])
        result = Router().decision_success_with_outcome(outcome)
        assert result.result == {
            "decision_point_outcome": {"type": "create_steps", "step_names": ["a"]},
            "dynamic_steps": [{"name": "a"}],
        }

    def test_decision_no_branches(self) -> None:
        result = Router().decision_no_branches(DecisionPointOutcome.no_branches("why"))
        assert result.result == {"decision_point_outcome": {"type": "no_branches"}, "reason": "why"}

    def test_decision_failure_is_a_permanent_failure(self) -> None:
        metadata = {"k": "v"}
        result = Router().decision_failure("cannot decide", metadata=metadata)
        assert not result.is_success
        assert (result.error_type, result.retryable) == ("decision_error", False)
        assert result.metadata == {
            "k": "v",
            "decision_handler": "orders.Router",
            "decision_version": "1.0.0",
        }
        assert metadata == {"k": "v"}

    def test_mixin_with_plain_step_handler(self) -> None:
        class Mixed(mixins.DecisionMixin, StepHandler):
            def call(self, context: StepContext) -> StepHandlerResult:
                return self.decision_success(["x"])

        result = run_handler(Mixed, make_context())
        assert result.metadata["decision_handler"] == "Mixed"
