"""Extension keys (``x-*``): accepted at the top level and in steps as a place for YAML anchors,
and left out of everything after the reader (checks, model, content hash)."""

from __future__ import annotations

from pathlib import Path

from tasker_ctl.template import validate_text
from tasker_ctl.template.diagnostics import Severity
from tasker_ctl.template.extensions import is_extension_key, without_extensions
from tasker_ctl.template.source import content_hash, parse_document
from tasker_ctl.template.validator import check_document, load_checked
from tests.conftest import PROJECT_ROOT

ANCHORED = """\
x-defaults:
  retry: &retry {max_attempts: 5, backoff: linear}
  handler: &handler {callable: shop.Charge}
name: t
namespace_name: ns
version: 1.0.0
steps:
  - name: a
    x-notes: &timeout 30
    handler: *handler
    retry: *retry
    timeout_seconds: *timeout
  - name: b
    dependencies: [a]
    x-owner: {team: payments}
    handler: {callable: shop.Ship}
    retry: *retry
"""


def _check(text: str) -> tuple[list[tuple[str, str]], object]:
    document = parse_document(text, path=Path("t.yaml"), display_path="t.yaml")
    report, template = check_document(document)
    return [(f.code, f.path) for f in report.findings if f.severity is not Severity.INFO], template


def test_extension_keys_at_the_top_level_and_in_steps_are_accepted() -> None:
    problems, template = _check(ANCHORED)
    assert problems == []
    assert template is not None


def test_aliases_of_anchors_held_in_extension_keys_resolve() -> None:
    _, template = _check(ANCHORED)
    first, second = template.steps  # type: ignore[attr-defined]
    assert first.handler.callable == "shop.Charge"
    assert first.timeout_seconds == 30
    assert first.retry.max_attempts == second.retry.max_attempts == 5
    assert second.retry.backoff == "linear"


def test_the_model_holds_no_extension_keys() -> None:
    _, template = _check(ANCHORED)
    dumped = template.model_dump(mode="json", by_alias=True)  # type: ignore[attr-defined]
    assert not any(is_extension_key(key) for key in dumped)
    assert not any(is_extension_key(key) for step in dumped["steps"] for key in step)


def test_extension_keys_elsewhere_are_unknown_keys_with_a_hint() -> None:
    text = ANCHORED.replace(
        "handler: {callable: shop.Ship}", "handler: {callable: shop.Ship, x-why: 1}"
    )
    report = validate_text(text)
    [unknown] = [f for f in report.findings if f.code == "UNKNOWN_KEY"]
    assert unknown.path == "$.steps[1].handler['x-why']"
    assert unknown.hint is not None
    assert "extension keys (x-*)" in unknown.hint
    assert "top level and a step" in unknown.hint


def test_a_merge_key_is_unknown_with_a_hint() -> None:
    # Tasker Core's loader does not merge `<<`; an alias stands for a whole value
    text = ANCHORED.replace("    retry: *retry\n    timeout", "    <<: *retry\n    timeout")
    report = validate_text(text)
    [unknown] = [f for f in report.findings if f.code == "UNKNOWN_KEY"]
    assert unknown.path == "$.steps[0]['<<']"
    assert "merge keys" in (unknown.hint or "")


def test_upper_case_x_is_not_an_extension() -> None:
    report = validate_text(ANCHORED.replace("x-defaults:", "X-defaults:"))
    assert [f.path for f in report.findings if f.code == "UNKNOWN_KEY"] == ["$['X-defaults']"]


def test_an_extension_block_does_not_change_the_content_hash() -> None:
    plain = parse_document(ANCHORED, path=Path("a"), display_path="a").data
    more = parse_document(
        ANCHORED.replace("x-defaults:", "x-unused: {anything: [1, 2]}\nx-defaults:"),
        path=Path("b"),
        display_path="b",
    ).data
    assert content_hash(plain) == content_hash(more)
    # what an alias copies out of the block is part of the template
    changed = parse_document(
        ANCHORED.replace("max_attempts: 5", "max_attempts: 6"), path=Path("c"), display_path="c"
    ).data
    assert content_hash(changed) != content_hash(plain)


def test_the_loaded_template_hash_ignores_extension_blocks(tmp_path: Path) -> None:
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text(ANCHORED, encoding="utf-8")
    second.write_text(ANCHORED.replace("team: payments", "team: billing"), encoding="utf-8")
    assert load_checked(first).content_hash == load_checked(second).content_hash


def test_without_extensions_leaves_its_input_alone() -> None:
    data = {"x-a": 1, "name": "t", "steps": [{"name": "s", "x-b": 2}, "not a step"]}
    assert without_extensions(data) == {"name": "t", "steps": [{"name": "s"}, "not a step"]}
    assert data == {"x-a": 1, "name": "t", "steps": [{"name": "s", "x-b": 2}, "not a step"]}
    plain = {"name": "t", "steps": [{"name": "s"}]}
    assert without_extensions(plain) is plain


def test_alias_expansion_stays_bounded_inside_extension_blocks() -> None:
    laughs = "".join(
        f"  l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]\n" for level in range(1, 9)
    )
    text = "x-laughs:\n  l0: &l0 [lol]\n" + laughs + ANCHORED
    report = validate_text(text)
    assert [f.code for f in report.findings] == ["ALIAS_EXPANSION_LIMIT"]


def test_the_template_format_documents_extension_keys() -> None:
    reference = (PROJECT_ROOT / "docs" / "template-format.md").read_text(encoding="utf-8")
    assert "## Extension keys (`x-*`)" in reference
    assert "x-defaults:\n  retry: &retry" in reference
    assert "<<: *anchor" in reference


def test_generated_code_records_a_digest_without_extension_blocks(tmp_path: Path) -> None:
    from tasker_ctl.codegen.generate import template_digest

    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text(ANCHORED, encoding="utf-8")
    second.write_text("x-more: {a: 1}\n" + ANCHORED, encoding="utf-8")
    assert template_digest(first) == template_digest(second) == load_checked(first).content_hash
