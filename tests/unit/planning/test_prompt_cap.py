"""The prompt cap: a planning prompt stays within ``planning.context.prompt_max_tokens`` by
``worst_case_input_tokens``, shrinking in the documented order (tier 2 schemas, examples,
inputs made references), saying each reduction; the context inputs are shown as their strategy
says; a prompt whose fixed parts alone do not fit is refused with a code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tasker_ctl.planning.context_plan import (
    TASK_CONTEXT,
    DefaultContextPolicy,
    plan_context,
    summarized,
)
from tasker_ctl.planning.context_summary import canonical
from tasker_ctl.planning.errors import PlanningPromptTooLarge
from tasker_ctl.planning.findings import fragment_finding
from tasker_ctl.planning.prompt import REPAIR_GROWTH, PlanningPrompt, build_prompt, repair_request
from tasker_ctl.template.model import TaskTemplate
from tests.unit.planning.prompt_template import research_template

CONTEXT = {"topic": "tea", "region": "Assam"}
# about 6.6 KB: a structured summary of some 3 KB, which a reference shrinks to 250 bytes
ITEMS = {f"field_{i:02}": "v" * 150 for i in range(40)}


def _prompt(
    template: TaskTemplate,
    policy: DefaultContextPolicy | None,
    *,
    context: Any = None,
    upstream: dict[str, Any] | None = None,
    inputs: Any = None,
) -> PlanningPrompt:
    return build_prompt(
        template=template,
        step="plan_work",
        context=CONTEXT if context is None else context,
        upstream={"gather": ITEMS} if upstream is None else upstream,
        callables=["lab.fetch", "lab.store"],
        patterns=["fetch_and_validate", "transform_and_persist"],
        remaining={"tokens": 40_000},
        max_steps=10,
        max_depth=3,
        context_inputs=inputs,
        policy=policy,
    )


def test_without_a_cap_in_reach_nothing_is_reduced(tmp_path: Path) -> None:
    built = _prompt(research_template(tmp_path), DefaultContextPolicy(prompt_max_tokens=10**6))
    assert built.reductions == ()
    assert "Example fragment 1:" in built.request.prompt
    assert [item["strategy"] for item in built.context_inputs] == ["verbatim", "structured"]


def test_the_default_cap_leaves_out_tier_two_schemas_first(tmp_path: Path) -> None:
    # with dynamic composition the capability schemas alone are about 15 KB
    built = _prompt(research_template(tmp_path), None)
    assert built.request.worst_case_input_tokens() <= 16_000
    assert [reduction.split(":")[0] for reduction in built.reductions] == [
        "capability schemas (tier 2) cut"
    ]
    assert "(left out for size, follow the names and rules above:" in built.request.prompt
    assert "Example fragment 1:" in built.request.prompt


def _stage(reduction: str) -> int:
    for stage, start in enumerate(("capability schemas", "examples left out", "'")):
        if reduction.startswith(start):
            return stage
    raise AssertionError(reduction)


def test_tighter_caps_reduce_in_the_documented_order_until_the_fixed_parts_do_not_fit(
    tmp_path: Path,
) -> None:
    template = research_template(tmp_path)
    cap = _prompt(template, DefaultContextPolicy(prompt_max_tokens=10**6)).request
    seen: set[tuple[str, ...]] = set()
    tokens = cap.worst_case_input_tokens()
    smallest = None
    while True:
        tokens -= 300
        policy = DefaultContextPolicy(prompt_max_tokens=tokens)
        try:
            built = _prompt(template, policy)
        except PlanningPromptTooLarge:
            break
        assert built.request.worst_case_input_tokens() <= tokens
        stages = [_stage(reduction) for reduction in built.reductions]
        assert stages == sorted(stages), built.reductions
        seen.add(built.reductions)
        smallest = built
    with pytest.raises(PlanningPromptTooLarge) as refused:
        _prompt(template, policy)
    assert refused.value.code == "PLANNING_PROMPT_TOO_LARGE"
    assert refused.value.max_tokens == tokens
    assert refused.value.needed_tokens > tokens
    assert "every context input a reference" in refused.value.message
    assert smallest is not None
    built = smallest
    # the smallest prompt that fitted had every reduction, the larger input made a reference
    # first, each input saying so in its note
    assert built.reductions[-1] == "'gather' made a reference"
    [context, gather] = built.context_inputs
    assert context["strategy"] == "verbatim"  # its reference would be no smaller
    assert gather["strategy"] == "reference"
    assert "made a reference to keep the prompt within" in gather["note"]
    assert "(1 examples left out for size)" in built.request.prompt
    assert len(seen) >= 4


def test_repairs_of_a_capped_prompt_stay_within_the_growth_bound(tmp_path: Path) -> None:
    first = _prompt(research_template(tmp_path), None)
    findings = [
        fragment_finding("FRAGMENT_SCHEMA_INVALID", "detail " * 30, source="answer", path=("x",))
        for _ in range(25)
    ]
    repair = repair_request(first, "{" + "x" * 50_000, findings)
    assert first.request.worst_case_input_tokens() <= 16_000
    assert repair.size <= REPAIR_GROWTH * first.request.size
    assert repair.worst_case_input_tokens() <= REPAIR_GROWTH * 16_000


def test_inputs_are_shown_as_their_strategy_says(tmp_path: Path) -> None:
    template = research_template(tmp_path)
    policy = DefaultContextPolicy(prompt_max_tokens=10**6)
    summarizable = {"rows": [{"n": i, "text": "r" * 100} for i in range(200)]}  # 23,900 bytes
    context = {"topic": "tea", "huge": "h" * 200_000}
    inputs = plan_context({TASK_CONTEXT: context, "gather": summarizable}, {}, policy)
    assert inputs[0].schema is None  # the prompt fills it from the template
    assert [item.strategy for item in inputs] == ["reference", "summarize"]
    done = [inputs[0], summarized(inputs[1], "200 rows numbered 0 to 199.", policy)]
    built = _prompt(
        template, policy, context=context, upstream={"gather": summarizable}, inputs=done
    )
    prompt = built.request.prompt
    assert "(a reference: the steps you plan read it whole)\ninput_schema: {" in prompt
    assert f"kept in the database: {len(canonical(context))} bytes, sample {{" in prompt
    assert "result (summarized by a model from 23900 bytes): 200 rows numbered" in prompt
    assert "): 200 rows numbered 0 to 199." in prompt
    assert [item["strategy"] for item in built.context_inputs] == ["reference", "summarize"]


def test_an_input_never_summarized_is_given_as_a_reference(tmp_path: Path) -> None:
    template = research_template(tmp_path)
    policy = DefaultContextPolicy(prompt_max_tokens=10**6)
    value = {"rows": ["r" * 100] * 200}
    inputs = plan_context({"gather": value}, {}, policy)
    built = _prompt(template, policy, upstream={"gather": value}, inputs=inputs)
    [context, gather] = built.context_inputs
    assert (context["strategy"], gather["strategy"]) == ("verbatim", "reference")
    assert "not summarized: given as a reference" in gather["note"]


def test_the_step_s_policy_is_read_from_its_planning_block(tmp_path: Path) -> None:
    template = research_template(tmp_path)
    planning = template.step("plan_work").planning  # type: ignore[union-attr]
    policy = getattr(planning, "context", None)
    if policy is None:
        pytest.skip("this template model has no planning.context")
    assert policy.prompt_max_tokens == 16_000
    built = _prompt(template, None)
    assert built.request.worst_case_input_tokens() <= policy.prompt_max_tokens
