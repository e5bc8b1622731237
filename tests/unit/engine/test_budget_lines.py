"""Budget arithmetic: reservations, commitments and releases of the ledger, and the limits a
template's planning steps give a task."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tasker_ctl.engine.rules.budget import (
    RESOURCES,
    BudgetLine,
    budget_lines,
    decimal_text,
    task_budget_limits,
)
from tasker_ctl.template.model import TaskTemplate

amounts = st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False)


@given(limit=amounts, reserve=amounts, commit=amounts, release=amounts)
def test_lines_never_go_negative_and_add_up(
    limit: Decimal, reserve: Decimal, commit: Decimal, release: Decimal
) -> None:
    totals = {
        ("tokens", "reserve"): reserve,
        ("tokens", "commit"): commit,
        ("tokens", "release"): release,
    }
    line = next(x for x in budget_lines({"tokens": limit}, totals) if x.resource == "tokens")
    assert line.used >= 0
    assert line.reserved >= 0
    assert line.used <= commit
    assert line.remaining is not None
    assert line.remaining == limit - line.used - line.reserved  # exactly


def test_amounts_stay_exact_decimals_and_print_as_decimal_strings() -> None:
    # ten commits of a tenth of a cent: a float sum would be 0.009999999999999998
    totals = {("cost_usd", "commit"): sum([Decimal("0.001")] * 10, Decimal(0))}
    (cost,) = [x for x in budget_lines({"cost_usd": 1.0}, totals) if x.resource == "cost_usd"]
    assert cost.used == Decimal("0.01")
    assert cost.remaining == Decimal("0.99")
    document = json.loads(cost.model_dump_json())
    assert document["used"] == "0.01"
    assert document["limit"] == "1"
    assert document["remaining"] == "0.99"
    assert BudgetLine.model_json_schema(mode="serialization")["properties"]["used"]["type"] == (
        "string"
    )
    assert [decimal_text(Decimal(x)) for x in ("1E+1", "0.000384000", "1E-7", "-0")] == [
        "10",
        "0.000384",
        "0.0000001",
        "0",
    ]


def test_a_reservation_is_outstanding_until_committed_or_released() -> None:
    def line(**kinds: float) -> tuple[Decimal, Decimal]:
        found = budget_lines({"steps": 10}, {("steps", k): v for k, v in kinds.items()})[0]
        return found.used, found.reserved

    assert line(reserve=4) == (0, 4)
    assert line(reserve=4, commit=3) == (3, 1)
    assert line(reserve=4, commit=3, release=1) == (3, 0)
    # a release beyond the open reservation gives back committed budget
    assert line(reserve=4, commit=3, release=2) == (2, 0)
    assert line(commit=2) == (2, 0)


def test_every_resource_has_a_line_in_a_fixed_order() -> None:
    lines = budget_lines({}, {})
    assert [line.resource for line in lines] == list(RESOURCES)
    assert all(line.limit is None and line.fraction is None for line in lines)


def _template(*planning: dict[str, object]) -> TaskTemplate:
    steps: list[dict[str, object]] = [{"name": "start", "handler": {"callable": "x.start"}}]
    for index, block in enumerate(planning):
        steps.append(
            {
                "name": f"plan_{index}",
                "type": "planning",
                "handler": {"callable": "x.plan"},
                "dependencies": ["start"],
                "planning": {"convergence": "end", "allowed_callables": ["x.*"], **block},
            }
        )
    steps.append(
        {
            "name": "end",
            "type": "deferred_convergence",
            "handler": {"callable": "x.end"},
            "dependencies": [f"plan_{i}" for i in range(len(planning))] or ["start"],
        }
    )
    return TaskTemplate.model_validate(
        {"name": "t", "namespace_name": "n", "version": "1.0.0", "steps": steps}
    )


def test_planning_steps_add_up_to_the_task_budget() -> None:
    assert task_budget_limits(_template()) == {}
    limits = task_budget_limits(
        _template(
            {"bounds": {"max_steps": 4, "max_phases": 2}, "budget": {"max_cost_usd": 1.5}},
            {"bounds": {"max_steps": 3}, "budget": {"max_llm_calls": 2, "max_cost_usd": 0.5}},
        )
    )
    assert limits["steps"] == 4 * 2 + 3
    assert limits["phases"] == 3
    assert limits["llm_calls"] == 3 + 2
    assert limits["cost_usd"] == 2.0
    assert limits["tokens"] == 2 * 50_000  # defaults count too
    tenths = task_budget_limits(
        _template({"budget": {"max_cost_usd": 0.1}}, {"budget": {"max_cost_usd": 0.2}})
    )
    assert json.dumps(tenths["cost_usd"]) == "0.3"  # not 0.30000000000000004
