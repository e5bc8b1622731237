"""``build_dag_view``: what exists at task start, who creates the rest, edge kinds, order."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasker_ctl.report.dag import Creator, DagView, build_dag_view
from tasker_ctl.template.model import StepType, TaskTemplate
from tasker_ctl.template.validator import load_template

# join is listed first on purpose: node order is topological, template order only breaks ties.
DIAMOND = """\
name: diamond
namespace_name: shapes
version: 1.0.0
steps:
  - name: join
    dependencies: [left, right]
    handler: {callable: shapes.Join}
  - name: start
    handler: {callable: shapes.Start}
  - name: right
    dependencies: [start]
    handler: {callable: shapes.Right}
  - name: left
    dependencies: [start]
    handler: {callable: shapes.Left}
"""

DECISION = """\
name: approval
namespace_name: approvals
version: 1.0.0
steps:
  - name: validate
    handler: {callable: approvals.Validate}
  - name: route
    type: decision
    dependencies: [validate]
    handler: {callable: approvals.Route}
  - name: finalize
    type: deferred_convergence
    dependencies: [auto_approve, manager_review]
    handler: {callable: approvals.Finalize}
  - name: auto_approve
    dependencies: [route]
    handler: {callable: approvals.AutoApprove}
  - name: manager_approval
    dependencies: [route]
    handler: {callable: approvals.ManagerApproval}
  - name: manager_review
    dependencies: [manager_approval]
    handler: {callable: approvals.ManagerReview}
  - name: audit
    dependencies: [validate]
    handler: {callable: approvals.Audit}
  - name: notify
    dependencies: [finalize]
    handler: {callable: approvals.Notify}
"""

BATCH = """\
name: csv_import
namespace_name: imports
version: 1.0.0
steps:
  - name: analyze
    type: batchable
    handler: {callable: imports.Analyze}
  - name: process_batch
    type: batch_worker
    dependencies: [analyze]
    handler: {callable: imports.ProcessBatch}
    batch_config:
      batch_size: 200
      parallelism: 4
      cursor_field: row
      worker_template: process_batch
      failure_strategy: continue_on_failure
  - name: aggregate
    type: deferred_convergence
    dependencies: [process_batch]
    handler: {callable: imports.Aggregate}
  - name: report
    dependencies: [aggregate]
    handler: {callable: imports.Report}
"""

PLANNING = """\
name: investigate
namespace_name: ops
version: 0.1.0
steps:
  - name: collect
    handler: {callable: ops.Collect}
  - name: plan
    type: planning
    dependencies: [collect]
    handler: {callable: ops.Plan}
    planning:
      goal: Find the cause.
      convergence: write_report
      context_from: [collect]
      bounds: {max_steps: 6, max_depth: 2}
      budget: {max_llm_calls: 2, max_cost_usd: 0.25}
      allowed_callables: ["ops.checks.*"]
  - name: write_report
    type: deferred_convergence
    dependencies: [plan]
    handler: {callable: ops.WriteReport}
  - name: archive
    dependencies: [collect]
    handler: {callable: ops.Archive}
