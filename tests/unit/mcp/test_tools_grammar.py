"""The grammar tools (vocabulary, compositions, fragments): each answers exactly the document
its command prints with ``--json``; a composition or fragment sent as an object gets the
document its file gets; every bad input is a coded error or findings, never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tasker_ctl.mcp.calls import Answer, Caller
from tasker_ctl.mcp.sizing import MAX_DOCUMENT_BYTES, size_of
from tasker_ctl.mcp.spec import ToolContext, ToolSpec, ToolTier
from tasker_ctl.mcp.tools_grammar import TOOLS
from tasker_ctl.template.source import read_document
from tests.e2e.in_process import in_process_runner

PROJECT = Path(__file__).resolve().parents[3]
SPECS = {spec.name: spec for spec in TOOLS}
ORDERS = "examples/grammar/orders.yaml"
INCIDENT = ["examples/planning/incident.yaml", "plan_investigation"]
CLEANUP = ["examples/phases/cleanup.yaml", "plan_cleanup"]
FRAME = ["tests/fixtures/fragments/frame.yaml", "plan"]
ORDER_SAMPLES = {
    "sample_context": {"order_id": "A1", "discount_pct": 10},
    "sample_deps": {
        "load_order": {"order_id": "A1", "lines": [{"sku": "x", "quantity": "2", "unit_price": 5}]}
    },
}


def _fragment_case(
    tool: str, fragment: str, template: list[str], remaining_steps: int | None = None
) -> tuple[str, dict[str, Any], list[str]]:
    command = tool.removeprefix("fragment_")
    arguments: dict[str, Any] = {"path": fragment, "template": template[0], "step": template[1]}
    argv = ["fragment", command, fragment, "-t", template[0], "-s", template[1], "--json"]
    if remaining_steps is not None:
        arguments["remaining_steps"] = remaining_steps
        argv += ["--remaining-steps", str(remaining_steps)]
    return tool, arguments, argv


# (tool, arguments, the command line printing the same document); files of the project only
PARITY_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("grammar_list", {}, ["grammar", "list", "--json"]),
    (
        "capability_search",
        {"query": "timeout"},
        ["grammar", "list", "--search", "timeout", "--json"],
    ),
    (
        "capability_search",
        {"query": "Record", "category": "persist"},
        ["grammar", "list", "-s", "Record", "--category", "persist", "--json"],
    ),
    ("capability_inspect", {"name": "persist"}, ["grammar", "inspect", "persist", "--json"]),
    ("capability_inspect", {"name": "notify"}, ["grammar", "inspect", "notify", "--json"]),
    ("vocabulary_document", {}, ["grammar", "document", "--tier", "1", "--json"]),
    (
        "vocabulary_document",
        {"tier": 2, "capabilities": ["transform", "gate"]},
        ["grammar", "document", "--tier", "2", "-c", "transform", "-c", "gate", "--json"],
    ),
    ("composition_validate", {"path": ORDERS}, ["composition", "validate", ORDERS, "--json"]),
    (
        "composition_validate",
        {
            "path": "tests/fixtures/templates/invalid/COMPOSITION_RESULT_SCHEMA_MISMATCH.yaml",
            "strict": True,
            "mutation_policy": "strict",
        },
        [
            "composition",
            "validate",
            "tests/fixtures/templates/invalid/COMPOSITION_RESULT_SCHEMA_MISMATCH.yaml",
            "--strict",
            "--mutation-policy",
            "strict",
            "--json",
        ],
    ),
    (
        "composition_explain",
        {"path": ORDERS, "step": "price_order"},
        ["composition", "explain", ORDERS, "--step", "price_order", "--json"],
    ),
    (
        "composition_explain",
        {"path": ORDERS, "step": "price_order", **ORDER_SAMPLES},
        [
            "composition",
            "explain",
            ORDERS,
            "--step",
            "price_order",
            "--sample-context",
            json.dumps(ORDER_SAMPLES["sample_context"]),
            "--sample-deps",
            json.dumps(ORDER_SAMPLES["sample_deps"]),
            "--json",
        ],
    ),
    _fragment_case("fragment_validate", "examples/planning/fragment.yaml", INCIDENT),
    _fragment_case("fragment_validate", "examples/phases/phase1.yaml", CLEANUP),
    _fragment_case("fragment_validate", "tests/fixtures/fragments/twenty_steps.yaml", FRAME),
    _fragment_case("fragment_explain", "examples/planning/fragment.yaml", INCIDENT),
    _fragment_case("fragment_explain", "tests/fixtures/fragments/nested.yaml", FRAME, 3),
]

BAD_FRAGMENT = """\
fragment_version: "1.0"
planning_context: {goal: g, reasoning: r, estimated_steps: 2, estimated_depth: 2}
steps:
  - name: probe
    handler: {callable: app.chekcs.disk}
    inputs: {total: "${steps.intake.result.totl}"}
  - name: loop
    handler: {callable: app.checks.loop}
    dependencies: [loop, report]
