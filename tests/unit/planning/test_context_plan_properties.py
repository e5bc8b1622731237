"""Properties of the context plan: any JSON value plans without raising, its size is its
compact JSON's, and what the prompt holds for it stays within the policy's bounds."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tasker_ctl.planning.context_plan import (
    REFERENCE_SAMPLE_BYTES,
    DefaultContextPolicy,
    plan_input,
    structured_limit,
    summarization_request,
    summarized,
)
from tasker_ctl.planning.context_summary import canonical

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=12)
        | st.dictionaries(st.text(max_size=20), children, max_size=12)
    ),
    max_leaves=80,
)
POLICIES = st.builds(
    lambda verbatim, summary, summarize: DefaultContextPolicy(
        verbatim_max_bytes=verbatim,
        summary_max_bytes=verbatim + summary,
        summarize_max_bytes=verbatim + summary + summarize,
    ),
    st.integers(64, 2048),  # a summary says at least a kind and a size
    st.integers(0, 4096),
    st.integers(0, 8192),
)
SCHEMAS = st.none() | st.fixed_dictionaries(
    {"properties": st.dictionaries(st.text(max_size=8), st.just({}), max_size=5)}
)


@settings(max_examples=300, deadline=None)
@given(value=JSON, policy=POLICIES, schema=SCHEMAS)
def test_any_json_value_plans_within_its_bounds(
    value: Any, policy: DefaultContextPolicy, schema: Any
) -> None:
    item = plan_input("gather", value, schema, policy)
    size = len(canonical(value).encode("utf-8", "surrogatepass"))
    assert item.bytes_before == size
    limits = {
        "verbatim": policy.verbatim_max_bytes,
        "structured": structured_limit(policy),
        "summarize": 0,
        "reference": REFERENCE_SAMPLE_BYTES + 60,
    }
    # a structured summary keeps every declared key, which may take more than its share
    if not (item.strategy == "structured" and schema and schema["properties"]):
        assert item.bytes_after <= limits[item.strategy]
    if item.text is not None:
        assert item.bytes_after == len(item.text.encode())
    if item.strategy == "structured":
        json.loads(item.text or "")
    json.dumps(item.as_json())
    request = summarization_request(item, value, policy, max_output_tokens=100)
    assert len(request.prompt.encode()) <= policy.summarize_max_bytes + 1024
    done = summarized(item, canonical(value), policy)
    assert done.bytes_after <= policy.summary_max_bytes
