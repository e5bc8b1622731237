"""The planning prompt: what it holds, in what order, and that the same inputs give the same
bytes."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from tasker_ctl.grammar.document import RULES
from tasker_ctl.planning.context_plan import DefaultContextPolicy, plan_input
from tasker_ctl.planning.context_summary import SUMMARY_LIMIT, VERBATIM_LIMIT
from tasker_ctl.planning.fragment_schema import fragment_json_schema
from tasker_ctl.planning.planner import canonical_json, prompt_hash
from tasker_ctl.planning.prompt import (
    PROMPT_VERSION,
    SINGLE_MUTATION_RULE,
    TIER2_LIMIT,
    capabilities_text,
)
from tests.unit.planning.prompt_template import research_prompt, research_template


def test_the_prompt_holds_goal_context_upstream_vocabulary_bounds_and_examples(
    tmp_path: Path,
) -> None:
    built = research_prompt(research_template(tmp_path))
    text = built.request.prompt
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings == [
        "Goal",
        "Instructions",
        "Task context",
        "Results of earlier steps",
        "What the fragment may use",
        "Bounds",
        "Examples",
        "Answer",
    ]
    assert "Decide which sources to fetch" in text
    assert "Prefer few steps." in text
    assert '{"region":"Assam","topic":"tea"}' in text  # the context whole, keys sorted
    assert 'result: {"items":[{"id":1}]}' in text  # a small result verbatim
    assert 'result_schema: {"properties":{"items"' in text  # so references can name fields
    assert "allowed: lab.fetch, lab.store" in text
    assert "fetch_and_validate:" in text
    assert "transform_and_persist:" in text
    assert "'report' runs after the fragment" in text
    assert "must not name a step of the frame: gather, plan_work, report" in text
    assert "- cost_usd: no limit\n- llm_calls: 2 left\n- tokens: 40000 left" in text
    assert "Example fragment 1: {" in text
    assert "propose_fragment" in built.request.system


def test_the_request_carries_the_narrowed_schema_and_the_step_s_limits(tmp_path: Path) -> None:
    built = research_prompt(research_template(tmp_path))
    assert built.request.tool_schema == fragment_json_schema(
        ["lab.fetch", "lab.store"], ["fetch_and_validate", "transform_and_persist"], True
    )
    assert built.request.max_output_tokens == 4096
    assert built.request.timeout_seconds == 60.0
    assert built.version == PROMPT_VERSION


def test_the_same_inputs_give_the_same_bytes_and_hashes(tmp_path: Path) -> None:
    template = research_template(tmp_path)
    first, second = research_prompt(template), research_prompt(template)
    assert first == second
    assert first.prompt_hash == prompt_hash(first.request.system, first.request.prompt)
    assert (
        first.capability_hash
        == hashlib.sha256(
            (first.capability_text + "\0" + canonical_json(first.request.tool_schema)).encode()
        ).hexdigest()
    )


def test_no_tasker_internals_reach_the_model(tmp_path: Path) -> None:
    built = research_prompt(research_template(tmp_path))
    text = (built.request.system + built.request.prompt).lower()
    for internal in ("pgmq", "queue", "transaction", "workflow_steps", "ledger", "postgres"):
        assert internal not in text


def test_tier_one_always_has_names_one_line_each_and_the_rules() -> None:
    text = capabilities_text(["lab.fetch"], ["fetch_and_validate"], dynamic=True)
    for rule in RULES:
        assert rule in text
    assert SINGLE_MUTATION_RULE in text
    assert "- persist (persist, mutating):" in text


def test_tier_two_adds_schemas_patterns_first_while_they_fit() -> None:
    text = capabilities_text([], ["fetch_and_validate", "notify"], dynamic=True)
    assert len(text.encode()) <= TIER2_LIMIT
    assert "- grammar fetch_and_validate: config {" in text
    assert "- grammar notify: config {" in text
    left_out = re.search(r"\(left out for size, [^:]+: (.+)\)$", text)
    assert left_out is not None  # the capabilities' schemas do not all fit
    for name in left_out.group(1).split(", "):
        assert f"- capability {name}:" not in text


def test_without_dynamic_composition_no_capability_is_offered() -> None:
    text = capabilities_text(["lab.fetch"], ["notify"], dynamic=False)
    assert "capability" not in text
    assert "{composition:" not in text
    assert "- grammar notify: config {" in text


def test_a_large_result_is_summarized_keeping_its_shape(tmp_path: Path) -> None:
    result = {"items": [{"id": i, "title": "t" * 50} for i in range(500)], "note": "x" * 3000}
    built = research_prompt(research_template(tmp_path), upstream={"gather": result})
    assert "result (structured summary of " in built.request.prompt
    assert '"<array>":500' in built.request.prompt
    assert built.context_inputs[1]["strategy"] == "structured"


@pytest.mark.parametrize(
    "value",
    [
        {"rows": [{"a": i, "b": "y" * 300} for i in range(1000)]},
        {f"key{i}": "v" * 200 for i in range(500)},
        ["z" * 5000] * 50,
        {"deep": [[[[[[[[{"k": "v" * 2000}]]]]]]]]},
        "s" * 100_000,
    ],
)
def test_summaries_are_bounded_and_say_what_was_elided(value: object) -> None:
    policy = DefaultContextPolicy(summarize_max_bytes=10**7)
    item = plan_input("gather", value, None, policy, summarize=False)
    assert item.strategy == "structured"
    assert item.bytes_before > VERBATIM_LIMIT
    assert item.note is not None
    assert "elided" in item.note
    assert item.text is not None
    assert item.bytes_after == len(item.text.encode())
    assert item.bytes_after <= SUMMARY_LIMIT
    json.loads(item.text)  # a summary is JSON: a planner reads it like the result


def test_a_small_result_is_shown_whole() -> None:
    item = plan_input("gather", {"b": 1, "a": [1, 2]}, None, DefaultContextPolicy())
    assert (item.text, item.strategy) == ('{"a":[1,2],"b":1}', "verbatim")
