"""The prompt's vocabulary tiers, as the planner evaluation compares them: 1 names only,
2 the allowed schemas within the section's cap, 3 every schema and the examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasker_ctl.planning.context_plan import DefaultContextPolicy
from tasker_ctl.planning.prompt import PlanningPrompt, build_prompt
from tasker_ctl.template.model import TaskTemplate
from tests.unit.planning.prompt_template import research_template


def _prompt(
    template: TaskTemplate, tiers: tuple[int, ...], policy: DefaultContextPolicy | None = None
) -> PlanningPrompt:
    return build_prompt(
        template=template,
        step="plan_work",
        context={"topic": "tea"},
        upstream={"gather": {"items": []}},
        callables=["lab.fetch", "lab.store"],
        patterns=["fetch_and_validate", "transform_and_persist"],
        remaining={},
        max_steps=10,
        max_depth=3,
        tiers=tiers,
        policy=policy,
    )


def test_each_tier_adds_to_the_one_before(tmp_path: Path) -> None:
    template = research_template(tmp_path, dynamic=False)
    # room for every tier whole: the cap's own reductions are test_prompt_cap.py's
    roomy = DefaultContextPolicy(prompt_max_tokens=64_000)
    one, two, three = (_prompt(template, tiers, roomy) for tiers in ((1,), (1, 2), (1, 2, 3)))
    assert "allowed: lab.fetch, lab.store" in one.capability_text
    assert "Schemas:" not in one.capability_text
    assert two.capability_text.startswith(one.capability_text)
    assert "- grammar fetch_and_validate: config {" in two.capability_text
    assert three.capability_text.startswith(two.capability_text)
    assert "- example of fetch_and_validate: [" in three.capability_text
    assert len(one.request.prompt) < len(two.request.prompt) < len(three.request.prompt)
    # the tool schema is the same whatever the tier: a cassette's answers fit every tier
    assert one.request.tool_schema == two.request.tool_schema == three.request.tool_schema


def test_tier_two_is_the_default(tmp_path: Path) -> None:
    template = research_template(tmp_path)
    default = build_prompt(
        template=template,
        step="plan_work",
        context={"topic": "tea"},
        upstream={"gather": {"items": []}},
        callables=["lab.fetch", "lab.store"],
        patterns=["fetch_and_validate", "transform_and_persist"],
        remaining={},
        max_steps=10,
        max_depth=3,
    )
    assert default.prompt_hash == _prompt(template, (1, 2)).prompt_hash


def test_tier_three_has_no_section_cap_only_the_prompt_s(tmp_path: Path) -> None:
    template = research_template(tmp_path, dynamic=True)
    three = _prompt(template, (1, 2, 3))
    # the prompt's own cap (planning.context.prompt_max_tokens) still holds at tier 3
    assert three.request.worst_case_input_tokens() <= 16000
    assert "- example of transform:" in three.capability_text


@pytest.mark.parametrize("tiers", [(), (0,), (1, 4)])
def test_an_unknown_tier_is_refused(tmp_path: Path, tiers: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="tiers are among 1, 2 and 3"):
        _prompt(research_template(tmp_path), tiers)
