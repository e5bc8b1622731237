"""Handlers of the linear example, in decorator style.

Each function receives the previous step's result (``@depends_on``) and the step's
``handler.initialization`` through the context, and returns the new value.
"""

from __future__ import annotations

from tasker_ctl.sdk import StepContext
from tasker_ctl.sdk.errors import PermanentError
from tasker_ctl.sdk.step_handler.functional import depends_on, inputs, step_handler


def _value(result: dict[str, float] | None, step: str) -> float:
    if result is None or "value" not in result:
        raise PermanentError(f"step '{step}' left no value", error_code="MISSING_VALUE")
    return result["value"]


@step_handler("examples.linear.square")
@inputs("even_number")
def square(even_number: int | None) -> dict[str, int]:
    if even_number is None or even_number % 2:
        raise PermanentError(f"{even_number!r} is not an even number", error_code="NOT_EVEN")
    return {"value": even_number**2}


@step_handler("examples.linear.add")
@depends_on(previous="square")
def add(previous: dict[str, float] | None, context: StepContext) -> dict[str, float]:
    return {"value": _value(previous, "square") + context.get_config("constant")}


@step_handler("examples.linear.multiply")
@depends_on(previous="add")
def multiply(previous: dict[str, float] | None, context: StepContext) -> dict[str, float]:
    return {"value": _value(previous, "add") * context.get_config("factor")}


@step_handler("examples.linear.divide")
@depends_on(previous="multiply")
def divide(previous: dict[str, float] | None, context: StepContext) -> dict[str, float]:
    divisor = context.get_config("divisor")
    if not divisor:
        raise PermanentError("divisor must not be zero", error_code="DIVIDE_BY_ZERO")
    return {"value": _value(previous, "multiply") / divisor}
