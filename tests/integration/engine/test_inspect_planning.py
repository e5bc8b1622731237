"""The read side of planning on rows as the engine writes them: a planning step's attempts
(answered and rejected, failed, interrupted, accepted), its ledger entries naming them, and
the planned steps of the accepted fragment. ``inspect task --planning|--fragment`` and
``report budget`` show them in text and JSON from the same models."""

from __future__ import annotations

import io
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from rich.console import Console, RenderableType

from tasker_ctl.engine.views.budget import task_budget
from tasker_ctl.engine.views.inspection import inspect_task
from tasker_ctl.engine.views.inspection_layers import (
    PlanningAttemptRecord,
    record_planning_attempt,
)
from tasker_ctl.engine.views.planning_layers import fragment_layer, planning_layer
from tasker_ctl.engine.views.task_report import task_report
from tasker_ctl.report.budget_view import budget_sentence, budget_view
from tasker_ctl.report.inspect_json import (
    BudgetDocument,
    FragmentDocument,
    PlanningDocument,
    document_json,
)
from tasker_ctl.report.inspect_layers_view import fragment_view, planning_view
from tasker_ctl.report.run_json import build_output
from tests.integration.engine.conftest import Engine, make_template, step

PLANNED = make_template(
    [
        step("collect", "ok.noop"),
        step(
            "plan_investigation",
            "ok.noop",
            "collect",
            type="planning",
            planning={
                "convergence": "report",
                "goal": "find the cause",
                "bounds": {"max_steps": 5, "max_phases": 2},
                "budget": {"max_llm_calls": 5, "max_cost_usd": 1.0, "max_tokens": 20000},
                "allowed_callables": ["ok.*"],
            },
        ),
        step("report", "ok.noop", "plan_investigation", type="deferred_convergence"),
    ],
    name="planned_read_side",
)
LONG_ANSWER = '{"fragment_version": "1.0", "steps": [' + ", ".join(["{}"] * 200) + "]}"
FRAGMENT = {
    "fragment_version": "1.0",
    "planning_context": {
        "goal": "find why checkout fails",
        "reasoning": "logs first, then the database",
        "estimated_steps": 2,
        "estimated_depth": 2,
    },
    "steps": [
        {"name": "check_logs", "handler": {"callable": "ok.noop"}},
        {"name": "check_db", "handler": {"grammar": "query"}, "dependencies": ["check_logs"]},
    ],
}


def _text(renderable: RenderableType) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None, highlight=False).print(renderable)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _ledger(engine: Engine, task: uuid.UUID, step: Any, attempt: Any, *entries: Any) -> None:
    for resource, kind, amount in entries:
        engine.execute(
            "INSERT INTO tasker.task_budget_entries (task_uuid, workflow_step_uuid,"
            " planning_attempt_uuid, resource, kind, amount) VALUES (%s, %s, %s, %s, %s, %s)",
            task,
            step,
            attempt,
            resource,
            kind,
            amount,
        )


def _planned_step(engine: Engine, task: uuid.UUID, plan: Any, name: str, **row: Any) -> Any:
    named = engine.one(
        "INSERT INTO tasker.named_steps (name) VALUES (%s) RETURNING named_step_uuid",
        f"{task}:{name}",
    )["named_step_uuid"]
    return engine.one(
        "INSERT INTO tasker.workflow_steps (task_uuid, named_step_uuid, name,"
        " template_step_name, namespace_name, idempotency_key, created_by, origin_step_uuid,"
        " planning_step_uuid, fragment_id, planning_phase, planning_reasoning, handler_type,"
        " composition_source, inputs, step_definition)"
        " VALUES (%s, %s, %s, %s, 'test', %s, 'planning_step', %s, %s, 'f-1', 1, %s, %s, %s,"
        " %s::jsonb, %s::jsonb) RETURNING workflow_step_uuid",
        task,
        named,
        name,
        name,
        f"{task}:{name}",
        plan,
        plan,
        row["reasoning"],
        row["handler_type"],
        row.get("composition_source"),
        json.dumps(row["inputs"]),
        json.dumps(row["definition"]),
    )["workflow_step_uuid"]