"""
BAD_COMPOSITION = """\
outcome: {description: x, output_schema: {type: object}}
invocations:
  - capability: transfrom
    config: {filter: '.'}
  - capability: persist
    config: {resource: db, data: {expression: '.prev'}}
"""


def _invoke(name: str, arguments: dict[str, Any], root: Path = PROJECT) -> Answer:
    return Caller(ToolContext(project_root=root)).invoke(SPECS[name], arguments)


def _printed(argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The document the command prints, run in this process from the project's root."""
    result = in_process_runner(tmp_path, monkeypatch)(*argv, cwd=PROJECT)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def _error_code(answer: Answer) -> str:
    assert answer.is_error, answer.document
    return str(answer.document["error"]["code"])


@pytest.mark.parametrize(
    ("name", "arguments", "argv"), PARITY_CASES, ids=[" ".join(c[2]) for c in PARITY_CASES]
)
def test_each_tool_answers_its_command_s_json(
    name: str,
    arguments: dict[str, Any],
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer = _invoke(name, arguments)
    assert not answer.is_error, answer.document
    assert answer.document == _printed(argv, tmp_path, monkeypatch)


def test_every_tool_of_the_area_has_a_parity_case_and_the_hints_of_an_offline_read() -> None:
    assert {name for name, _, _ in PARITY_CASES} == set(SPECS)
    for spec in TOOLS:
        assert spec.tier is ToolTier.OFFLINE
        assert spec.read_only
        assert spec.idempotent
        assert not spec.destructive
        assert not spec.open_world
        assert spec.cli.startswith("tasker-ctl ")
        assert spec.cli.endswith("--json")


@pytest.mark.parametrize("spec", TOOLS, ids=lambda spec: spec.name)
def test_arguments_schemas_stay_small(spec: ToolSpec) -> None:
    schema = spec.arguments.model_json_schema()
    assert len(json.dumps(schema, separators=(",", ":"))) < 1536
    for field in schema["properties"].values():
        assert len(field.get("description", "")) <= 80


def test_the_vocabulary_summary_fits_an_answer_and_the_full_one_comes_in_pages() -> None:
    summary = _invoke("vocabulary_document", {"tier": 1})
    assert size_of(summary.document) < MAX_DOCUMENT_BYTES
    assert "page" not in summary.document
    assert "cut" not in summary.document
    assert {entry["name"] for entry in summary.document["capabilities"]} >= {"acquire", "persist"}
    full = _invoke("vocabulary_document", {"tier": 3})
    assert full.document["page"]["total"] == len(summary.document["capabilities"])
    assert full.document["page"]["next_cursor"]


def test_the_search_ranks_name_matches_first_and_holds_every_word() -> None:
    found = _invoke("capability_search", {"query": "PERSIST"}).document
    assert [entry["name"] for entry in found["capabilities"]] == ["persist"]
    assert [entry["name"] for entry in found["patterns"]] == ["transform_and_persist"]
    # neither a name nor a summary says it: a config field does (identity.primary_key)
    by_field = _invoke("capability_search", {"query": "primary_key"}).document
    assert [entry["name"] for entry in by_field["capabilities"]] == ["persist"]
    both = _invoke("capability_search", {"query": "table record"}).document
    assert [entry["name"] for entry in both["capabilities"]] == ["acquire", "persist"]
    nothing = _invoke("capability_search", {"query": "table zebra"}).document
    assert nothing["capabilities"] == []
    assert nothing["patterns"] == []
    acquiring = _invoke("capability_search", {"query": "http", "category": "acquire"}).document
    assert [entry["name"] for entry in acquiring["capabilities"]] == ["acquire"]
    assert [entry["name"] for entry in acquiring["patterns"]] == ["http_request"]


def _without_places(document: Any) -> Any:
    """A document with what only a file has (its name, lines and columns) taken out, and its
    findings in one order (a file's are sorted by line, data's by severity and code)."""
    if isinstance(document, dict):
        return {
            key: _without_places(value)
            for key, value in document.items()
            if key not in ("file", "fragment", "line", "column")
        }
    if isinstance(document, list):
        return sorted((_without_places(item) for item in document), key=json.dumps)
    return document


def test_a_composition_object_gets_the_document_of_its_file(tmp_path: Path) -> None:
    shutil.copy(PROJECT / ORDERS, tmp_path / "orders.yaml")
    (tmp_path / "bad.yaml").write_text(BAD_COMPOSITION, encoding="utf-8")
    for name, extra in (
        ("bad.yaml", {}),
        ("orders.yaml", {"step": "price_order", "strict": True}),
    ):
        data = read_document(tmp_path / name).data
        from_file = _invoke("composition_validate", {"path": name, **extra}, tmp_path)
        from_object = _invoke("composition_validate", {"composition": data, **extra}, tmp_path)
        assert not from_file.is_error
        assert not from_object.is_error
        assert _without_places(from_object.document) == _without_places(from_file.document)
        assert from_object.document["files"][0]["file"] == "<composition>"
    bad = _invoke("composition_validate", {"path": "bad.yaml"}, tmp_path).document
    codes = {finding["code"] for finding in bad["files"][0]["findings"]}
    assert {"MISSING_CAPABILITY", "CHECKPOINT_REQUIRED"} <= codes
    data = read_document(tmp_path / "orders.yaml").data
    explained = {
        key: _invoke("composition_explain", {key: value, "step": "price_order", **ORDER_SAMPLES})
        for key, value in (("path", ORDERS), ("composition", data))
    }
    assert explained["path"].document == explained["composition"].document
    assert explained["path"].document["final_output"]["total"] == 9


def test_a_fragment_object_gets_the_document_of_its_file(tmp_path: Path) -> None:
    shutil.copy(PROJECT / FRAME[0], tmp_path / "frame.yaml")
    (tmp_path / "bad.yaml").write_text(BAD_FRAGMENT, encoding="utf-8")
    data = read_document(tmp_path / "bad.yaml").data
    frame = {"template": "frame.yaml", "step": "plan"}
    for tool in ("fragment_validate", "fragment_explain"):
        from_file = _invoke(tool, {"path": "bad.yaml", **frame}, tmp_path)
        from_object = _invoke(tool, {"fragment": data, **frame}, tmp_path)
        assert from_file.document["accepted"] is False
        assert _without_places(from_object.document) == _without_places(from_file.document)
        placed = [finding["line"] for finding in from_file.document["findings"]]
        assert any(line is not None for line in placed)
        assert all(finding["line"] is None for finding in from_object.document["findings"])


@pytest.mark.parametrize(
    ("name", "arguments", "code"),
    [
        ("capability_inspect", {"name": "persit"}, "UNKNOWN_VOCABULARY"),
        ("capability_search", {"query": "x", "category": "persit"}, "UNKNOWN_VOCABULARY"),
        ("capability_search", {"query": "   "}, "USAGE_ERROR"),
        ("vocabulary_document", {"capabilities": ["notify"]}, "UNKNOWN_VOCABULARY"),
        ("vocabulary_document", {"tier": 4}, "TOOL_ARGUMENTS_INVALID"),
        ("composition_validate", {}, "TOOL_ARGUMENTS_INVALID"),
        ("composition_validate", {"path": ORDERS, "composition": {}}, "TOOL_ARGUMENTS_INVALID"),
        ("composition_validate", {"composition": [1, 2]}, "TOOL_ARGUMENTS_INVALID"),
        ("composition_validate", {"path": "../outside.yaml"}, "PATH_OUTSIDE_PROJECT"),
        ("composition_validate", {"path": "no/such.yaml"}, "PATH_NOT_FOUND"),
        ("composition_validate", {"path": "examples"}, "USAGE_ERROR"),
        ("composition_explain", {"path": ORDERS, "step": "nope"}, "COMPOSITION_FILE_INVALID"),
        (
            "composition_explain",
            {"path": ORDERS, "step": "price_order", "mock_outputs": {"first": 1}},
            "INVALID_SAMPLE_JSON",
        ),
        (
            "composition_explain",
            {"composition": {"outcome": {}, "invocations": []}, "sample_context": float("nan")},
            "INVALID_SAMPLE_JSON",
        ),
        ("composition_explain", {"path": ORDERS, "case": "x"}, "USAGE_ERROR"),
        (
            "fragment_validate",
            {"fragment": [1], "template": INCIDENT[0], "step": INCIDENT[1]},
            "TOOL_ARGUMENTS_INVALID",
        ),
        (
            "fragment_validate",
            {"fragment": {"steps": "\x00"}, "template": INCIDENT[0], "step": INCIDENT[1]},
            "FRAGMENT_FILE_INVALID",
        ),
        (
            "fragment_explain",
            {"path": "examples/planning/fragment.yaml", "template": INCIDENT[0], "step": "x"},
            "PLANNING_STEP_INVALID",
        ),
        (
            "fragment_explain",
            {"path": INCIDENT[0], "template": "examples/grammar/context.json", "step": "x"},
            "TEMPLATE_INVALID",
        ),
        (
            "fragment_validate",
            {"path": "README.md", "template": INCIDENT[0], "step": INCIDENT[1]},
            "FRAGMENT_FILE_INVALID",
        ),
    ],
)
def test_bad_arguments_are_coded_errors(name: str, arguments: dict[str, Any], code: str) -> None:
    assert _error_code(_invoke(name, arguments)) == code


def test_objects_nested_past_the_limits_are_coded_errors() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(5000):
        inner["a"] = {}
        inner = inner["a"]
    frame = {"template": INCIDENT[0], "step": INCIDENT[1]}
    assert _error_code(_invoke("fragment_validate", {"fragment": deep, **frame})) == (
        "FRAGMENT_FILE_INVALID"
    )
    assert _error_code(_invoke("composition_validate", {"composition": deep})) == (
        "COMPOSITION_FILE_INVALID"
    )
    sixty_five: dict[str, Any] = {"v": 1}
    for _ in range(65):
        sixty_five = {"a": sixty_five}
    answer = _invoke("composition_explain", {"path": ORDERS, "sample_context": sixty_five})
    assert _error_code(answer) == "INVALID_SAMPLE_JSON"
    assert "deep" in answer.document["error"]["message"]


def test_a_composition_that_is_no_composition_is_findings() -> None:
    answer = _invoke("composition_validate", {"composition": {"invocations": "x"}})
    assert not answer.is_error
    assert answer.document["summary"]["valid"] is False
    assert answer.document["files"][0]["findings"]


def test_the_commands_give_the_same_codes_and_say_when_a_search_finds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke = in_process_runner(tmp_path, monkeypatch)
    nothing = invoke("grammar", "list", "--search", "zebra", cwd=PROJECT)
    assert nothing.returncode == 0
    assert nothing.stdout == "no capability or pattern matches\n"
    shaped = invoke(
        "composition",
        "explain",
        ORDERS,
        "--step",
        "price_order",
        "--sample-deps",
        "[1]",
        cwd=PROJECT,
    )
    assert shaped.returncode == 2  # was an internal error (3)
    assert "INVALID_SAMPLE_JSON" in shaped.stderr
    assert "Traceback" not in shaped.stderr
    tools = json.loads(invoke("grammar", "document", "--format", "tools", "-c", "gate").stdout)
    assert [tool["name"] for tool in tools] == ["gate"]