"""


def view_of(text: str, tmp_path: Path) -> DagView:
    """Validate the template for real (so the examples stay valid) and build its view."""
    path = tmp_path / "template.yaml"
    path.write_text(text, encoding="utf-8")
    return build_dag_view(load_template(path))


def kinds(view: DagView) -> dict[tuple[str, str], str]:
    return {(edge.source, edge.target): edge.kind for edge in view.edges}


def test_diamond_is_all_static_and_topologically_ordered(tmp_path: Path) -> None:
    view = view_of(DIAMOND, tmp_path)
    assert [node.name for node in view.nodes] == ["start", "right", "left", "join"]
    assert view.roots == ["start"]
    assert view.template == "shapes/diamond@1.0.0"
    assert all(node.created_at_start and node.created_by is None for node in view.nodes)
    assert {node.name: node.level for node in view.nodes} == {
        "start": 0,
        "right": 1,
        "left": 1,
        "join": 2,
    }
    assert {node.name: node.index for node in view.nodes}["join"] == 0
    assert [(e.source, e.target, e.kind, e.dynamic) for e in view.edges] == [
        ("start", "right", "static", False),
        ("start", "left", "static", False),
        ("left", "join", "static", False),
        ("right", "join", "static", False),
    ]


def test_decision_descendants_are_created_by_the_decision(tmp_path: Path) -> None:
    view = view_of(DECISION, tmp_path)
    by_name = {node.name: node for node in view.nodes}
    made_by_route = Creator(kind="decision", step="route")
    assert [node.name for node in view.nodes] == [
        "validate",
        "route",
        "auto_approve",
        "manager_approval",
        "manager_review",
        "finalize",
        "audit",
        "notify",
    ]
    for name in ("validate", "route", "audit"):
        assert by_name[name].created_at_start, name
    for name in ("auto_approve", "manager_approval", "manager_review", "finalize", "notify"):
        assert not by_name[name].created_at_start, name
        assert by_name[name].created_by == made_by_route, name
    assert by_name["route"].creates == [
        "auto_approve",
        "manager_approval",
        "manager_review",
        "finalize",
        "notify",
    ]
    assert by_name["finalize"].convergence_of == ["auto_approve", "manager_review"]
    assert by_name["route"].convergence_of is None
    assert kinds(view) == {
        ("validate", "route"): "static",
        ("route", "auto_approve"): "decision_branch",
        ("route", "manager_approval"): "decision_branch",
        ("validate", "audit"): "static",
        ("manager_approval", "manager_review"): "decision_branch",
        ("auto_approve", "finalize"): "convergence",
        ("manager_review", "finalize"): "convergence",
        ("finalize", "notify"): "decision_branch",
    }
    dynamic = {(edge.source, edge.target) for edge in view.edges if edge.dynamic}
    assert dynamic == set(kinds(view)) - {("validate", "route"), ("validate", "audit")}


def test_batch_trio_spawns_workers_and_creates_the_convergence(tmp_path: Path) -> None:
    view = view_of(BATCH, tmp_path)
    analyze, worker, aggregate, report = view.nodes
    by_batch = Creator(kind="batch", step="analyze")
    assert analyze.created_at_start
    assert analyze.type is StepType.BATCHABLE
    assert analyze.creates == ["process_batch", "aggregate", "report"]
    assert (worker.created_at_start, worker.created_by) == (False, by_batch)
    assert worker.batch is not None
    assert worker.batch.instance_name == "process_batch_{batch_id}"
    assert (worker.batch.batch_size, worker.batch.parallelism) == (200, 4)
    assert worker.batch.failure_strategy == "continue_on_failure"
    assert (aggregate.created_at_start, aggregate.created_by) == (False, by_batch)
    assert aggregate.convergence_of == ["process_batch"]
    assert (report.created_at_start, report.created_by) == (False, by_batch)
    assert kinds(view) == {
        ("analyze", "process_batch"): "batch_spawn",
        ("process_batch", "aggregate"): "convergence",
        ("aggregate", "report"): "static",
    }
    assert all(edge.dynamic for edge in view.edges)


def test_planning_step_summary_and_its_convergence(tmp_path: Path) -> None:
    view = view_of(PLANNING, tmp_path)
    by_name = {node.name: node for node in view.nodes}
    # Kahn's order: a step comes as soon as it is ready, earlier-listed ready steps first.
    assert [node.name for node in view.nodes] == ["collect", "plan", "write_report", "archive"]
    plan = by_name["plan"]
    assert plan.created_at_start
    assert plan.planning is not None
    assert plan.planning.convergence == "write_report"
    assert plan.planning.goal == "Find the cause."
    assert (plan.planning.bounds.max_steps, plan.planning.bounds.max_depth) == (6, 2)
    assert plan.planning.budget.max_llm_calls == 2
    assert plan.planning.budget.max_cost_usd == 0.25
    assert plan.creates == ["write_report"]
    report = by_name["write_report"]
    assert report.created_by == Creator(kind="planning", step="plan")
    assert not report.created_at_start
    assert report.convergence_of == ["plan"]
    assert by_name["archive"].created_at_start
    assert kinds(view)[("plan", "write_report")] == "convergence"


def test_the_json_view_round_trips_with_from_and_to_keys(tmp_path: Path) -> None:
    view = view_of(DECISION, tmp_path)
    dumped = view.model_dump(mode="json", by_alias=True)
    assert set(dumped["edges"][0]) == {"from", "to", "kind", "dynamic"}
    assert DagView.model_validate(dumped) == view


@pytest.mark.parametrize("template_text", [DIAMOND, DECISION, BATCH, PLANNING])
def test_building_is_deterministic(template_text: str, tmp_path: Path) -> None:
    first = view_of(template_text, tmp_path)
    assert view_of(template_text, tmp_path).model_dump() == first.model_dump()


def test_unvalidated_templates_with_cycles_and_unknown_names_still_build() -> None:
    template = TaskTemplate.model_validate(
        {
            "name": "loop",
            "namespace_name": "bad",
            "version": "1",
            "steps": [
                {"name": "a", "handler": {"callable": "x"}, "dependencies": ["b", "ghost"]},
                {"name": "b", "handler": {"callable": "x"}, "dependencies": ["a"]},
                {"name": "c", "type": "deferred_convergence", "handler": {"callable": "x"}},
                {"name": "w", "type": "batch_worker", "handler": {"callable": "x"}},
            ],
        }
    )
    view = build_dag_view(template)
    assert [node.name for node in view.nodes] == ["c", "w", "a", "b"]
    assert view.roots == ["c", "w"]
    assert view.node("a") is not None
    assert view.node("ghost") is None
    # never created: no decision, batch or planning step upstream
    assert [(n.created_at_start, n.created_by) for n in view.nodes[:2]] == [(False, None)] * 2
    assert {(edge.source, edge.target) for edge in view.edges} == {("b", "a"), ("a", "b")}
