"""Context between phases: each input of a planning prompt gets its strategy by size (verbatim,
structured summary, a model's summary, a reference), says how it was reduced, and stays bounded
however large the value."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tasker_ctl.planning.context_plan import (
    REFERENCE_SAMPLE_BYTES,
    STRATEGIES,
    STRUCTURED_SHARE,
    TASK_CONTEXT,
    ContextInput,
    DefaultContextPolicy,
    context_policy,
    plan_context,
    plan_input,
    structured_limit,
    summarization_request,
    summarized,
)
from tasker_ctl.planning.context_summary import MAX_KEYS, canonical, json_excerpt, json_size
from tasker_ctl.planning.prompt import build_prompt
from tests.unit.planning.prompt_template import research_template

POLICY = DefaultContextPolicy()


def _string_of(size: int) -> str:
    """A string whose JSON (quotes included) is ``size`` bytes."""
    return "x" * (size - 2)


@pytest.mark.parametrize(
    ("size", "strategy"),
    [
        (POLICY.verbatim_max_bytes, "verbatim"),
        (POLICY.verbatim_max_bytes + 1, "structured"),
        (POLICY.summary_max_bytes, "structured"),
        (POLICY.summary_max_bytes + 1, "summarize"),
        (POLICY.summarize_max_bytes, "summarize"),
        (POLICY.summarize_max_bytes + 1, "reference"),
    ],
)
def test_each_strategy_at_its_boundaries(size: int, strategy: str) -> None:
    value = {"v": _string_of(size - len('{"v":}'))}
    assert len(canonical(value).encode()) == size
    item = plan_input("gather", value, None, POLICY)
    assert (item.strategy, item.bytes_before) == (strategy, size)
    if strategy == "verbatim":
        assert item.text == canonical(value)
        assert item.note is None
    elif strategy == "summarize":
        assert (item.text, item.bytes_after) == (None, 0)
        assert item.note is not None
        assert "to be summarized by a model call" in item.note
    else:
        assert item.text is not None
        assert item.bytes_after == len(item.text.encode())
        assert item.bytes_after < size
        assert item.note is not None


def test_without_a_model_the_summarize_band_gets_a_structured_summary() -> None:
    value = {"v": _string_of(POLICY.summary_max_bytes * 2)}
    item = plan_input("gather", value, None, POLICY, summarize=False)
    assert item.strategy == "structured"
    assert item.note is not None
    assert "no model to summarize it" in item.note


def test_a_structured_summary_keeps_every_declared_key_and_says_what_was_elided() -> None:
    declared = [f"declared_{i:02}" for i in range(MAX_KEYS + 15)]
    value: dict[str, Any] = {name: {"rows": list(range(50)), "tag": "y" * 100} for name in declared}
    value |= {f"other_{i:02}": "z" * 40 for i in range(60)}
    value["nested"] = {"inner": [{"keep": 1, "drop": "w" * 300}] * 30, "noise": "n" * 500}
    schema = {
        "type": "object",
        "properties": {
            **{name: {"type": "object"} for name in declared},
            "nested": {
                "type": "object",
                "properties": {
                    "inner": {"type": "array", "items": {"properties": {"keep": {}}}},
                },
            },
        },
    }
    policy = DefaultContextPolicy(summarize_max_bytes=10**6, summary_max_bytes=10**5)
    item = plan_input("gather", value, schema, policy, summarize=False)
    assert item.strategy == "structured"
    assert item.text is not None
    summary = json.loads(item.text)
    assert set(declared) | {"nested"} <= set(summary)
    assert "inner" in summary["nested"]
    assert "<elided>" in summary  # the undeclared keys past the limit are counted, not dropped
    assert item.note is not None
    assert "elided" in item.note
    assert item.bytes_after <= structured_limit(policy)


def test_a_reference_holds_the_size_and_a_small_sample() -> None:
    value = {"items": [{"id": i, "body": "b" * 200} for i in range(1000)]}
    item = plan_input("gather", value, {"type": "object"}, POLICY)
    assert item.strategy == "reference"
    assert item.text is not None
    assert item.text.startswith(f"kept in the database: {item.bytes_before} bytes, sample ")
    assert item.bytes_after <= REFERENCE_SAMPLE_BYTES + 60
    assert '"<array>":1000' in item.text
    assert item.schema == {"type": "object"}
    assert item.note is not None
    assert "kept in the database" in item.note


def test_the_stored_form_names_strategy_and_sizes() -> None:
    [item] = plan_context({TASK_CONTEXT: {"a": 1}}, {TASK_CONTEXT: None}, POLICY)
    assert item.as_json() == {
        "name": "task.context",
        "strategy": "verbatim",
        "bytes_before": 7,
        "bytes_after": 7,
        "note": None,
    }


def test_a_summarization_request_asks_for_text_and_is_bounded() -> None:
    value = {"rows": ["r" * 100] * 200_000}  # 20 MB
    item = plan_input("gather", value, {"type": "object"}, POLICY)
    request = summarization_request(item, value, POLICY, max_output_tokens=2048)
    assert (request.tool_name, request.tool_schema) == ("", {})
    assert request.max_output_tokens == 2048
    assert "faithful" in request.system
    assert "plain text" in request.system
    assert "result of step gather" in request.prompt
    assert f"at most {POLICY.summary_max_bytes} bytes" in request.prompt
    assert "the rest was cut" in request.prompt
    assert request.size <= POLICY.summarize_max_bytes + 2048


def test_a_small_value_s_summarization_request_holds_it_whole() -> None:
    value = {"rows": list(range(5000))}
    item = plan_input(TASK_CONTEXT, value, None, POLICY)
    request = summarization_request(item, value, POLICY, max_output_tokens=512)
    assert request.prompt.endswith(canonical(value))
    assert "the task's context" in request.prompt
    assert "cut" not in request.prompt


def test_a_model_s_summary_is_kept_cut_to_the_summary_bound() -> None:
    item = ContextInput("gather", "summarize", 50_000, 0, None, note="to be summarized")
    done = summarized(item, "  A summary.  ", POLICY)
    assert (done.strategy, done.text, done.bytes_after) == ("summarize", "A summary.", 10)
    assert done.note == "summarized by a model call from 50000 bytes to 10"
    long = summarized(item, "é" * POLICY.summary_max_bytes, POLICY)
    assert long.bytes_after <= POLICY.summary_max_bytes
    assert long.note is not None
    assert f"cut to {long.bytes_after} bytes" in long.note


def test_the_policy_is_the_block_s_or_the_defaults() -> None:
    assert context_policy(SimpleNamespace()) == DefaultContextPolicy()
    mine = DefaultContextPolicy(prompt_max_tokens=9000)
    assert context_policy(SimpleNamespace(context=mine)) is mine


def test_sizes_are_counted_without_rendering_and_agree_with_the_json() -> None:
    values: list[Any] = [
        {"a": 'é\n"\\', "b": [1.5, None, True, False, -3, 10**30], "c": {}},
        [],
        "\x00\x1f",
        {"deep": [[[[[[[[{"k": "v"}]]]]]]]]},
    ]
    for value in values:
        assert json_size(value) == len(canonical(value).encode()), value
    text, cut = json_excerpt({"k": "v" * 1000}, 100)
    assert cut
    assert len(text.encode()) == 100
    assert text.startswith('{"k":"vvv')


def test_deep_nesting_plans_without_recursing() -> None:
    deep: Any = "leaf"
    for _ in range(20_000):
        deep = [deep, 1]
    structured = plan_input("gather", deep, None, POLICY, summarize=False)
    reference = plan_input("gather", deep, None, DefaultContextPolicy(summarize_max_bytes=20_000))
    assert (structured.strategy, reference.strategy) == ("structured", "reference")
    for item in (structured, reference):
        assert item.bytes_before == 20_000 * 4 + 6
        assert item.text is not None
        assert item.bytes_after <= structured_limit(POLICY)
    request = summarization_request(structured, deep, POLICY, max_output_tokens=100)
    assert request.size < POLICY.summarize_max_bytes


def test_ten_megabytes_of_results_and_context_stay_within_the_prompt_cap(tmp_path: Path) -> None:
    template = research_template(tmp_path)
    results = {"items": [{"id": i, "title": "t" * 80, "tags": ["a", "b"]} for i in range(90_000)]}
    context = {"topic": "tea", "blob": "x" * (10 * 1024 * 1024)}
    started = time.monotonic()
    inputs = plan_context(
        {TASK_CONTEXT: context, "gather": results},
        {TASK_CONTEXT: template.input_schema, "gather": None},
        POLICY,
    )
    built = build_prompt(
        template=template,
        step="plan_work",
        context=context,
        upstream={"gather": results},
        callables=["lab.fetch", "lab.store"],
        patterns=["fetch_and_validate", "transform_and_persist"],
        remaining={"tokens": 40_000},
        max_steps=10,
        max_depth=3,
        context_inputs=inputs,
        policy=POLICY,
    )
    elapsed = time.monotonic() - started
    assert built.request.worst_case_input_tokens() <= POLICY.prompt_max_tokens
    assert [(item["name"], item["strategy"]) for item in built.context_inputs] == [
        ("task.context", "reference"),
        ("gather", "reference"),
    ]
    assert built.context_inputs[1]["bytes_before"] == len(canonical(results).encode())
    assert all(item["bytes_after"] < 400 for item in built.context_inputs)
    assert elapsed < 10, elapsed  # one walk of each value: well under a second on a laptop


def test_the_defaults_are_the_template_s_and_the_docs_state_them() -> None:
    from tasker_ctl.template import model

    template_policy = getattr(model, "PlanningContextPolicy", None)
    if template_policy is not None:
        assert template_policy().model_dump() == dataclasses.asdict(POLICY)
    doc = (Path(__file__).resolve().parents[3] / "docs" / "planning.md").read_text()
    section = " ".join(doc.split("## Context between phases")[1].split("\n## ")[0].split())
    stated = [
        f"`verbatim_max_bytes` ({POLICY.verbatim_max_bytes})",
        f"`summary_max_bytes` ({POLICY.summary_max_bytes})",
        f"`summarize_max_bytes` ({POLICY.summarize_max_bytes})",
        f"prompt_max_tokens: {POLICY.prompt_max_tokens}",
        f"a sample of at most {REFERENCE_SAMPLE_BYTES} bytes",
        "two fifths of `summary_max_bytes`",
        f"every key of an object up to {MAX_KEYS}",
        *(f"| `{strategy}` |" for strategy in STRATEGIES),
    ]
    assert STRUCTURED_SHARE == 2 / 5
    assert [text for text in stated if text not in section] == []
