"""A planner evaluated on a suite of problems, tier by tier, with no database.

For each tier and each problem: the prompt is built as a planning step builds it (with the
vocabulary at that tier), the planner answers, ``check_answer`` judges the answer against the
problem's frame, a refused answer is repaired up to ``repairs`` times with ``repair_request``,
and an accepted fragment is held to the problem's expected properties. The figures are
counts, percentages, tokens and exact costs: the same suite and the same cassette give the
same figures. Latency is kept apart (``timing``), as it is the one figure a live model never
repeats.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.planning.errors import PlannerCallFailed
from tasker_ctl.planning.eval_suite import (
    LoadedProblem,
    LoadedSuite,
    PropertyVerdict,
    check_properties,
)
from tasker_ctl.planning.planner import Planner, PlannerAnswer
from tasker_ctl.planning.validator import FragmentCheck

if TYPE_CHECKING:
    from tasker_ctl.planning.prompt import PlanningPrompt

CALIBRATION_THRESHOLD = 90.0
"""The share of valid answers (after repairs) a tier must pass for a model to be calibrated
to it: the smallest such tier is the least detail the model needs."""
TIERS = (1, 2, 3)
STAGES = tuple(str(stage) for stage in range(1, 10))

_CLOSED = ConfigDict(extra="forbid", frozen=True)


class AttemptFigures(BaseModel):
    """One answer: whether it was accepted, its findings' codes, what it used."""

    model_config = _CLOSED

    attempt: int
    accepted: bool
    codes: list[str]
    tokens_in: int | None
    tokens_out: int | None
    cost_usd: str | None


class ProblemFigures(BaseModel):
    """One problem at one tier."""

    model_config = _CLOSED

    id: str
    tier: int
    valid_first_try: bool
    valid: bool
    repair_rounds: int
    properties_passed: bool
    properties: list[PropertyVerdict]
    findings_by_stage: dict[str, int]
    tokens_in: int
    tokens_out: int
    cost_usd: str
    error: str | None = None
    attempts: list[AttemptFigures]


class TierFigures(BaseModel):
    """A tier's figures over every problem."""

    model_config = _CLOSED

    tier: int
    problems: int
    valid_first_try: int
    valid_first_try_pct: float
    valid_after_repairs: int
    valid_after_repairs_pct: float
    mean_repair_rounds: float
    properties_passed: int
    property_pass_pct: float
    findings_by_stage: dict[str, int]
    call_errors: int
    tokens_in: int
    tokens_out: int
    cost_usd: str


class Timing(BaseModel):
    """Latency, apart from the figures: a live model never repeats it."""

    model_config = _CLOSED

    latency_ms_by_tier: dict[str, int]


class EvalReport(BaseModel):
    """What ``tasker-ctl planner eval`` reports."""

    model_config = _CLOSED

    suite: str
    planner: str
    tiers: list[int]
    repairs: int
    calibrated_tier: int | None = Field(
        description=f"the smallest tier with more than {CALIBRATION_THRESHOLD:g} % valid "
        "after repairs (None: none)"
    )
    figures: list[TierFigures]
    problems: list[ProblemFigures]
    timing: Timing

    def tier(self, tier: int) -> TierFigures:
        return next(figures for figures in self.figures if figures.tier == tier)


def evaluate(
    suite: LoadedSuite,
    planner: Planner,
    *,
    tiers: Sequence[int] = (1, 2),
    repairs: int = 2,
    suite_name: str | None = None,
) -> EvalReport:
    """Ask ``planner`` every problem of ``suite`` at each tier (tiers in the order given,
    problems in the suite's order: the order a cassette records). A failed model call is that
    problem's ``error``; a cassette that does not fit the suite stops the evaluation
    (``CassetteError``)."""
    problems: list[ProblemFigures] = []
    latency: dict[str, int] = {}
    for tier in tiers:
        spent = 0
        for loaded in suite.problems:
            figures, milliseconds = _run_problem(loaded, planner, tier, repairs)
            spent += milliseconds
            problems.append(figures)
        latency[str(tier)] = spent
    by_tier = [_tier_figures(tier, [p for p in problems if p.tier == tier]) for tier in tiers]
    calibrated = next(
        (
            figures.tier
            for figures in sorted(by_tier, key=lambda f: f.tier)
            if figures.valid_after_repairs_pct > CALIBRATION_THRESHOLD
        ),
        None,
    )
    return EvalReport(
        suite=suite_name if suite_name is not None else str(suite.path),
        planner=planner.spec,
        tiers=list(tiers),
        repairs=repairs,
        calibrated_tier=calibrated,
        figures=by_tier,
        problems=problems,
        timing=Timing(latency_ms_by_tier=latency),
    )