@pytest.fixture
def planned(engine: Engine) -> uuid.UUID:
    """A task whose planner was rejected once, failed once, was interrupted once and then
    accepted a two-step fragment, hung between the planning step and ``report``."""
    task = engine.submit(PLANNED, {}).task_uuid
    plan = engine.steps(task)["plan_investigation"]["workflow_step_uuid"]
    common = {"planner": "openai:gpt-4o-mini", "provider": "openai", "model": "gpt-4o-mini"}
    common |= {"prompt_version": "v1", "prompt_hash": "a" * 64, "capability_schema_hash": "b" * 64}
    reserved = {"llm_calls": Decimal(1), "tokens": Decimal(6000), "cost_usd": Decimal("0.0036")}
    rejected = record_planning_attempt(
        engine.store,
        plan,
        PlanningAttemptRecord(
            attempt=1,
            **common,
            prompt="You are a workflow planner. Goal: find the cause.",
            capability_text="ok.noop: does nothing",
            answer=LONG_ANSWER,
            findings=[
                {
                    "code": "FRAGMENT_CALLABLE_NOT_ALLOWED",
                    "severity": "error",
                    "stage": 6,
                    "step": "check_disk",
                    "path": "$.steps[0].handler.callable",
                    "message": "'fs.check' is not among the allowed callables",
                    "hint": "use one of: ok.*",
                }
            ],
            tokens_in=1200,
            tokens_out=340,
            latency_ms=950,
            cost_usd=Decimal("0.000384"),
            reserved=reserved,
            prices_version="2025-01",
        ),
    )
    failed = record_planning_attempt(
        engine.store,
        plan,
        PlanningAttemptRecord(
            attempt=2, status="failed", error="provider timed out", reserved=reserved, **common
        ),
    )
    interrupted = record_planning_attempt(
        engine.store,
        plan,
        PlanningAttemptRecord(
            attempt=3,
            status="interrupted",
            error="the worker stopped during the call",
            tokens_in=5000,
            tokens_out=1000,
            cost_usd=Decimal("0.0036"),
            usage_estimated=True,
            reserved=reserved,
            **common,
        ),
    )
    accepted = record_planning_attempt(
        engine.store,
        plan,
        PlanningAttemptRecord(
            attempt=4,
            accepted=True,
            fragment_id="f-1",
            fragment=FRAGMENT,
            answer=json.dumps(FRAGMENT),
            tokens_in=1000,
            tokens_out=200,
            latency_ms=700,
            cost_usd=Decimal("0.0003"),
            reserved=reserved,
            **common,
        ),
    )
    for attempt, spent in (
        (rejected, {"tokens": 1540, "cost_usd": Decimal("0.000384")}),
        (failed, {}),
        (interrupted, {"tokens": 6000, "cost_usd": Decimal("0.0036")}),
        (accepted, {"tokens": 1200, "cost_usd": Decimal("0.0003")}),
    ):
        _ledger(engine, task, plan, attempt, *[(r, "reserve", a) for r, a in reserved.items()])
        spent = {"llm_calls": 1, **spent}
        _ledger(engine, task, plan, attempt, *[(r, "commit", a) for r, a in spent.items()])
        rest = {r: a - Decimal(spent.get(r, 0)) for r, a in reserved.items()}
        _ledger(engine, task, plan, attempt, *[(r, "release", a) for r, a in rest.items() if a])
    _ledger(engine, task, plan, accepted, ("steps", "commit", 2), ("phases", "commit", 1))
    logs = _planned_step(
        engine,
        task,
        plan,
        "check_logs",
        reasoning="errors show up in the logs first",
        handler_type="application",
        inputs={"since": "task_context.incident.started_at"},
        definition={"name": "check_logs", "handler": {"callable": "ok.noop"}},
    )
    db = _planned_step(
        engine,
        task,
        plan,
        "check_db",
        reasoning="then the database",
        handler_type="grammar",
        composition_source="query",
        inputs={"errors": "step_result.check_logs.errors"},
        definition={"name": "check_db", "handler": {"callable": "grammar:query"}},
    )
    report = engine.steps(task)["report"]["workflow_step_uuid"]
    for parent, child in ((plan, logs), (logs, db), (db, report)):
        engine.execute(
            "INSERT INTO tasker.workflow_step_edges (from_step_uuid, to_step_uuid) VALUES (%s, %s)",
            parent,
            child,
        )
    return task


