"""``tasker-ctl template visualize`` as users run it: formats, -o, stdin, errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import RunCli, assert_no_traceback

# Shaped like the corpus's conditional approval template, with a batch path added.
APPROVAL = """\
name: approval_routing
namespace_name: conditional_approval
version: 1.0.0
description: Route a request by amount; batch large ones
steps:
  - name: validate_request
    handler: {callable: approvals.ValidateRequest}
  - name: routing_decision
    type: decision
    dependencies: [validate_request]
    handler: {callable: approvals.RoutingDecision}
  - name: finalize_approval
    type: deferred_convergence
    dependencies: [auto_approve, manager_approval, aggregate_reviews]
    handler: {callable: approvals.FinalizeApproval}
  - name: auto_approve
    dependencies: [routing_decision]
    handler: {callable: approvals.AutoApprove}
  - name: manager_approval
    dependencies: [routing_decision]
    handler: {callable: approvals.ManagerApproval}
  - name: split_reviews
    type: batchable
    dependencies: [routing_decision]
    handler: {callable: approvals.SplitReviews}
  - name: review_batch
    type: batch_worker
    dependencies: [split_reviews]
    handler: {callable: approvals.ReviewBatch}
    batch_config:
      batch_size: 10
      parallelism: 2
      cursor_field: id
      worker_template: review_batch
      failure_strategy: fail_fast
  - name: aggregate_reviews
    type: deferred_convergence
    dependencies: [review_batch]
    handler: {callable: approvals.AggregateReviews}
environments:
  test:
    steps:
      - name: ALL
        timeout_seconds: 10
"""

BROKEN = """\
name: approval_routing
namespace_name: conditional_approval
version: 1.0.0
steps:
  - name: validate_request
    handler: {callable: approvals.ValidateRequest}
  - name: routing_decision
    type: decision
    dependencies: [validate_requets]
    handler: {callable: approvals.RoutingDecision}
