"""``tasker-ctl planner eval``: the shipped suite and cassette offline, its figures in text and
JSON; a run recorded against a model server replays to the same figures; the
exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.e2e.conftest import RunCli, assert_no_traceback
from tests.openai_server import OpenAIServer

ROOT = Path(__file__).parents[2]
EVALS = ROOT / "evals" / "planner"
SUITE = EVALS / "suite.yaml"
REPLAY = "replay:cassette.yaml"  # found beside the suite


def test_the_shipped_suite_gives_its_figures_in_text_and_json(invoke_cli: RunCli) -> None:
    # the same figures on every run: tests/unit/planning/test_evaluation.py evaluates twice
    text = invoke_cli("planner", "eval", str(SUITE), "--model", REPLAY)
    assert text.returncode == 0, text.stderr
    assert_no_traceback(text)
    first = text.stdout
    assert "valid first try             34.0 % (17)    80.0 % (40)" in first
    assert "valid after <= 2 repairs    96.0 % (48)    98.0 % (49)" in first
    assert "calibration: tier 1 is the least detail with more than 90 % valid" in first
    # docs/planner-eval.md states these figures of the shipped cassette
    page = " ".join((ROOT / "docs" / "planner-eval.md").read_text(encoding="utf-8").split())
    assert "tier 1 is 34 % valid first try and 96 % after repairs, tier 2 80 % and 98 %" in page
    report = json.loads(
        invoke_cli("planner", "eval", str(SUITE), "--model", REPLAY, "--json").stdout
    )
    assert report["tiers"] == [1, 2]
    assert report["repairs"] == 2
    assert [f["valid_after_repairs_pct"] for f in report["figures"]] == [96.0, 98.0]
    assert len(report["problems"]) == 100  # every problem at each tier
    tier1 = report["figures"][0]
    # the text shows what the JSON holds
    assert f"{tier1['tokens_in']}" in first
    assert tier1["cost_usd"] in first


def test_min_valid_fails_a_tier_below_it(invoke_cli: RunCli) -> None:
    # tier 1 alone: 96 % valid after repairs
    tier_one = ("planner", "eval", str(SUITE), "--model", REPLAY, "--tiers", "1")
    below = invoke_cli(*tier_one, "--min-valid", "97")
    assert below.returncode == 1, below.stderr
    above = invoke_cli(*tier_one, "--min-valid", "95")
    assert above.returncode == 0, above.stderr


def test_a_run_recorded_against_a_model_server_replays_the_same(
    invoke_cli: RunCli, tmp_path: Path
) -> None:
    shutil.copytree(EVALS / "templates", tmp_path / "templates")
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "format: tasker-planner-eval\nversion: 1\nproblems:\n"
        "  - id: nothing\n    template: templates/research.yaml\n    step: plan_lookup\n"
        "    context: {topic: tea}\n    expect: {max_steps: 0}\n",
        encoding="utf-8",
    )
    empty = json.dumps(
        {
            "fragment_version": "1.0",
            "planning_context": {
                "goal": "g",
                "reasoning": "r",
                "estimated_steps": 0,
                "estimated_depth": 0,
            },
            "steps": [],
        }
    )
    cassette = tmp_path / "recorded.yaml"
    script = [{"text": "I would fetch the topic first."}, {"tool_arguments": empty}]
    with OpenAIServer(script) as server:
        recorded = invoke_cli(
            "planner", "eval", str(suite), "--model", server.spec("gpt-4.1-mini"),
            "--tiers", "1", "--record", str(cassette), "--json",
        )  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    replayed = invoke_cli(
        "planner", "eval", str(suite), "--model", f"replay:{cassette}", "--tiers", "1", "--json"
    )
    live, again = json.loads(recorded.stdout), json.loads(replayed.stdout)
    assert live["figures"] == again["figures"]
    assert live["figures"][0]["valid_first_try"] == 0
    assert live["figures"][0]["valid_after_repairs"] == 1
    assert live["figures"][0]["findings_by_stage"]["1"] == 1  # the text: FRAGMENT_NOT_JSON


def test_usage_errors_exit_2(invoke_cli: RunCli, tmp_path: Path) -> None:
    bad_tiers = invoke_cli("planner", "eval", str(SUITE), "--model", REPLAY, "--tiers", "1,4")
    assert bad_tiers.returncode == 2
    assert "--tiers '1,4'" in bad_tiers.stderr
    (tmp_path / "bad.yaml").write_text("format: tasker-planner-eval\nversion: 1\nproblems: 3\n")
    bad_suite = invoke_cli("planner", "eval", str(tmp_path / "bad.yaml"), "--model", REPLAY)
    assert bad_suite.returncode == 2
    assert "error[EVAL_SUITE_INVALID]" in bad_suite.stderr
    assert "bad.yaml:3" in bad_suite.stderr
    no_cassette = invoke_cli("planner", "eval", str(SUITE), "--model", "replay:nowhere.yaml")
    assert no_cassette.returncode == 2
    assert "CASSETTE_INVALID" in no_cassette.stderr
    for result in (bad_tiers, bad_suite, no_cassette):
        assert_no_traceback(result)


def test_a_cassette_replayed_with_other_repairs_stops_with_a_mismatch(
    invoke_cli: RunCli,
) -> None:
    # recorded with up to 2 repairs: with none, the answers shift onto other problems until
    # one lands on another template's step, whose fragment schema differs
    result = invoke_cli("planner", "eval", str(SUITE), "--model", REPLAY, "--repairs", "0")
    assert result.returncode == 2
    assert "error[CASSETTE_MISMATCH]" in result.stderr
    assert_no_traceback(result)
