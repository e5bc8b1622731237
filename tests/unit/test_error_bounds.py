"""A value or a schema broken in many places costs a bounded number of errors to report."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from tasker_ctl.schema_refs import MAX_VALIDATION_ERRORS
from tasker_ctl.sdk.contracts import violations
from tasker_ctl.template import validate_file


def test_a_result_broken_in_every_item_reports_a_bounded_number_of_violations() -> None:
    schema = {"type": "array", "items": {"type": "string"}}
    tracemalloc.start()
    try:
        found = violations(list(range(200_000)), schema)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(found) == MAX_VALIDATION_ERRORS
    assert found[0] == "$[0]: 0 is not of type 'string'"
    assert peak < 20 * 1024 * 1024


def test_a_schema_with_thousands_of_broken_subschemas_is_reported_within_bounds(
    tmp_path: Path,
) -> None:
    properties = "".join(f"\n          k{i}: {i}" for i in range(20_000))
    path = tmp_path / "wide.yaml"
    path.write_text(
        'name: t\nnamespace_name: n\nversion: "1.0.0"\n'
        "input_schema:\n  type: object\n  properties:\n    info:\n      type: object\n"
        f"      properties:{properties}\n"
        "steps:\n  - name: a\n    handler: {callable: x.Y}\n",
        encoding="utf-8",
    )
    tracemalloc.start()
    try:
        report = validate_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    invalid = [f for f in report.findings if f.code == "INVALID_JSON_SCHEMA"]
    assert 1 <= len(invalid) <= 5
    assert peak < 200 * 1024 * 1024


def test_a_capabilitys_config_schema_is_generated_once_and_handed_out_as_a_copy() -> None:
    from tasker_ctl.grammar.capabilities import REGISTRY, base

    capability = next(iter(REGISTRY.values()))
    first = capability.config_schema()
    misses = base._json_schema_of.cache_info().misses
    for _ in range(1_000):  # validation asks once per invocation
        capability.config_schema()
    assert base._json_schema_of.cache_info().misses == misses
    first["mutated"] = True
    assert "mutated" not in capability.config_schema()
