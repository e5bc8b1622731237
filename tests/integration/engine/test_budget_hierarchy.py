"""The budget hierarchy: a template's budget block caps the task's limits over its planning
steps' sums, and ``report budget`` shows the task's line with each planning step under it,
its own configured bounds against what its attempts and fills used (ledger entries name
the step), in text and JSON, with exact amounts."""

from __future__ import annotations

import io
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from rich.console import Console, RenderableType

from tasker_ctl.engine.graph.planning_ledger import read_budget
from tasker_ctl.engine.views.budget import task_budget
from tasker_ctl.engine.views.inspection_layers import (
    PlanningAttemptRecord,
    record_planning_attempt,
)
from tasker_ctl.report.budget_view import budget_view, planning_step_lines
from tasker_ctl.report.inspect_json import BudgetDocument, document_json
from tasker_ctl.template.model import TaskTemplate
from tests.integration.engine.conftest import Engine, make_template, step


def _planner(name: str, after: str, convergence: str, **block: Any) -> dict[str, Any]:
    return step(
        name,
        "ok.noop",
        after,
        type="planning",
        planning={"convergence": convergence, "allowed_callables": ["ok.*"], **block},
    )


def two_planners(budget: dict[str, Any] | None = None) -> TaskTemplate:
    template = make_template(
        [
            step("collect", "ok.noop"),
            _planner(
                "recon",
                "collect",
                "recon_done",
                bounds={"max_steps": 5, "max_phases": 2},
                budget={"max_llm_calls": 4, "max_cost_usd": 0.5, "max_tokens": 10_000},
            ),
            step("recon_done", "ok.noop", "recon", type="deferred_convergence"),
            _planner(
                "execute",
                "recon_done",
                "report",
                bounds={"max_steps": 8},
                budget={"max_llm_calls": 3, "max_cost_usd": 1.25},
            ),
            step("report", "ok.noop", "execute", type="deferred_convergence"),
        ],
        name="hierarchy",
    )
    if budget is None:
        return template
    data = template.model_dump(by_alias=True, exclude_unset=True)
    return TaskTemplate.model_validate({**data, "budget": budget})


def _text(renderable: RenderableType) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=220, color_system=None, highlight=False).print(renderable)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _ledger(engine: Engine, task: uuid.UUID, plan: Any, attempt: Any, **spent: Any) -> None:
    for resource, amount in spent.items():
        engine.execute(
            "INSERT INTO tasker.task_budget_entries (task_uuid, workflow_step_uuid,"
            " planning_attempt_uuid, resource, kind, amount) VALUES (%s, %s, %s, %s, 'commit', %s)",
            task,
            plan,
            attempt,
            resource,
            Decimal(str(amount)),
        )


def test_the_template_budget_caps_the_task_over_the_steps_sums(engine: Engine) -> None:
    summed = engine.submit(two_planners(), {}).task_uuid
    assert engine.task(summed)["budget_limits"] == {
        "steps": 18,
        "phases": 3,
        "llm_calls": 7,
        "tokens": 60_000,
        "cost_usd": 1.75,
        "wall_seconds": 600,
    }
    capped = engine.submit(
        two_planners({"max_steps": 12, "max_cost_usd": 1.0, "max_llm_calls": 5}), {"n": 2}
    ).task_uuid
    limits = engine.task(capped)["budget_limits"]
    assert (limits["steps"], limits["cost_usd"], limits["llm_calls"]) == (12, 1.0, 5)
    assert (limits["phases"], limits["tokens"]) == (3, 60_000)  # not given: the sums
    # what every planning step's reservation is checked against
    budget = read_budget(engine.store, capped, lock=False)
    assert budget.remaining("cost_usd") == Decimal("1.0")
    assert budget.remaining("steps") == 12