def test_planning_shows_every_attempt_with_status_usage_and_findings(
    engine: Engine, planned: uuid.UUID
) -> None:
    layer = planning_layer(engine.store, inspect_task(engine.store, planned))
    (view,) = layer.planning_steps
    assert [(a.attempt, a.status, a.accepted) for a in view.attempts] == [
        (1, "answered", False),
        (2, "failed", False),
        (3, "interrupted", False),
        (4, "answered", True),
    ]
    assert view.fragment_id == "f-1"
    assert view.planned_steps == ["check_logs", "check_db"]
    first = view.attempts[0]
    assert first.cost_usd == Decimal("0.000384")
    assert first.findings[0].stage == 6
    assert first.answer_chars == len(LONG_ANSWER)
    assert first.answer is None  # without --full
    assert first.prompt is None
    text = _text(planning_view(layer))
    assert "attempt 1 (phase 1)  answered  rejected  planner openai:gpt-4o-mini" in text
    assert "model openai/gpt-4o-mini" in text
    assert "tokens 1,200 in / 340 out, latency 950 ms, cost $0.000384" in text
    assert "prompt v1, hash aaaaaaaaaaaa, capabilities hash bbbbbbbbbbbb, prices 2025-01" in text
    assert (
        "error[FRAGMENT_CALLABLE_NOT_ALLOWED] stage 6 step check_disk at "
        "$.steps[0].handler.callable: 'fs.check' is not among the allowed callables"
    ) in text
    assert "hint: use one of: ok.*" in text
    assert f"answer ({len(LONG_ANSWER):,} characters)" in text
    assert "more characters; --full shows them)" in text
    assert "attempt 2 (phase 1)  failed" in text
    assert "error: provider timed out" in text
    assert "tokens 5,000 in / 1,000 out (estimated)" in text
    assert "cost $0.0036 (estimated)" in text
    assert (
        "the worker stopped during the call: its reservation (1 call, 6,000 tokens, "
        "$0.0036) was counted as spent"
    ) in text
    assert "attempt 4 (phase 1)  answered  accepted" in text
    assert "accepted fragment: f-1" in text
    assert "You are a workflow planner" not in text


def test_full_gives_prompt_capabilities_and_answer_whole(
    engine: Engine, planned: uuid.UUID
) -> None:
    layer = planning_layer(engine.store, inspect_task(engine.store, planned), full=True)
    first = layer.planning_steps[0].attempts[0]
    assert first.answer == LONG_ANSWER
    text = _text(planning_view(layer))
    assert "You are a workflow planner. Goal: find the cause." in text
    assert "ok.noop: does nothing" in text
    assert "".join(LONG_ANSWER.split()) in "".join(text.split())  # wrapped, but whole
    assert "--full shows them" not in text