"""


@pytest.fixture
def approval(tmp_path: Path) -> Path:
    path = tmp_path / "approval.yaml"
    path.write_text(APPROVAL, encoding="utf-8")
    return path


def test_tree_is_the_default(run_cli: RunCli, approval: Path) -> None:
    result = run_cli("template", "visualize", str(approval))
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "conditional_approval/approval_routing@1.0.0"
    assert "routing_decision  ◆ decision" in result.stdout
    assert "auto_approve  (created by decision 'routing_decision')" in result.stdout
    assert "▤ batch_worker ×N at run time" in result.stdout
    assert "↳ finalize_approval (see above)" in result.stdout
    assert any(line.startswith("legend: ◆ decision") for line in lines)
    assert "\x1b[" not in result.stdout  # NO_COLOR is set by run_cli


@pytest.mark.parametrize(
    ("view_format", "expected"),
    [
        ("tree", "└── validate_request"),
        ("mermaid", 'routing_decision{"routing_decision<br/>decision"}:::decision'),
        ("dot", '"split_reviews" -> "review_batch" [style=dashed, label="×N"];'),
        ("json", '"kind": "batch_spawn"'),
    ],
    ids=["tree", "mermaid", "dot", "json"],
)
def test_every_format(invoke_cli: RunCli, approval: Path, view_format: str, expected: str) -> None:
    result = invoke_cli("template", "visualize", str(approval), "--format", view_format)
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
    assert result.stderr == ""


def test_mermaid_marks_dynamic_edges(invoke_cli: RunCli, approval: Path) -> None:
    result = invoke_cli("template", "visualize", str(approval), "-f", "mermaid")
    lines = result.stdout.splitlines()
    assert lines[0] == "graph TD"
    assert "    validate_request --> routing_decision" in lines
    assert "    routing_decision -.-> auto_approve" in lines
    assert '    split_reviews -.->|"×N"| review_batch' in lines


def test_json_output_is_parseable_and_documented(invoke_cli: RunCli, approval: Path) -> None:
    result = invoke_cli("template", "visualize", str(approval), "--format", "json", "-e", "test")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["format"] == "tasker-ctl.dag-view"
    nodes = {node["name"]: node for node in document["nodes"]}
    assert nodes["finalize_approval"]["created_by"] == {
        "kind": "decision",
        "step": "routing_decision",
    }
    assert nodes["aggregate_reviews"]["created_by"] == {"kind": "batch", "step": "split_reviews"}
    assert nodes["validate_request"]["created_at_start"] is True
    assert [node["name"] for node in document["nodes"]][:2] == [
        "validate_request",
        "routing_decision",
    ]


def test_output_file(invoke_cli: RunCli, approval: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "dag.mmd"
    target.parent.mkdir()
    result = invoke_cli("template", "visualize", str(approval), "-f", "mermaid", "-o", str(target))
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert target.read_text(encoding="utf-8").startswith("graph TD\n")
    assert "wrote the mermaid view" in result.stderr


def test_tree_to_a_file_is_plain_text(invoke_cli: RunCli, approval: Path, tmp_path: Path) -> None:
    target = tmp_path / "dag.txt"
    result = invoke_cli("template", "visualize", str(approval), "--output", str(target))
    assert result.returncode == 0, result.stderr
    text = target.read_text(encoding="utf-8")
    assert text.startswith("conditional_approval/approval_routing@1.0.0\n")
    assert "\x1b[" not in text


def test_unwritable_output_is_a_usage_error(
    invoke_cli: RunCli, approval: Path, tmp_path: Path
) -> None:
    target = tmp_path / "missing-dir" / "dag.dot"
    result = invoke_cli("template", "visualize", str(approval), "-f", "dot", "-o", str(target))
    assert_no_traceback(result)
    assert result.returncode == 2
    assert "error[USAGE_ERROR]: cannot write" in result.stderr


def test_stdin(invoke_cli: RunCli) -> None:
    result = invoke_cli("template", "visualize", "-", "--format", "dot", input=APPROVAL)
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('digraph "conditional_approval/approval_routing@1.0.0" {')


def test_invalid_template_exits_1_with_findings(invoke_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    result = invoke_cli("template", "visualize", str(path))
    assert_no_traceback(result)
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"{path}:9:" in result.stderr
    assert "validate_requets" in result.stderr
    assert "error[TEMPLATE_INVALID]" in result.stderr
    assert "hint:" in result.stderr


def test_invalid_template_on_stdin(invoke_cli: RunCli) -> None:
    result = invoke_cli("template", "visualize", "-", input="steps: [\n")
    assert_no_traceback(result)
    assert result.returncode == 1
    assert "<stdin>:" in result.stderr
    assert "YAML_SYNTAX" in result.stderr


def test_missing_file_exits_2(run_cli: RunCli) -> None:
    result = run_cli("template", "visualize", "no-such-template.yaml")
    assert_no_traceback(result)
    assert result.returncode == 2
    assert result.stderr.startswith("error[PATH_NOT_FOUND]: 'no-such-template.yaml' does not exist")


def test_directory_exits_2(invoke_cli: RunCli, tmp_path: Path) -> None:
    result = invoke_cli("template", "visualize", str(tmp_path))
    assert_no_traceback(result)
    assert result.returncode == 2
    assert "error[USAGE_ERROR]" in result.stderr


def test_undeclared_environment_exits_2(invoke_cli: RunCli, approval: Path) -> None:
    result = invoke_cli("template", "visualize", str(approval), "-e", "tset")
    assert_no_traceback(result)
    assert result.returncode == 2
    assert "error[UNKNOWN_ENVIRONMENT]" in result.stderr
    assert "test" in result.stderr  # the hint suggests the declared one


def test_unknown_format_is_a_usage_error(invoke_cli: RunCli, approval: Path) -> None:
    result = invoke_cli("template", "visualize", str(approval), "--format", "svg")
    assert_no_traceback(result)
    assert result.returncode == 2


def test_json_flag_is_format_json(invoke_cli: RunCli, approval: Path) -> None:
    flag = invoke_cli("template", "visualize", str(approval), "--json")
    assert flag.returncode == 0, flag.stderr
    assert flag.stdout == invoke_cli("template", "visualize", str(approval), "-f", "json").stdout
    both = invoke_cli("template", "visualize", str(approval), "--json", "-f", "dot")
    assert both.returncode == 2
    assert "--json and --format dot" in both.stderr
