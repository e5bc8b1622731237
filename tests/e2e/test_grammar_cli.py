"""``tasker-ctl grammar`` and ``tasker-ctl composition`` as users run them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasker_ctl.grammar.capabilities import REGISTRY
from tasker_ctl.grammar.patterns import PATTERNS
from tests.conftest import PROJECT_ROOT
from tests.e2e.conftest import RunCli, assert_no_traceback

WORKFLOWS = (
    PROJECT_ROOT.parent / "shared/corpus/tasker-core/crates/tasker-grammar/tests/fixtures/workflows"
)
NAMES = ("payment_reconciliation", "ecommerce_order_processing", "customer_onboarding")
needs_corpus = pytest.mark.skipif(not WORKFLOWS.is_dir(), reason="corpus not available")


def test_grammar_list_names_every_capability_and_pattern(invoke_cli: RunCli) -> None:
    result = invoke_cli("grammar", "list", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [entry["name"] for entry in document["capabilities"]] == list(REGISTRY)
    assert {entry["name"] for entry in document["patterns"]} == set(PATTERNS)


def test_grammar_inspect_shows_fields_and_suggests_on_a_typo(run_cli: RunCli) -> None:
    shown = run_cli("grammar", "inspect", "persist")
    assert shown.returncode == 0, shown.stderr
    assert "identity" in shown.stdout
    assert "mutating" in shown.stdout
    typo = run_cli("grammar", "inspect", "persit")
    assert typo.returncode == 2
    assert "UNKNOWN_VOCABULARY" in typo.stderr
    assert "did you mean 'persist'" in typo.stderr
    assert_no_traceback(typo)


def test_grammar_document_tools_are_the_config_models_json_schemas(invoke_cli: RunCli) -> None:
    result = invoke_cli("grammar", "document", "--format", "tools")
    assert result.returncode == 0, result.stderr
    tools = {tool["name"]: tool for tool in json.loads(result.stdout)}
    for name, capability in REGISTRY.items():
        assert tools[name]["input_schema"] == capability.config_model.model_json_schema()
    for name, pattern in PATTERNS.items():
        assert tools[f"pattern_{name}"]["input_schema"] == pattern.params_model.model_json_schema()


def test_grammar_document_tiers_grow(invoke_cli: RunCli) -> None:
    sizes = [
        len(invoke_cli("grammar", "document", "--tier", str(tier)).stdout) for tier in (1, 2, 3)
    ]
    assert sizes[0] < sizes[1] < sizes[2]


@needs_corpus
@pytest.mark.parametrize("name", NAMES)
def test_the_tasker_core_workflows_validate_without_errors(invoke_cli: RunCli, name: str) -> None:
    result = invoke_cli(
        "composition", "validate", str(WORKFLOWS / f"{name}.yaml"), "--format", "json"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    findings = json.loads(result.stdout)["files"][0]["findings"]
    assert not [finding for finding in findings if finding["severity"] == "error"]
    assert "UNVERIFIABLE_OUTCOME" in {finding["code"] for finding in findings}


@needs_corpus
def test_explain_with_fixtures_gives_the_data_flow_they_describe(invoke_cli: RunCli) -> None:
    result = invoke_cli(
        "composition",
        "explain",
        str(WORKFLOWS / "payment_reconciliation.yaml"),
        "--fixtures",
        str(WORKFLOWS / "payment_reconciliation_fixtures.json"),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    trace = json.loads(result.stdout)
    outputs = [invocation["simulated_output"] for invocation in trace["invocations"]]
    assert outputs[3]["matched_count"] == 3
    assert outputs[3]["unmatched_count"] == 1
    assert outputs[3]["total_variance"] == pytest.approx(0.5)
    assert outputs[5]["status"] == "completed"
    failing = invoke_cli(
        "composition",
        "explain",
        str(WORKFLOWS / "payment_reconciliation.yaml"),
        "--fixtures",
        str(WORKFLOWS / "payment_reconciliation_fixtures.json"),
        "--case",
        "variance_exceeds_threshold",
    )
    assert failing.returncode == 1, failing.stderr  # the simulation of a failure case fails
    assert "failed" in failing.stdout


def test_composition_validate_reports_coded_findings_with_positions(
    invoke_cli: RunCli, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "outcome: {description: x, output_schema: {type: object}}\n"
        "invocations:\n"
        "  - capability: transfrom\n"
        "    config: {filter: '.'}\n"
        "  - capability: persist\n"
        "    config: {resource: db, data: {expression: '.prev'}}\n",
        encoding="utf-8",
    )
    result = invoke_cli("composition", "validate", str(bad))
    assert result.returncode == 1
    assert "MISSING_CAPABILITY" in result.stdout
    assert "did you mean 'transform'" in result.stdout
    assert "CHECKPOINT_REQUIRED" in result.stdout
    assert "bad.yaml:3" in result.stdout
    assert_no_traceback(result)


def test_explain_rejects_bad_sample_json_with_a_code(invoke_cli: RunCli) -> None:
    result = invoke_cli(
        "composition",
        "explain",
        str(PROJECT_ROOT / "examples/grammar/orders.yaml"),
        "--sample-context",
        "{not json",
    )
    assert result.returncode == 2
    assert "INVALID_SAMPLE_JSON" in result.stderr
    assert_no_traceback(result)


def test_explain_runs_the_example_composition_on_samples(invoke_cli: RunCli) -> None:
    deps = {
        "load_order": {
            "order_id": "A1",
            "lines": [{"sku": "x", "quantity": "2", "unit_price": 5}],
        }
    }
    result = invoke_cli(
        "composition",
        "explain",
        str(PROJECT_ROOT / "examples/grammar/orders.yaml"),
        "--step",
        "price_order",
        "--sample-context",
        json.dumps({"order_id": "A1", "discount_pct": 10}),
        "--sample-deps",
        json.dumps(deps),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    trace = json.loads(result.stdout)
    assert trace["invocations"][2]["simulated_output"]["total"] == pytest.approx(9.0)
    assert trace["failure"] is None
    assert trace["final_output"] == {"order_id": "A1", "total": 9, "event_uuid": "simulated-4"}