def test_the_planning_document_pins_its_keys(engine: Engine, planned: uuid.UUID) -> None:
    layer = planning_layer(engine.store, inspect_task(engine.store, planned))
    document = json.loads(document_json(PlanningDocument(planning=layer)))
    assert list(document) == ["version", "tool", "view", "planning"]
    assert list(document["planning"]) == ["task_uuid", "task", "full", "planning_steps", "empty"]
    step_view = document["planning"]["planning_steps"][0]
    assert list(step_view) == [
        "step",
        "state",
        "goal",
        "convergence",
        "bounds",
        "budget",
        "attempts",
        "fragment_id",
        "planned_steps",
        "note",
    ]
    first = step_view["attempts"][0]
    assert list(first) == [
        "planning_attempt_uuid",
        "attempt",
        "planning_phase",
        "purpose",
        "status",
        "planner",
        "provider",
        "model",
        "accepted",
        "fragment_id",
        "tokens_in",
        "tokens_out",
        "usage_estimated",
        "latency_ms",
        "cost_usd",
        "prices_version",
        "prompt_version",
        "prompt_hash",
        "capability_schema_hash",
        "reserved",
        "error",
        "findings",
        "context_inputs",
        "answer_chars",
        "answer_excerpt",
        "started_at",
        "finished_at",
        "prompt",
        "capability_text",
        "answer",
    ]
    assert first["cost_usd"] == "0.000384"
    assert first["reserved"] == {"llm_calls": "1", "tokens": "6000", "cost_usd": "0.0036"}
    assert list(first["findings"][0]) == [
        "code",
        "severity",
        "stage",
        "step",
        "path",
        "message",
        "hint",
    ]
    assert step_view["attempts"][2]["usage_estimated"] is True


CONTEXT_INPUTS = [
    {
        "name": "task.context",
        "strategy": "verbatim",
        "bytes_before": 42,
        "bytes_after": 42,
        "note": None,
    },
    {
        "name": "collect",
        "strategy": "summarize",
        "bytes_before": 52_000,
        "bytes_after": 900,
        "note": "summarized by a model call from 52000 bytes to 900",
    },
    {
        "name": "archive",
        "strategy": "reference",
        "bytes_before": 10_485_760,
        "bytes_after": 120,
        "note": "10485760 bytes, over 102400: kept in the database",
    },
]


def test_planning_shows_each_attempt_s_purpose_and_context_inputs(
    engine: Engine, planned: uuid.UUID
) -> None:
    plan = engine.steps(planned)["plan_investigation"]["workflow_step_uuid"]
    summary = record_planning_attempt(
        engine.store,
        plan,
        PlanningAttemptRecord(
            planning_phase=2,
            attempt=5,
            provider="openai",
            model="gpt-4o-mini",
            answer="52,000 bytes of log lines: 3 errors, all timeouts",
            tokens_in=13_000,
            tokens_out=200,
        ),
    )
    engine.execute(
        "UPDATE tasker.planning_attempts SET purpose = 'summarize',"
        " context_inputs = %s::jsonb WHERE planning_attempt_uuid = %s",
        json.dumps([CONTEXT_INPUTS[1] | {"bytes_after": 0, "note": "to be summarized"}]),
        summary,
    )
    engine.execute(
        "UPDATE tasker.planning_attempts SET context_inputs = %s::jsonb"
        " WHERE task_uuid = %s AND attempt = 4",
        json.dumps([*CONTEXT_INPUTS, {"name": "odd", "strategy": "guessed"}, "not an object"]),
        planned,
    )
    layer = planning_layer(engine.store, inspect_task(engine.store, planned))
    attempts = {a.attempt: a for a in layer.planning_steps[0].attempts}
    assert [a.purpose for a in attempts.values()] == ["plan"] * 4 + ["summarize"]
    assert attempts[1].context_inputs == []  # an attempt written before inputs were recorded
    accepted = attempts[4]
    assert [
        (i.name, i.strategy, i.bytes_before, i.bytes_after) for i in accepted.context_inputs
    ] == [
        ("task.context", "verbatim", 42, 42),
        ("collect", "summarize", 52_000, 900),
        ("archive", "reference", 10_485_760, 120),
    ]
    text = _text(planning_view(layer))
    assert (
        "attempt 5 (phase 2, a summary for the prompt)  answered  model openai/gpt-4o-mini" in text
    )
    assert "attempt 5 (phase 2, a summary for the prompt)  answered  accepted" not in text
    assert "input collect: summarize, 52,000 -> 0 bytes (to be summarized)" in text
    assert "input task.context: verbatim, 42 -> 42 bytes\n" in text
    assert (
        "input collect: summarize, 52,000 -> 900 bytes (summarized by a model call from 52000 "
        "bytes to 900)"
    ) in text
    assert (
        "input archive: reference, 10,485,760 -> 120 bytes (10485760 bytes, over 102400: kept "
        "in the database)"
    ) in text
    document = json.loads(document_json(PlanningDocument(planning=layer)))
    stored = document["planning"]["planning_steps"][0]["attempts"]
    assert stored[3]["context_inputs"] == CONTEXT_INPUTS
    assert stored[4]["purpose"] == "summarize"
    assert stored[4]["context_inputs"][0]["strategy"] == "summarize"