def _run_problem(
    loaded: LoadedProblem, planner: Planner, tier: int, repairs: int
) -> tuple[ProblemFigures, int]:
    from tasker_ctl.planning.prompt import repair_request
    from tasker_ctl.planning.validator import check_answer

    prompt = problem_prompt(loaded, tier)
    request = prompt.request
    attempts: list[AttemptFigures] = []
    stages: Counter[str] = Counter()
    check: FragmentCheck | None = None
    error: str | None = None
    latency = 0
    for number in range(1, repairs + 2):
        try:
            answer = planner.propose(request)
        except PlannerCallFailed as failure:
            error = f"{failure.code}: {failure.message}"
            break
        latency += answer.latency_ms
        check = check_answer(answer.text, loaded.frame, source=f"{loaded.id} attempt {number}")
        stages.update(str(finding.stage) for finding in check.findings)
        attempts.append(_attempt(number, answer, check, loaded))
        if check.accepted:
            break
        request = repair_request(prompt, answer.text, list(check.findings))
    valid = check is not None and check.accepted and check.fragment is not None
    verdicts: list[PropertyVerdict] = []
    if valid and check is not None and check.fragment is not None:
        verdicts = check_properties(loaded.problem.expect, check.fragment, check)
    costs = [Decimal(a.cost_usd) for a in attempts if a.cost_usd is not None]
    figures = ProblemFigures(
        id=loaded.id,
        tier=tier,
        valid_first_try=bool(attempts) and attempts[0].accepted,
        valid=valid,
        repair_rounds=max(0, len(attempts) - 1),
        properties_passed=valid and all(verdict.passed for verdict in verdicts),
        properties=verdicts,
        findings_by_stage=dict(sorted(stages.items())),
        tokens_in=sum(a.tokens_in or 0 for a in attempts),
        tokens_out=sum(a.tokens_out or 0 for a in attempts),
        cost_usd=str(sum(costs, Decimal(0))),
        error=error,
        attempts=attempts,
    )
    return figures, latency


def problem_prompt(loaded: LoadedProblem, tier: int) -> PlanningPrompt:
    """The first request of ``loaded`` at ``tier``, as a planning step would build it."""
    from tasker_ctl.planning.eval_suite import problem_callables
    from tasker_ctl.planning.prompt import build_prompt

    block = loaded.frame.block
    max_steps = block.bounds.max_steps
    if loaded.problem.remaining_steps is not None:
        max_steps = min(max_steps, loaded.problem.remaining_steps)
    return build_prompt(
        template=loaded.template,
        step=loaded.problem.step,
        context=loaded.context,
        upstream={name: loaded.problem.upstream.get(name) for name in block.context_from},
        callables=problem_callables(loaded),
        patterns=list(block.allowed_patterns),
        remaining=dict(loaded.problem.budget_left),
        max_steps=max_steps,
        max_depth=block.bounds.max_depth,
        tiers=tuple(range(1, tier + 1)),
    )


def _attempt(
    number: int, answer: PlannerAnswer, check: FragmentCheck, loaded: LoadedProblem
) -> AttemptFigures:
    return AttemptFigures(
        attempt=number,
        accepted=check.accepted,
        codes=[finding.code for finding in check.findings],
        tokens_in=answer.tokens_in,
        tokens_out=answer.tokens_out,
        cost_usd=_cost(answer, loaded),
    )


def _cost(answer: PlannerAnswer, loaded: LoadedProblem) -> str | None:
    """What the answer cost: as recorded (a cassette), else priced as a planning step prices
    a model's call (the template's override, else genai-prices); None when unknown."""
    if answer.cost_usd is not None:
        return str(answer.cost_usd)
    if answer.tokens_in is None:
        return None
    from tasker_ctl.planning.pricing import cost, find_price

    price = find_price(answer.provider, answer.model, loaded.frame.block.price)
    return None if price is None else str(cost(price, answer.tokens_in, answer.tokens_out or 0))


def _tier_figures(tier: int, problems: list[ProblemFigures]) -> TierFigures:
    count = len(problems)
    first = sum(1 for p in problems if p.valid_first_try)
    valid = sum(1 for p in problems if p.valid)
    passed = sum(1 for p in problems if p.properties_passed)
    stages: Counter[str] = Counter()
    for problem in problems:
        stages.update(problem.findings_by_stage)
    return TierFigures(
        tier=tier,
        problems=count,
        valid_first_try=first,
        valid_first_try_pct=_pct(first, count),
        valid_after_repairs=valid,
        valid_after_repairs_pct=_pct(valid, count),
        mean_repair_rounds=round(sum(p.repair_rounds for p in problems) / count, 2)
        if count
        else 0.0,
        properties_passed=passed,
        property_pass_pct=_pct(passed, count),
        findings_by_stage={stage: stages.get(stage, 0) for stage in STAGES},
        call_errors=sum(1 for p in problems if p.error is not None),
        tokens_in=sum(p.tokens_in for p in problems),
        tokens_out=sum(p.tokens_out for p in problems),
        cost_usd=str(sum((Decimal(p.cost_usd) for p in problems), Decimal(0))),
    )


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0
