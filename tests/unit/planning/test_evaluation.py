"""The planner evaluation: the shipped suite and cassette give the figures they recorded, the
same twice; a planner that drops dependencies or renames handlers makes them fall; expected
properties are checked as the suite format says."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tasker_ctl.planning.cassette import ReplayPlanner
from tasker_ctl.planning.eval_suite import (
    Expectations,
    LoadedSuite,
    check_properties,
    load_suite,
)
from tasker_ctl.planning.evaluation import EvalReport, evaluate
from tasker_ctl.planning.planner import PlannerAnswer, PlannerRequest
from tasker_ctl.planning.validator import check_fragment

ROOT = Path(__file__).parents[3]
SUITE = ROOT / "evals" / "planner" / "suite.yaml"
CASSETTE = ROOT / "evals" / "planner" / "cassette.yaml"
REFUSED_HEADER = "## Your last answer was refused"


@pytest.fixture(scope="module")
def suite() -> LoadedSuite:
    return load_suite(SUITE)


@pytest.fixture(scope="module")
def replayed(suite: LoadedSuite) -> EvalReport:
    planner = ReplayPlanner(spec=f"replay:{CASSETTE}", path=CASSETTE)
    return evaluate(suite, planner, tiers=(1, 2), repairs=2, suite_name="suite.yaml")


def _sound_answers() -> Iterator[tuple[str, dict[str, Any]]]:
    """Each problem's sound answer, from the cases the cassette was recorded from."""
    sys.path.insert(0, str(SUITE.parent))
    try:
        from cases import CASES  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(SUITE.parent))
    for case in CASES:
        yield case.id, case.answer


class SoundPlanner:
    """Answers each problem with its sound fragment, repairs included: a new problem is a
    request without the repair header. ``corrupt`` changes every answer before it is sent."""

    provider = "test"
    model = "sound"
    spec = "test:sound"

    def __init__(self, corrupt: Callable[[dict[str, Any]], dict[str, Any]] | None = None):
        self._answers = [answer for _, answer in _sound_answers()]
        self._index = -1
        self._corrupt = corrupt or (lambda answer: answer)

    def propose(self, request: PlannerRequest) -> PlannerAnswer:
        if REFUSED_HEADER not in request.prompt:
            self._index = (self._index + 1) % len(self._answers)
        answer = self._corrupt(copy.deepcopy(self._answers[self._index]))
        return PlannerAnswer(
            text=json.dumps(answer),
            tokens_in=1000,
            tokens_out=100,
            provider="test",
            model="sound",
            latency_ms=0,
        )


def drop_dependencies(answer: dict[str, Any]) -> dict[str, Any]:
    for step in answer["steps"]:
        step.pop("dependencies", None)
    return answer


def rename_handlers(answer: dict[str, Any]) -> dict[str, Any]:
    for step in answer["steps"]:
        handler = step["handler"]
        if "callable" in handler:
            handler["callable"] = "made_up." + handler["callable"].rsplit(".", 1)[-1]
        elif "grammar" in handler:
            handler["grammar"] = handler["grammar"] + "_v2"
    return answer


# -- the shipped suite and cassette ----------------------------------------------------------


def test_the_shipped_suite_has_fifty_problems_on_its_templates(suite: LoadedSuite) -> None:
    assert len(suite.problems) >= 50
    templates = {loaded.problem.template for loaded in suite.problems}
    assert len(templates) >= 4


def test_the_shipped_cassette_gives_figures_that_are_not_all_perfect(
    replayed: EvalReport,
) -> None:
    one, two = replayed.tier(1), replayed.tier(2)
    assert one.problems == two.problems == 50
    assert one.valid_first_try_pct < two.valid_first_try_pct < 100.0
    assert one.valid_after_repairs_pct < 100.0
    assert two.valid_after_repairs_pct < 100.0
    assert one.mean_repair_rounds > two.mean_repair_rounds > 0
    assert one.property_pass_pct < 100.0
    assert sum(one.findings_by_stage.values()) > sum(two.findings_by_stage.values()) > 0
    assert one.tokens_in > 0
    assert one.tokens_out > 0
    assert float(one.cost_usd) > 0
    assert replayed.calibrated_tier == 1  # above 90 % valid after repairs already at tier 1


