"""A task's budget limits: the template's ``budget`` block where it gives a limit, else the sum
of its planning steps' bounds; a chain's stored limits and the first one a new task passes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tasker_ctl.engine.errors import ChainLimitsInvalidError
from tasker_ctl.engine.rules.budget import (
    chain_breach,
    chain_limits,
    read_chain_limits,
    task_budget_limits,
)
from tasker_ctl.template.model import TaskTemplate


def planning(name: str, **block: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": "planning",
        "handler": {"callable": "x.Plan"},
        "planning": {"convergence": "done", "allowed_callables": ["x.Work"], **block},
    }


def template(*steps: dict[str, Any], **top: Any) -> TaskTemplate:
    return TaskTemplate.model_validate(
        {"name": "t", "namespace_name": "ns", "version": "1", "steps": list(steps), **top}
    )


TWO_PLANNERS = (
    planning("a", bounds={"max_steps": 10, "max_phases": 2}, budget={"max_cost_usd": 0.1}),
    planning("b", bounds={"max_steps": 5}, budget={"max_cost_usd": 0.2, "max_llm_calls": 4}),
)


def test_without_a_template_budget_the_steps_are_summed() -> None:
    assert task_budget_limits(template(*TWO_PLANNERS)) == {
        "steps": 25,
        "phases": 3,
        "llm_calls": 7,
        "tokens": 100_000,
        "cost_usd": 0.3,
        "wall_seconds": 600.0,
    }


def test_the_template_budget_replaces_the_sum_where_it_gives_a_limit() -> None:
    limits = task_budget_limits(
        template(*TWO_PLANNERS, budget={"max_steps": 12, "max_cost_usd": 0.25, "max_phases": 2})
    )
    assert limits == {
        "steps": 12,
        "phases": 2,
        "llm_calls": 7,
        "tokens": 100_000,
        "cost_usd": 0.25,
        "wall_seconds": 600.0,
    }


def test_a_template_budget_without_planning_steps_limits_what_it_names() -> None:
    plain = {"name": "a", "handler": {"callable": "x.A"}}
    assert task_budget_limits(template(plain, budget={"max_tokens": 900})) == {"tokens": 900}
    assert task_budget_limits(template(plain)) == {}


def test_chain_limits_are_the_template_block_with_the_options_over_it() -> None:
    chained = template(chain={"max_depth": 3, "max_cost_usd": 2.5, "max_tasks": 9})
    assert chain_limits(chained) == {"max_depth": 3, "max_tasks": 9, "max_cost_usd": 2.5}
    assert chain_limits(chained, {"max_tasks": 4, "max_tokens": None, "max_llm_calls": 8}) == {
        "max_depth": 3,
        "max_tasks": 4,
        "max_cost_usd": 2.5,
        "max_llm_calls": 8,
    }
    assert chain_limits(template()) == {}


def test_stored_chain_limits_are_read_exactly_and_junk_is_left_out() -> None:
    raw = {"max_cost_usd": 0.1, "max_depth": 2, "max_tasks": "many", "other": 1}
    assert read_chain_limits(raw) == {"max_depth": Decimal(2), "max_cost_usd": Decimal("0.1")}
    assert read_chain_limits(None) == {}


@pytest.mark.parametrize(
    ("depth", "tasks", "cost", "breached"),
    [
        (2, 4, "0", None),
        (3, 4, "0", "max_depth"),
        (1, 5, "0", "max_tasks"),
        (1, 1, "1.99", None),
        (1, 1, "2.00", "max_cost_usd"),
    ],
)
def test_the_first_limit_a_new_task_would_pass(
    depth: int, tasks: int, cost: str, breached: str | None
) -> None:
    limits = read_chain_limits({"max_depth": 2, "max_tasks": 5, "max_cost_usd": 2})
    found = chain_breach(limits, depth=depth, tasks=tasks, used={"cost_usd": Decimal(cost)})
    assert (found.limit_name if found else None) == breached


_PLANNED = """
name: t
namespace_name: ns
version: 1.0.0
budget: {BUDGET}
steps:
  - name: plan
    type: planning
    handler: {callable: x.Plan}
    planning:
      convergence: done
      allowed_callables: [x.Work]
      max_output_tokens: 2000
      timeout_seconds: 30
  - name: done
    type: deferred_convergence
    dependencies: [plan]
    handler: {callable: x.Done}
"""


@pytest.mark.parametrize(
    ("budget", "messages"),
    [
        ("{max_steps: 10, max_tokens: 2000, max_wall_seconds: 30, max_cost_usd: 1}", []),
        ("{max_tokens: 1999}", ["budget.max_tokens (1999) is below"]),
        ("{max_wall_seconds: 29.5}", ["budget.max_wall_seconds (29.5) is below"]),
        ("{max_steps: 9}", ["budget.max_steps (9) is below"]),
        ("{max_cost_usd: 0}", ["budget.max_cost_usd is 0"]),
    ],
)
def test_validate_warns_of_a_template_budget_below_one_planning_round(
    budget: str, messages: list[str]
) -> None:
    from tasker_ctl.template.validator import validate_text

    report = validate_text(_PLANNED.replace("{BUDGET}", budget))
    found = [f.message for f in report.findings if f.code == "TEMPLATE_BUDGET_BELOW_STEP"]
    assert len(found) == len(messages)
    for message, expected in zip(found, messages, strict=True):
        assert message.startswith(expected)


@pytest.mark.parametrize(
    "given",
    [
        {"max_cost_usd": float("nan")},
        {"max_cost_usd": float("inf")},
        {"max_cost_usd": Decimal("NaN")},
        {"max_cost_usd": -1},
        {"max_depth": -1},
        {"max_tasks": 0},
        {"max_tokens": 2.5},
        {"max_children": 3},
    ],
)
def test_given_chain_limits_are_checked_as_a_chain_block_is(given: dict[str, Any]) -> None:
    with pytest.raises(ChainLimitsInvalidError) as refused:
        chain_limits(template(), given)
    assert refused.value.code == "CHAIN_LIMITS_INVALID"
    assert refused.value.exit_code == 2
    assert next(iter(given)) in str(refused.value)