def test_report_budget_shows_each_planning_step_under_the_task(engine: Engine) -> None:
    task = engine.submit(two_planners({"max_cost_usd": 1.0}), {}).task_uuid
    steps = engine.steps(task)
    recon, execute = steps["recon"]["workflow_step_uuid"], steps["execute"]["workflow_step_uuid"]
    for number, cost in ((1, "0.0004"), (2, "0.0021")):
        attempt = record_planning_attempt(
            engine.store,
            recon,
            PlanningAttemptRecord(
                attempt=number, tokens_in=900, tokens_out=100, cost_usd=Decimal(cost)
            ),
        )
        _ledger(engine, task, recon, attempt, llm_calls=1, tokens=1000, cost_usd=cost)
    _ledger(engine, task, recon, attempt, steps=3, phases=1)  # the accepted fill
    attempt = record_planning_attempt(
        engine.store, execute, PlanningAttemptRecord(attempt=1, cost_usd=Decimal("0.3"))
    )
    _ledger(engine, task, execute, attempt, llm_calls=1, tokens=2000, cost_usd="0.3")

    budget = task_budget(engine.store, task)
    by_step = {view.step: view for view in budget.planning_steps}
    assert list(by_step) == ["recon", "execute"]
    recon_lines = {line.resource: line for line in by_step["recon"].lines}
    assert (by_step["recon"].attempts, by_step["recon"].fills) == (2, 1)
    assert recon_lines["cost_usd"].used == Decimal("0.0025")
    assert recon_lines["cost_usd"].limit == Decimal("0.5")
    assert recon_lines["steps"].limit == 10  # 5 steps for each of 2 phases
    assert (recon_lines["steps"].used, recon_lines["phases"].used) == (3, 1)
    execute_lines = {line.resource: line for line in by_step["execute"].lines}
    assert (execute_lines["cost_usd"].used, execute_lines["cost_usd"].limit) == (
        Decimal("0.3"),
        Decimal("1.25"),
    )
    assert (by_step["execute"].attempts, by_step["execute"].fills) == (1, 0)
    task_cost = next(line for line in budget.lines if line.resource == "cost_usd")
    assert (task_cost.used, task_cost.limit) == (Decimal("0.3025"), Decimal("1"))

    lines = planning_step_lines(budget)
    assert lines[0].startswith("recon: 3/10 steps, 2/4 calls, $0.0025/$0.50, 2,000/10,000 tokens")
    assert lines[0].endswith("(2 attempts, 1 fill; pending)")
    assert lines[1].startswith("execute: 0/8 steps, 1/3 calls, $0.30/$1.25")
    text = _text(budget_view(budget))
    assert "task: 3/18 steps, 3/7 calls, $0.3025/$1.00" in text
    assert "  recon: 3/10 steps" in text
    assert text.index("task: ") < text.index("  recon: ") < text.index("  execute: ")

    document = json.loads(document_json(BudgetDocument(budget=budget)))
    first = document["budget"]["planning_steps"][0]
    assert (first["step"], first["attempts"], first["fills"]) == ("recon", 2, 1)
    cost = next(x for x in first["lines"] if x["resource"] == "cost_usd")
    assert (cost["used"], cost["limit"]) == ("0.0025", "0.5")


def test_a_task_without_planning_steps_has_none_under_it(engine: Engine) -> None:
    task = engine.submit(make_template([step("only", "ok.noop")], name="plain"), {}).task_uuid
    budget = task_budget(engine.store, task)
    assert budget.planning_steps == []
    assert "no budget limits" in _text(budget_view(budget))


def test_a_planning_step_gets_at_most_its_own_bound_and_what_the_task_has_left(
    engine: Engine,
) -> None:
    from tasker_ctl.engine.errors import PlanningFailure
    from tasker_ctl.engine.rules.budget import planning_step_limits
    from tasker_ctl.engine.worker.planning_calls import plan_reservation
    from tasker_ctl.planning.planner import PlannerRequest
    from tasker_ctl.template.model import PlanningBlock

    # the task may make 20 calls; 'recon' itself only 4, 'execute' 3
    template = two_planners({"max_llm_calls": 20, "max_tokens": 100_000})
    task = engine.submit(template, {"n": 3}).task_uuid
    recon = engine.steps(task)["recon"]["workflow_step_uuid"]
    block = template.step("recon").planning  # type: ignore[union-attr]
    assert isinstance(block, PlanningBlock)
    _ledger(engine, task, recon, None, llm_calls=4, tokens=3000)
    budget = read_budget(
        engine.store, task, lock=False, step_uuid=recon, step_limits=planning_step_limits(block)
    )
    assert budget.remaining("llm_calls") == 0  # its own bound, though the task has 16 left
    assert budget.remaining("tokens") == 7000  # 10,000 of its own, less 3,000
    assert read_budget(engine.store, task, lock=False).remaining("llm_calls") == 16
    request = PlannerRequest(
        system="plan", prompt="goal", tool_schema={}, max_output_tokens=4096, timeout_seconds=60
    )
    with pytest.raises(PlanningFailure) as refused:
        plan_reservation(block, request, None, budget, [])
    assert refused.value.code == "PLANNING_BUDGET_EXHAUSTED"
    # the task's limit binds when it leaves less than the step's own bound
    capped = engine.submit(two_planners({"max_llm_calls": 2}), {"n": 4}).task_uuid
    capped_recon = engine.steps(capped)["recon"]["workflow_step_uuid"]
    _ledger(engine, capped, capped_recon, None, llm_calls=2)
    narrowed = read_budget(
        engine.store,
        capped,
        lock=False,
        step_uuid=capped_recon,
        step_limits=planning_step_limits(block),
    )
    assert narrowed.remaining("llm_calls") == 0
