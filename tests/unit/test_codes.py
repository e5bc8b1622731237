"""Every catalogue code has a template that triggers it, and the Tasker Core behaviours hold.

The cases live in ``tests/fixtures/templates/invalid/<CODE>.yaml``. Each file opens with comment
lines that the test reads::

    # what the file shows
    # environment: prod                      (optional: validate with this environment)
    # expect: CODE severity LINE[:COLUMN][, CODE severity LINE[:COLUMN]]   (LINE "-": no position)

Every expected finding must be reported at its place with the catalogue severity, and the file
must give no error that it does not expect, so each case stays minimal.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tasker_ctl.template import validate_file, validate_text
from tasker_ctl.template.codes import BY_CODE, CATALOGUE
from tasker_ctl.template.diagnostics import FileReport, Finding, Severity
from tasker_ctl.template.model import TaskTemplate
from tasker_ctl.template.source import parse_document
from tasker_ctl.template.validator import check_document
from tests.conftest import FIXTURES, PROJECT_ROOT

INVALID = FIXTURES / "templates" / "invalid"
_EXPECTATION = re.compile(r"^([A-Z_]+) (error|warning|info) (-|\d+(?::\d+)?)$")


@dataclass(frozen=True)
class Expected:
    code: str
    severity: Severity
    line: int | None
    column: int | None


@dataclass(frozen=True)
class Case:
    path: Path
    environment: str | None
    expected: tuple[Expected, ...]


def _read_case(path: Path) -> Case:
    header: dict[str, str] = {}
    # latin-1 decodes any byte, so binary and mis-encoded fixtures keep a readable header
    for line in path.read_bytes().decode("latin-1").splitlines():
        if not line.startswith("#"):
            break
        key, _, value = line.lstrip("# ").partition(":")
        if key in ("expect", "environment"):
            header[key] = value.strip()
    assert "expect" in header, f"{path.name} has no '# expect:' header line"
    expected = []
    for item in header["expect"].split(","):
        match = _EXPECTATION.match(item.strip())
        assert match, f"{path.name}: cannot read expectation {item!r}"
        code, severity, place = match.groups()
        line, _, column = place.partition(":")
        expected.append(
            Expected(
                code,
                Severity(severity),
                None if line == "-" else int(line),
                int(column) if column else None,
            )
        )
    return Case(path, header.get("environment"), tuple(expected))


CASES = [_read_case(path) for path in sorted(INVALID.iterdir()) if path.suffix == ".yaml"]


def _report(case: Case) -> FileReport:
    document = parse_document(case.path.read_bytes(), path=case.path, display_path=case.path.name)
    return check_document(document, environment=case.environment)[0]


def _describe(findings: list[Finding]) -> str:
    return "\n".join(f"  {f.line}:{f.column} {f.code} {f.severity} {f.message}" for f in findings)


def test_every_fixture_is_named_after_a_catalogue_code() -> None:
    assert CASES, f"no fixtures under {INVALID}"
    for case in CASES:
        assert case.path.stem in BY_CODE, f"{case.path.name} is not named after a code"
        assert case.path.stem in {e.code for e in case.expected}, case.path.name


# codes no template can trigger under ``tasker-ctl validate``, with the test that covers each
TRIGGERED_ELSEWHERE = {
    # the template's shape checks report a malformed composition first
    "COMPOSITION_PARSE_ERROR": "tests/unit/grammar/test_validation.py",
    # the strict mutation policy is chosen by the caller, templates validate as checkpointed
    "MULTIPLE_MUTATIONS": "tests/unit/grammar/test_validation.py",
    "INVOCATION_AFTER_MUTATION": "tests/unit/grammar/test_validation.py",
    # only explain's simulation reports it
    "MISSING_MOCK_OUTPUT": "tests/unit/grammar/test_explain.py",
    # a broken installation, not a template
    "RULE_PLUGIN_FAILED": "tests/unit/test_validate_compositions.py",
    # a case would be a 4 MiB file or one of 100,000 nodes
    "INPUT_TOO_LARGE": "tests/unit/test_limits.py",
}


@pytest.mark.parametrize("code", [info.code for info in CATALOGUE])
def test_code_is_triggered_by_its_case(code: str, tmp_path: Path) -> None:
    if code in TRIGGERED_ELSEWHERE:
        covering = PROJECT_ROOT / TRIGGERED_ELSEWHERE[code]
        assert code in covering.read_text(encoding="utf-8"), f"{covering} does not test {code}"
        return
    if code == "FILE_UNREADABLE":
        # no file content can trigger it: a path that cannot be read as a file can
        report = validate_file(tmp_path)
        assert [(f.code, f.severity) for f in report.findings] == [
            ("FILE_UNREADABLE", BY_CODE[code].severity)
        ]
        return
    cases = [case for case in CASES if any(e.code == code for e in case.expected)]
    assert cases, f"no case triggers {code}: add {INVALID / (code + '.yaml')}"
    for case in cases:
        report = _report(case)
        for expected in case.expected:
            assert expected.severity is BY_CODE[expected.code].severity, (
                f"{case.path.name} declares {expected.code} as {expected.severity}, "
                f"the catalogue says {BY_CODE[expected.code].severity}"
            )
            matches = [f for f in report.findings if f.code == expected.code]
            assert matches, f"{case.path.name}: no {expected.code} in\n{_describe(report.findings)}"
            placed = [
                f
                for f in matches
                if f.line == expected.line
                and (expected.column is None or f.column == expected.column)
            ]
            assert placed, (
                f"{case.path.name}: {expected.code} expected at {expected.line}:{expected.column}, "
                f"found at {[(f.line, f.column) for f in matches]}"
            )
            assert all(f.severity is expected.severity for f in placed)
        declared = {e.code for e in case.expected}
        stray = [
            f for f in report.findings if f.severity is Severity.ERROR and f.code not in declared
        ]
        assert not stray, f"{case.path.name} gives undeclared errors:\n{_describe(stray)}"


@pytest.mark.parametrize("environment", [None, "test", "production"])
def test_the_rich_valid_template_is_clean(environment: str | None) -> None:
    path = FIXTURES / "templates" / "valid" / "rich.yaml"
    report = validate_file(path, environment=environment)
    assert [f for f in report.findings if f.severity is not Severity.INFO] == []
    assert report.template == "fulfilment/order_fulfilment@2.1.0"


def test_file_unreadable_for_a_directory(tmp_path: Path) -> None:
    directory = tmp_path / "template.yaml"
    directory.mkdir()
    report = validate_file(directory)
    assert [f.code for f in report.findings] == ["FILE_UNREADABLE"]
    finding = report.findings[0]
    assert finding.severity is BY_CODE["FILE_UNREADABLE"].severity
    assert "template.yaml" in finding.message
    assert finding.line is None


def test_file_unreadable_without_permission(tmp_path: Path) -> None:
    path = tmp_path / "locked.yaml"
    path.write_text("name: t\n", encoding="utf-8")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("permissions are not enforced for this user (e.g. root)")
        report = validate_file(path)
    finally:
        path.chmod(0o644)
    assert [f.code for f in report.findings] == ["FILE_UNREADABLE"]
    assert report.findings[0].severity is Severity.ERROR


# -- helpers for the behaviour tests --------------------------------------------------------------

HEAD = "name: t\nnamespace_name: ns\nversion: 1.0.0\n"


def findings(text: str, code: str, *, environment: str | None = None) -> list[Finding]:
    return [f for f in validate_text(text, environment=environment).findings if f.code == code]


def codes(text: str, *, environment: str | None = None) -> set[str]:
    return {f.code for f in validate_text(text, environment=environment).findings}


def model(text: str, *, environment: str | None = None) -> TaskTemplate:
    document = parse_document(text, path=Path("t.yaml"), display_path="t.yaml")
    report, template = check_document(document, environment=environment)
    assert template is not None, _describe(report.findings)
    return template


def steps(*entries: str) -> str:
    return HEAD + "steps:\n" + "".join(entries)


def step(name: str, *lines: str, callable_: str = "x.Handler") -> str:
    body = "".join(f"    {line}\n" for line in lines)
    return f"  - name: {name}\n    handler: {{callable: {callable_}}}\n{body}"


# -- Tasker Core SDK messages ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        (
            steps(step("x"), step("x")),
            "DUPLICATE_STEP_NAME",
            "Duplicate step name: 'x'",
        ),
        (
            steps(step("a", "dependencies: [a]")),
            "SELF_DEPENDENCY",
            "Step 'a' depends on itself",
        ),
        (
            steps(step("a"), step("b", "dependencies: [nonexistent_step]")),
            "MISSING_DEP_REF",
            "Step 'b' depends on 'nonexistent_step' which does not exist",
        ),
        (
            steps(step("a", callable_='""')),
            "EMPTY_CALLABLE",
            "Step 'a' has an empty handler callable",
        ),
        (
            "name: t\nnamespace_name: this_namespace_is_way_too_long_for_pgmq\nversion: 1.0.0\n"
            "steps:\n" + step("a"),
            "NAMESPACE_TOO_LONG",
            "Namespace 'this_namespace_is_way_too_long_for_pgmq' is 39 chars "
            "(max 29 for PGMQ queue names)",
        ),
        (
            steps(step("a", "result_schema: {type: array, items: {type: string}}")),
            "SCHEMA_NOT_OBJECT",
            "Step 'a' result_schema type is 'array', expected 'object'",
        ),
        (
            steps(step("a", "result_schema: {type: [object, 'null']}")),
            "SCHEMA_NOT_OBJECT",
            "Step 'a' result_schema type is 'unknown', expected 'object'",
        ),
        (
            steps(step("a")),
            "NO_RESULT_SCHEMA",
            "Step 'a' has no result_schema defined",
        ),
        (
            steps(step("a"), step("b", "dependencies: [a]"), step("step_orphan")),
            "ORPHAN_STEP",
            "Step 'step_orphan' has no dependencies and nothing depends on it",
        ),
        (
            steps(step("a", "depends_on: [b]"), step("b", "depends_on: [a]")),
            "CYCLE_DETECTED",
            "Dependency cycle detected: a -> b -> a",
        ),
    ],
)
def test_sdk_message_formats(text: str, code: str, message: str) -> None:
    assert [f.message for f in findings(text, code)] == [message]


def test_namespace_length_counts_bytes() -> None:
    namespace = "é" * 15  # 15 characters, 30 bytes
    text = f"name: t\nnamespace_name: {namespace}\nversion: 1.0.0\nsteps:\n" + step("a")
    [finding] = findings(text, "NAMESPACE_TOO_LONG")
    assert "is 30 chars" in finding.message
    assert finding.step is None
    assert not findings(text.replace(namespace, "a" * 29), "NAMESPACE_TOO_LONG")


def test_orphan_step_only_when_several_steps() -> None:
    assert not findings(steps(step("lonely")), "ORPHAN_STEP")
    orphans = findings(steps(step("a"), step("b")), "ORPHAN_STEP")
    assert [f.step for f in orphans] == ["a", "b"]
    assert all(f.severity is Severity.WARNING for f in orphans)


def test_self_dependency_also_reports_a_cycle() -> None:
    text = steps(step("a", "dependencies: [a]"))
    assert [f.message for f in findings(text, "CYCLE_DETECTED")] == [
        "Dependency cycle detected: a -> a"
    ]
    assert len(findings(text, "SELF_DEPENDENCY")) == 1


def test_cycle_names_the_closing_step_and_points_at_its_dependency() -> None:
    text = steps(
        step("a", "dependencies: [c]"),
        step("b", "dependencies: [a]"),
        step("c", "dependencies: [b]"),
    )
    [cycle] = findings(text, "CYCLE_DETECTED")
    assert cycle.message == "Dependency cycle detected: a -> c -> b -> a"
    assert cycle.step == "b"
    assert cycle.path == "$.steps[1].dependencies[0]"
    assert cycle.line == 10
    assert cycle.hint == "break the cycle, e.g. remove 'a' from the dependencies of 'b'"


def test_empty_schema_and_non_mapping_schema_do_not_give_schema_not_object() -> None:
    assert not findings(steps(step("a", "result_schema: {}")), "SCHEMA_NOT_OBJECT")
    assert not findings(steps(step("a", "result_schema: [1]")), "SCHEMA_NOT_OBJECT")


# -- did-you-mean hints ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [("depends-on", "depends_on"), ("dependancies", "dependencies"), ("handlr", "handler")],
)
def test_unknown_step_key_suggests_the_closest(key: str, suggestion: str) -> None:
    text = steps(step("a"), step("b", f"{key}: [a]"))
    [unknown] = findings(text, "UNKNOWN_KEY")
    assert unknown.message == f"unknown key '{key}' in $.steps[1]"
    assert unknown.hint == f"did you mean '{suggestion}'?"
    assert unknown.line == 9
    assert unknown.column == 5  # the key, not its value


def test_unknown_top_level_key_lists_valid_keys_when_nothing_is_close() -> None:
    [unknown] = findings(HEAD + "zzzz: 1\nsteps:\n" + step("a"), "UNKNOWN_KEY")
    assert unknown.hint is not None
    assert "namespace_name" in unknown.hint


def test_deferred_suggests_deferred_convergence() -> None:
    text = steps(step("a"), step("b", "type: deferred", "dependencies: [a]"))
    [enum] = findings(text, "UNKNOWN_ENUM_VALUE")
    assert enum.hint == "did you mean 'deferred_convergence'?"
    assert "'deferred'" in enum.message
    assert enum.path == "$.steps[1].type"


def test_unknown_enum_lists_allowed_values() -> None:
    [enum] = findings(steps(step("a", "retry: {backoff: quadratic}")), "UNKNOWN_ENUM_VALUE")
    assert "'exponential'" in enum.message
    assert enum.hint is not None
    assert "fibonacci" in enum.hint


def test_missing_dependency_suggests_the_closest_step() -> None:
    text = steps(step("validate"), step("price", "dependencies: [valdate]"))
    [missing] = findings(text, "MISSING_DEP_REF")
    assert missing.hint == "did you mean 'validate'?"
    assert missing.step == "price"
    assert missing.path == "$.steps[1].dependencies[0]"


def test_missing_dependency_without_a_close_name_has_no_suggestion() -> None:
    [missing] = findings(steps(step("a"), step("b", "dependencies: [zzz]")), "MISSING_DEP_REF")
    assert missing.hint is None or "did you mean" not in missing.hint


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        (steps("  - name: a\n    handler: x.Y\n"), "write 'handler: {callable: x.Y}'"),
        (steps(step("a"), step("b", "dependencies: a")), "write a list: 'dependencies: [a]'"),
        (HEAD + "steps:\n  name: a\n", "'steps' is a list: start each step with '- name: ...'"),
        (
            steps(step("a", "publishes_events: [order.confirmed]")),
            "an event is a mapping: '{name: order.confirmed, description: ..., schema: {...}}'",
        ),
        (steps(step("a", "retry: {max_attempts: 2.0}")), "write a whole number: 2"),
        (
            steps(step("a", "retry: {retryable: 'false'}")),
            'remove the quotes: write false rather than "false"',
        ),
    ],
)
def test_wrong_type_hints_show_the_right_shape(text: str, hint: str) -> None:
    [wrong] = findings(text, "WRONG_TYPE")
    assert wrong.hint == hint


def test_missing_batch_config_keys_are_listed() -> None:
    text = steps(step("a", "type: batch_worker", "batch_config: {batch_size: 10}"))
    missing = findings(text, "MISSING_REQUIRED_KEY")
    assert sorted(f.message.rsplit(" ", 1)[-1] for f in missing) == [
        "'cursor_field'",
        "'failure_strategy'",
        "'parallelism'",
        "'worker_template'",
    ]
    assert all(f.path == "$.steps[0].batch_config" for f in missing)
    assert all(f.hint is not None and "failure_strategy" in f.hint for f in missing)


# -- retry quirks ---------------------------------------------------------------------------------


def test_no_retry_block_gets_tasker_core_backoff_defaults() -> None:
    retry = model(steps(step("a"))).steps[0].retry
    assert retry.backoff_base_ms == 1000
    assert retry.max_backoff_ms == 30000
    assert retry.max_attempts == 3
    assert retry.retryable is True
    assert retry.backoff == "exponential"


def test_retry_block_without_backoff_keys_leaves_them_unset() -> None:
    retry = model(steps(step("a", "retry: {max_attempts: 5}"))).steps[0].retry
    assert retry.max_attempts == 5
    assert retry.backoff_base_ms is None
    assert retry.max_backoff_ms is None


def test_max_attempts_zero_is_only_information() -> None:
    [zero] = findings(steps(step("a", "retry: {max_attempts: 0}")), "MAX_ATTEMPTS_ZERO")
    assert zero.severity is Severity.INFO
    assert model(steps(step("a", "retry: {max_attempts: 0}"))).steps[0].retry.max_attempts == 0


def test_max_attempts_zero_says_the_step_runs_once() -> None:
    """The first attempt is always eligible (Tasker Core's readiness rule and the engine's,
    tests/integration/engine/test_retries.py): the finding must not say the step never runs."""
    [zero] = findings(steps(step("a", "retry: {max_attempts: 0}")), "MAX_ATTEMPTS_ZERO")
    for text in (zero.message, BY_CODE["MAX_ATTEMPTS_ZERO"].meaning):
        assert "never schedules" not in text
        assert "runs once" in text or "first attempt always runs" in text
        assert "never retried" in text
    assert "max_attempts: 1" in (zero.hint or "")
    reference = (PROJECT_ROOT / "docs" / "template-format.md").read_text(encoding="utf-8")
    assert "never schedules" not in reference
    assert "runs once" in reference


def test_backoff_inverted_ignores_booleans() -> None:
    text = steps(step("a", "retry: {backoff_base_ms: true, max_backoff_ms: false}"))
    assert not findings(text, "BACKOFF_INVERTED")
    assert len(findings(text, "WRONG_TYPE")) == 2


# -- aliases --------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["dependencies", "depends_on"])
def test_dependency_aliases_are_both_accepted(key: str) -> None:
    text = steps(step("a"), step("b", f"{key}: [a]"))
    assert not {c for c in codes(text) if BY_CODE[c].severity is Severity.ERROR}
    assert model(text).steps[1].dependencies == ["a"]


@pytest.mark.parametrize("key", ["type", "step_type"])
def test_type_aliases_are_both_accepted(key: str) -> None:
    text = steps(step("a"), step("b", f"{key}: decision", "dependencies: [a]"))
    assert model(text).steps[1].step_type == "decision"
    assert "DECISION_WITHOUT_DEPENDENCY" not in codes(text)
    assert "DECISION_BRANCH_STEP" not in codes(text)  # b is the decision, a precedes it


@pytest.mark.parametrize(
    ("first", "second"), [("dependencies", "depends_on"), ("type", "step_type")]
)
def test_both_aliases_together_conflict(first: str, second: str) -> None:
    value = "[a]" if first == "dependencies" else "standard"
    text = steps(step("a"), step("b", f"{first}: {value}", f"{second}: {value}"))
    report = validate_text(text)
    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    assert [f.code for f in errors] == ["CONFLICTING_ALIASES"]
    assert errors[0].path == f"$.steps[1].{second}"
    assert errors[0].line == 10
    assert f"'{first}' and '{second}'" in errors[0].message


# -- scalar coercion (YAML 1.2 core schema, string fields take any scalar's text) -----------------


def test_float_version_becomes_its_text_and_is_not_semver() -> None:
    text = "name: t\nnamespace_name: ns\nversion: 1.0\nsteps:\n" + step("a")
    assert model(text).version == "1.0"
    [invalid] = findings(text, "INVALID_VERSION")
    assert invalid.message == "version '1.0' is not a semantic version (MAJOR.MINOR.PATCH)"
    assert invalid.hint is not None
    assert "1.0.0" in invalid.hint
    assert (invalid.line, invalid.column) == (3, 10)


def test_float_version_keeps_trailing_zeros() -> None:
    text = "name: t\nnamespace_name: ns\nversion: 1.10\nsteps:\n" + step("a")
    assert model(text).version == "1.10"
    [invalid] = findings(text, "INVALID_VERSION")
    assert "'1.10'" in invalid.message
    assert validate_text(text).template == "ns/t@1.10"


def test_integer_name_is_accepted_as_text() -> None:
    text = "name: 123\nnamespace_name: ns\nversion: 1.0.0\nsteps:\n" + step("a")
    assert model(text).name == "123"
    assert not [f for f in validate_text(text).findings if f.severity is not Severity.INFO]


def test_numeric_step_names_match_numeric_dependencies() -> None:
    text = steps(step("1.10"), step("b", "dependencies: [1.10]"))
    assert not [f for f in validate_text(text).findings if f.severity is Severity.ERROR]
    assert model(text).steps[0].name == "1.10"


def test_quoted_integer_is_wrong_type() -> None:
    text = steps(step("a", "retry:", '  max_attempts: "5"'))
    [wrong] = findings(text, "WRONG_TYPE")
    assert wrong.path == "$.steps[0].retry.max_attempts"
    assert wrong.message == ("$.steps[0].retry.max_attempts must be an integer, got string '5'")
    assert wrong.hint == 'remove the quotes: write 5 rather than "5"'
    assert (wrong.line, wrong.column) == (8, 21)


@pytest.mark.parametrize("word", ["yes", "no", "on", "off"])
def test_yaml_11_booleans_are_text(word: str) -> None:
    [wrong] = findings(steps(step("a", f"retry: {{retryable: {word}}}")), "WRONG_TYPE")
    assert f"got string '{word}'" in wrong.message
    assert wrong.hint is not None
    assert "true or false" in wrong.hint


@pytest.mark.parametrize("word", ["true", "True", "TRUE", "false", "False", "FALSE"])
def test_yaml_12_booleans(word: str) -> None:
    text = steps(step("a", f"retry: {{retryable: {word}}}"))
    assert model(text).steps[0].retry.retryable is (word.lower() == "true")


def test_union_errors_are_reported_once_without_member_tags() -> None:
    text = steps(
        step("start"),
        step(
            "plan",
            "type: planning",
            "dependencies: [start]",
            "planning:",
            "  convergence: done",
            "  allowed_callables: [x.Y]",
            "  budget: {max_cost_usd: cheap, max_wall_seconds: .inf}",
        ),
        step("done", "type: deferred_convergence", "dependencies: [plan]"),
    )
    report = validate_text(text)
    wrong = [f for f in report.findings if f.code == "WRONG_TYPE"]
    assert [(f.path, f.message) for f in wrong] == [
        (
            "$.steps[1].planning.budget.max_cost_usd",
            "$.steps[1].planning.budget.max_cost_usd must be a number, got string 'cheap'",
        )
    ]
    [invalid] = [f for f in report.findings if f.code == "INVALID_VALUE"]
    assert invalid.path == "$.steps[1].planning.budget.max_wall_seconds"
    assert "finite" in invalid.message


def test_event_schema_has_no_python_spelling() -> None:
    text = steps(step("a", "publishes_events:", "  - {name: a.b, description: d, json_schema: {}}"))
    assert {"UNKNOWN_KEY", "MISSING_REQUIRED_KEY"} <= codes(text)


# -- environments ---------------------------------------------------------------------------------

ENVIRONMENT_TEMPLATE = """\
name: t
namespace_name: ns
version: 1.0.0
steps:
  - name: a
    handler:
      callable: x.A
      initialization: {k1: base, k2: base}
    timeout_seconds: 10
    retry: {max_attempts: 3, backoff_base_ms: 500, max_backoff_ms: 5000}
  - name: b
    dependencies: [a]
    handler: {callable: x.B}