def test_the_same_suite_and_cassette_give_the_same_figures(
    suite: LoadedSuite, replayed: EvalReport
) -> None:
    again = evaluate(
        suite,
        ReplayPlanner(spec=f"replay:{CASSETTE}", path=CASSETTE),
        tiers=(1, 2),
        repairs=2,
        suite_name="suite.yaml",
    )
    assert again.model_dump() == replayed.model_dump()


def test_every_problem_reports_its_attempts_and_properties(replayed: EvalReport) -> None:
    by_id = {(p.id, p.tier): p for p in replayed.problems}
    failed = by_id[("incident-parallel-shipping", 2)]
    assert not failed.valid
    assert failed.repair_rounds == 2
    assert len(failed.attempts) == 3
    assert "FRAGMENT_NOT_JSON" in failed.attempts[1].codes
    missed = by_id[("research-known-salt", 1)]
    assert missed.valid
    assert not missed.properties_passed
    assert [v.name for v in missed.properties if not v.passed] == ["max_steps"]


# -- a planner made worse makes the figures fall ---------------------------------------------


def test_a_sound_planner_is_valid_everywhere_first_try(suite: LoadedSuite) -> None:
    report = evaluate(suite, SoundPlanner(), tiers=(2,), repairs=1)
    figures = report.tier(2)
    assert figures.valid_first_try_pct == 100.0
    assert figures.property_pass_pct == 100.0


def test_renamed_handlers_make_validity_fall(suite: LoadedSuite) -> None:
    report = evaluate(suite, SoundPlanner(rename_handlers), tiers=(2,), repairs=1)
    figures = report.tier(2)
    # only the fragments of no steps are left valid
    assert figures.valid_after_repairs_pct < 20.0
    assert figures.mean_repair_rounds > 0.8
    assert figures.findings_by_stage["2"] > 40


def test_dropped_dependencies_make_validity_and_properties_fall(suite: LoadedSuite) -> None:
    report = evaluate(suite, SoundPlanner(drop_dependencies), tiers=(2,), repairs=1)
    figures = report.tier(2)
    # a fragment's own convergence no longer met by its branches is refused
    assert figures.valid_first_try_pct < 100.0
    assert figures.findings_by_stage["5"] > 0
    # the others are flat where they should be ordered: their 'depends' fail
    assert figures.property_pass_pct < 60.0


# -- properties -------------------------------------------------------------------------------


def _accepted(suite: LoadedSuite, problem: str) -> Any:
    loaded = next(p for p in suite.problems if p.id == problem)
    answer = dict(_sound_answers())[problem]
    check = check_fragment(answer, loaded.frame)
    assert check.accepted
    assert check.fragment is not None
    return check


def test_properties_name_steps_by_name_or_handler_and_globs(suite: LoadedSuite) -> None:
    check = _accepted(suite, "incident-diamond-convergence")
    expect = Expectations(
        min_steps=4,
        max_steps=4,
        max_depth=3,
        convergence=True,
        uses_callables=["incident.checks.*", "incident.checks.check_deploys"],
        uses_patterns=["notify"],
        uses_composition=False,
        depends=[("query_logs", "notify"), ("incident.checks.*", "notify_oncall")],
        references=["${task.context.service}"],
        no_findings_of_stage=[3],
    )
    verdicts = check_properties(expect, check.fragment, check)
    assert [v.name for v in verdicts if not v.passed] == []
    assert len(verdicts) == 12


def test_properties_that_do_not_hold_say_what_was_found(suite: LoadedSuite) -> None:
    check = _accepted(suite, "incident-diamond-convergence")
    expect = Expectations(
        max_steps=2,
        convergence=False,
        uses_patterns=["http_request"],
        uses_composition=True,
        depends=[("notify_oncall", "query_logs")],
        references=["${task.context.incident_id}"],
    )
    failed = {v.name: v.detail for v in check_properties(expect, check.fragment, check)}
    assert failed == {
        "max_steps": "4 steps",
        "convergence": "convergence notify_oncall",
        "uses_patterns http_request": "used: notify",
        "uses_composition": "composition False",
        "depends notify_oncall -> query_logs": "by name or handler",
        "references ${task.context.incident_id}": "read: ${task.context.service}",
    }
