"""Decorator-style handlers: Tasker Core's linear workflow and a tree of arithmetic steps.

Linear (even_number = 6): square 36 -> add 10 = 46 -> multiply by 3 = 138 -> divide by 2 = 69.
Tree: root squares; each branch and leaf combines the results of its ancestors (not only its
parents), and the final step sums the leaves.
"""

from __future__ import annotations

from typing import Any

from tasker_ctl.sdk.step_handler.functional import depends_on, inputs, step_handler
from tasker_ctl.sdk.types import StepContext
from tests.integration.engine.handlers import record


@step_handler("arith.square")
@inputs("even_number")
def square(even_number: int, context: StepContext) -> dict[str, Any]:
    record(context)
    return {"result": even_number**2, "operation": "square"}


@step_handler("arith.add")
@depends_on(previous="linear_1")
def add(previous: dict[str, Any], context: StepContext) -> dict[str, Any]:
    record(context)
    return {"result": previous["result"] + context.get_config("addend"), "operation": "add"}


@step_handler("arith.multiply")
@depends_on(previous="linear_2")
def multiply(previous: dict[str, Any], context: StepContext) -> dict[str, Any]:
    record(context)
    return {"result": previous["result"] * context.get_config("factor"), "operation": "multiply"}


@step_handler("arith.divide")
@depends_on(previous="linear_3")
def divide(previous: dict[str, Any], context: StepContext) -> dict[str, Any]:
    record(context)
    # linear_1 is no parent of linear_4, but every completed ancestor is visible
    first = context.get_dependency_field("linear_1", "result")
    return {"result": previous["result"] // 2, "first": first, "operation": "divide"}


@step_handler("tree.root")
@inputs("even_number")
def tree_root(even_number: int, context: StepContext) -> dict[str, Any]:
    record(context)
    return {"value": even_number**2}


@step_handler("tree.combine")
def tree_combine(context: StepContext) -> dict[str, Any]:
    """value = the step's ``add`` plus ``times`` times the sum of the named ancestors."""
    record(context)
    total = sum(context.get_dependency_field(name, "value") for name in context.get_config("of"))
    return {"value": context.get_config("add") + context.get_config("times") * total}


@step_handler("tree.sum_leaves")
def tree_sum_leaves(context: StepContext) -> dict[str, Any]:
    record(context)
    leaves = context.get_all_dependency_results("leaf_")
    return {"value": sum(leaf["value"] for leaf in leaves), "leaves": len(leaves)}