environments:
  test:
    steps:
      - name: a
        timeout_seconds: 20
        retry: {max_attempts: 7}
        handler:
          initialization: {k2: named}
      - name: ALL
        timeout_seconds: 5
        handler:
          initialization: {k2: all, k3: all}
"""


def test_environment_all_first_then_named_overrides() -> None:
    resolved = model(ENVIRONMENT_TEMPLATE, environment="test")
    a, b = resolved.steps
    # initialization is merged key by key, the named override winning over ALL
    assert a.handler.initialization == {"k1": "base", "k2": "named", "k3": "all"}
    assert b.handler.initialization == {"k2": "all", "k3": "all"}
    assert a.timeout_seconds == 20
    assert b.timeout_seconds == 5
    # the retry block is replaced wholesale: serde defaults inside it, not the step's values
    assert a.retry.max_attempts == 7
    assert a.retry.backoff_base_ms is None
    assert a.retry.max_backoff_ms is None
    # b has no retry block of its own and no retry override
    assert (b.retry.backoff_base_ms, b.retry.max_backoff_ms) == (1000, 30000)


def test_model_resolution_matches_validation_resolution() -> None:
    base = model(ENVIRONMENT_TEMPLATE)
    assert base.steps[0].timeout_seconds == 10
    assert base.resolve_for_environment("test") == model(ENVIRONMENT_TEMPLATE, environment="test")


def test_findings_in_overridden_values_point_at_the_override() -> None:
    text = ENVIRONMENT_TEMPLATE.replace("retry: {max_attempts: 7}", 'retry: {max_attempts: "7"}')
    plain = findings(text, "WRONG_TYPE")
    assert [f.path for f in plain] == ["$.environments.test.steps[0].retry.max_attempts"]
    resolved = findings(text, "WRONG_TYPE", environment="test")
    # one finding, in the resolved step, at the override's line
    assert [(f.path, f.line) for f in resolved] == [("$.steps[0].retry.max_attempts", 19)]


def test_all_override_problem_is_reported_once() -> None:
    text = ENVIRONMENT_TEMPLATE.replace("timeout_seconds: 5", "timeout_seconds: -5")
    resolved = findings(text, "VALUE_OUT_OF_RANGE", environment="test")
    assert [(f.path, f.line) for f in resolved] == [("$.steps[1].timeout_seconds", 23)]


def test_rules_see_resolved_values() -> None:
    text = ENVIRONMENT_TEMPLATE.replace("max_attempts: 7", "max_attempts: 0")
    [zero] = findings(text, "MAX_ATTEMPTS_ZERO", environment="test")
    assert zero.path == "$.steps[0].retry.max_attempts"
    assert zero.step == "a"
    assert zero.line == 19


def test_undeclared_environment_is_a_warning_with_the_declared_ones() -> None:
    [warning] = findings(ENVIRONMENT_TEMPLATE, "ENVIRONMENT_NOT_DECLARED", environment="tset")
    assert warning.severity is Severity.WARNING
    assert warning.hint == "did you mean 'test'?"
    assert model(ENVIRONMENT_TEMPLATE, environment="tset").steps[0].timeout_seconds == 10


def test_override_for_unknown_step() -> None:
    text = ENVIRONMENT_TEMPLATE.replace(
        "      - name: a\n        timeout", "      - name: aa\n        timeout"
    )
    [unknown] = findings(text, "ENV_UNKNOWN_STEP")
    assert unknown.path == "$.environments.test.steps[0].name"
    assert "'aa'" in unknown.message


# -- legacy and ignored keys from the corpus ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "hint_part"),
    [
        (steps(step("a", "retry: {limit: 5}")), "$.steps[0].retry.limit", "max_attempts: 5"),
        (
            steps(step("a", "retry: {initial_delay: 2}")),
            "$.steps[0].retry.initial_delay",
            "backoff_base_ms: 2000",
        ),
        (
            steps(step("a", "retry: {max_delay: 30}")),
            "$.steps[0].retry.max_delay",
            "max_backoff_ms: 30000",
        ),
        (
            steps(step("a", "lifecycle: {max_duration_minutes: 5}")),
            "$.steps[0].lifecycle",
            "lifecycle",
        ),
        (
            HEAD + "task_handler: {class: X}\nsteps:\n" + step("a"),
            "$.task_handler",
            "handler.callable",
        ),
    ],
)
def test_legacy_keys_are_warnings(text: str, path: str, hint_part: str) -> None:
    report = validate_text(text)
    [legacy] = [f for f in report.findings if f.code == "LEGACY_KEY"]
    assert legacy.severity is Severity.WARNING
    assert legacy.path == path
    assert legacy.hint is not None
    assert hint_part in legacy.hint
    assert not [f for f in report.findings if f.severity is Severity.ERROR]
    assert model(text).steps[0].name == "a"  # the model is built without the legacy key


def test_loaded_from_is_ignored_information() -> None:
    text = HEAD + "loaded_from: /etc/tasks/t.yaml\nsteps:\n" + step("a")
    [ignored] = findings(text, "IGNORED_KEY")
    assert ignored.severity is Severity.INFO
    assert (ignored.line, ignored.column) == (4, 1)
    assert "loaded_from" in ignored.message


def test_legacy_key_beside_a_real_error_is_still_reported() -> None:
    text = steps(step("a", "retry: {limit: 5, max_attempts: -1}"))
    assert {"LEGACY_KEY", "VALUE_OUT_OF_RANGE"} <= codes(text)


# -- conditional workflows: when Tasker Core creates a deferred_convergence step -------------------


def _batch_trio(join_dependencies: str) -> str:
    return steps(
        step("analyze", "type: batchable"),
        step(
            "work",
            "type: batch_worker",
            "dependencies: [analyze]",
            "batch_config: {batch_size: 10, parallelism: 2, cursor_field: id, "
            "worker_template: work, failure_strategy: isolate}",
        ),
        step("join", "type: deferred_convergence", f"dependencies: {join_dependencies}"),
    )


@pytest.mark.parametrize(
    ("text", "never_created"),
    [
        pytest.param(
            steps(
                step("a"),
                step("b"),
                step("join", "type: deferred_convergence", "dependencies: [a, b]"),
            ),
            True,
            id="no-decision-no-batch",
        ),
        pytest.param(_batch_trio("[work]"), False, id="after-batch-worker"),
        pytest.param(_batch_trio("[analyze]"), True, id="after-batchable-only"),
        pytest.param(
            steps(
                step("intake"),
                step("route", "type: decision", "dependencies: [intake]"),
                step("left", "dependencies: [route]"),
                step("right", "dependencies: [route]"),
                step("join", "type: deferred_convergence", "dependencies: [left, right]"),
            ),
            False,
            id="after-decision-branches",
        ),
        pytest.param(
            steps(
                step("intake"),
                step("route", "type: decision", "dependencies: [intake]"),
                step("join", "type: deferred_convergence", "dependencies: [route]"),
            ),
            True,
            id="after-the-decision-itself",
        ),
        pytest.param(
            steps(
                step("intake"),
                step("route", "type: decision", "dependencies: [intake]"),
                step("inner", "type: decision", "dependencies: [route]"),
                step("join", "type: deferred_convergence", "dependencies: [inner]"),
            ),
            False,
            id="after-a-nested-decision",
        ),
        pytest.param(
            steps(
                step("intake"),
                step("route", "type: decision", "dependencies: [intake]"),
                step("branch", "dependencies: [route]"),
                step("a"),
                step("b"),
                step("join", "type: deferred_convergence", "dependencies: [a, b]"),
            ),
            False,
            id="outside-every-decision-is-created-at-start",
        ),
    ],
)
def test_deferred_convergence_creation(text: str, never_created: bool) -> None:
    found = findings(text, "CONVERGENCE_WITHOUT_DYNAMIC_PARENT")
    assert bool(found) is never_created, [f.message for f in found]
    for finding in found:
        assert finding.step == "join"
        assert "never created" in finding.message


def test_decision_descendants_are_branch_steps_except_joins_and_workers() -> None:
    text = steps(
        step("intake"),
        step("route", "type: decision", "dependencies: [intake]"),
        step("left", "dependencies: [route]"),
        step("after_left", "dependencies: [left]"),
        step("join", "type: deferred_convergence", "dependencies: [left]"),
    )
    branch = findings(text, "DECISION_BRANCH_STEP")
    assert [f.step for f in branch] == ["left", "after_left"]
    assert all(f.severity is Severity.INFO for f in branch)


def test_decision_needs_a_dependency() -> None:
    text = steps(step("route", "type: decision"), step("a", "dependencies: [route]"))
    [finding] = findings(text, "DECISION_WITHOUT_DEPENDENCY")
    assert finding.message == "Decision step 'route' must have at least one dependency"


def test_batch_config_belongs_on_the_worker() -> None:
    config = (
        "batch_config: {batch_size: 10, parallelism: 2, cursor_field: id, "
        "worker_template: work, failure_strategy: isolate}"
    )
    text = steps(
        step("analyze", "type: batchable", config),
        step("work", "type: batch_worker", "dependencies: [analyze]", config),
    )
    [ignored] = findings(text, "BATCH_CONFIG_IGNORED")
    assert ignored.step == "analyze"
    assert not [f for f in validate_text(text).findings if f.severity is Severity.ERROR]