def test_fragments_show_their_steps_inputs_and_where_they_hang(
    engine: Engine, planned: uuid.UUID
) -> None:
    layer = fragment_layer(engine.store, inspect_task(engine.store, planned))
    (fragment,) = layer.fragments
    assert (fragment.fragment_id, fragment.planning_step, fragment.accepted_attempt) == (
        "f-1",
        "plan_investigation",
        4,
    )
    assert fragment.goal == "find why checkout fails"
    assert fragment.convergence == "report"
    assert [(e.source, e.target, e.kind) for e in fragment.edges] == [
        ("plan_investigation", "check_logs", "entry"),
        ("check_logs", "check_db", "internal"),
        ("check_db", "report", "exit"),
    ]
    logs, db = fragment.steps
    assert (logs.handler, logs.handler_type, logs.state) == ("ok.noop", "application", "pending")
    assert (db.handler, db.handler_type, db.composition_source) == (
        "grammar:query",
        "grammar",
        "query",
    )
    assert db.dependencies == ["check_logs"]
    assert db.inputs == {"errors": "step_result.check_logs.errors"}
    assert fragment.document is None
    text = _text(fragment_view(layer))
    assert "fragment f-1  planned by plan_investigation (phase 1, attempt 4)" in text
    assert "goal: find why checkout fails" in text
    assert "reasoning: logs first, then the database" in text
    rows = [" ".join(line.split()) for line in text.splitlines()]
    assert "check_db pending grammar:query (query) grammar check_logs" in rows
    assert "  check_db: then the database\n    errors ← step_result.check_logs.errors\n" in text
    assert "enters: plan_investigation → check_logs" in text
    assert "leads into: check_db → report" in text
    assert "  check_logs: errors show up in the logs first" in text
    full = fragment_layer(engine.store, inspect_task(engine.store, planned), full=True)
    assert full.fragments[0].document == FRAGMENT
    document = json.loads(document_json(FragmentDocument(fragment=full)))
    assert list(document["fragment"]["fragments"][0]) == [
        "fragment_id",
        "planning_step",
        "planning_phase",
        "accepted_attempt",
        "goal",
        "reasoning",
        "convergence",
        "steps",
        "edges",
        "document",
    ]
    assert list(document["fragment"]["fragments"][0]["steps"][0]) == [
        "name",
        "state",
        "step_type",
        "handler",
        "handler_type",
        "composition_source",
        "dependencies",
        "inputs",
        "planning_reasoning",
    ]
    assert document["fragment"]["fragments"][0]["edges"][0] == {
        "from": "plan_investigation",
        "to": "check_logs",
        "kind": "entry",
    }


def test_a_step_that_has_not_planned_yet_says_so(engine: Engine) -> None:
    task = engine.submit(PLANNED, {"fresh": True}).task_uuid
    overview = inspect_task(engine.store, task)
    layer = planning_layer(engine.store, overview)
    assert layer.planning_steps[0].note == "has not planned yet (it is pending)"
    assert "plan_investigation has not planned yet (it is pending)" in _text(planning_view(layer))
    fragments = fragment_layer(engine.store, overview)
    assert fragments.empty == (
        "no fragment has been accepted and materialized yet ('plan_investigation' is pending)"
    )


def test_the_budget_adds_up_exactly_and_reads_as_the_first_class_metric(
    engine: Engine, planned: uuid.UUID
) -> None:
    budget = task_budget(engine.store, planned)
    lines = {line.resource: line for line in budget.lines}
    assert lines["cost_usd"].used == Decimal("0.004284")  # 0.000384 + 0.0036 + 0.0003
    assert lines["cost_usd"].reserved == 0
    assert lines["llm_calls"].used == 4  # every call counts, the failed one too
    assert lines["tokens"].used == 1540 + 6000 + 1200
    assert (lines["steps"].used, lines["phases"].used) == (2, 1)
    assert budget_sentence(budget.lines) == (
        "2/10 steps, 4/5 calls, $0.004284/$1.00, 8,740/20,000 tokens, 1/2 phases, "
        "0/300 s planning time"
    )
    assert not budget.in_flight
    entry = next(e for e in budget.entries if e.planning_attempt == 3)
    assert entry.step == "plan_investigation"
    document = json.loads(document_json(BudgetDocument(budget=budget)))
    cost = next(x for x in document["budget"]["lines"] if x["resource"] == "cost_usd")
    assert (cost["used"], cost["limit"], cost["remaining"]) == ("0.004284", "1", "0.995716")
    text = _text(budget_view(budget))
    assert "$0.004284/$1.00" in text
    assert "plan_investigation #3" in text


def test_a_call_in_flight_shows_its_open_reservation(engine: Engine) -> None:
    task = engine.submit(PLANNED, {"calling": True}).task_uuid
    plan = engine.steps(task)["plan_investigation"]["workflow_step_uuid"]
    reserved = {"llm_calls": Decimal(1), "tokens": Decimal(6000), "cost_usd": Decimal("0.0036")}
    attempt = record_planning_attempt(
        engine.store,
        plan,
        PlanningAttemptRecord(status="calling", provider="openai", model="m", reserved=reserved),
    )
    _ledger(engine, task, plan, attempt, *[(r, "reserve", a) for r, a in reserved.items()])
    budget = task_budget(engine.store, task)
    (flight,) = budget.in_flight
    assert (flight.step, flight.attempt, flight.model) == ("plan_investigation", 1, "openai/m")
    assert flight.reserved == reserved
    assert budget_sentence(budget.lines).startswith(
        "0/10 steps, 0/5 calls (+1 reserved), $0.00/$1.00 (+$0.0036 reserved), "
        "0/20,000 tokens (+6,000 reserved)"
    )
    text = _text(budget_view(budget))
    assert "in flight: plan_investigation attempt 1 (openai/m) since" in text
    assert "reserved 1 call, 6,000 tokens, $0.0036" in text
    layer = planning_layer(engine.store, inspect_task(engine.store, task))
    assert "calling; reserved 1 call, 6,000 tokens, $0.0036" in _text(planning_view(layer))


def test_the_task_report_names_each_planned_steps_planner_and_carries_the_budget(
    engine: Engine, planned: uuid.UUID
) -> None:
    report = task_report(engine.store, planned)
    steps = {step.name: step for step in report.steps}
    assert (steps["check_db"].planning_step, steps["check_db"].fragment_id) == (
        "plan_investigation",
        "f-1",
    )
    assert steps["check_db"].handler_type == "grammar"
    assert steps["collect"].planning_step is None
    assert {line.resource: line.used for line in report.budget}["cost_usd"] == Decimal("0.004284")
    output = build_output(report)
    assert output.budget is not None
    assert output.budget.startswith("2/10 steps, 4/5 calls, $0.004284/$1.00")
    unplanned = engine.submit(make_template([step("only", "ok.noop")], name="plain"), {})
    assert task_report(engine.store, unplanned.task_uuid).budget == []
