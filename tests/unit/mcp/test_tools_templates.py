"""The tools about templates, handlers and schemas answer what their commands print with
``--json``, for the same input; their errors are coded.

``PARITY_CASES``: (tool, arguments, command line) with paths relative to the repository's
root, which is the project root of the tool's context and the working directory of the
command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tasker_ctl.mcp.calls import Caller
from tasker_ctl.mcp.spec import ToolContext, ToolTier
from tasker_ctl.mcp.tools_templates import TOOLS
from tests.e2e.in_process import in_process_runner

ROOT = Path(__file__).resolve().parents[3]
SPEC_FILE = "tests/fixtures/template_specs/order_flow.yaml"
ORDER_FLOW: dict[str, Any] = YAML(typ="safe", pure=True).load((ROOT / SPEC_FILE).read_text())
LINEAR = "examples/linear/linear.yaml"

PARITY_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("template_validate", {"path": LINEAR}, ["validate", LINEAR, "--json"]),
    ("template_validate", {"path": "examples/grammar"}, ["validate", "examples/grammar", "--json"]),
    (
        "template_validate",
        {"path": "tests/fixtures/templates/invalid/ORPHAN_STEP.yaml", "strict": True},
        ["validate", "tests/fixtures/templates/invalid/ORPHAN_STEP.yaml", "--strict", "--json"],
    ),
    (
        "template_validate",
        {"content": (ROOT / LINEAR).read_text(), "file_name": LINEAR},
        ["validate", LINEAR, "--json"],
    ),
    (
        "template_visualize",
        {"path": "examples/approval/approval.yaml"},
        ["template", "visualize", "examples/approval/approval.yaml", "--json"],
    ),
    (
        "template_inspect",
        {"path": "examples/grammar/orders.yaml"},
        ["template", "inspect", "examples/grammar/orders.yaml", "--json"],
    ),
    (
        "template_inspect",
        {"path": "tests/fixtures/schemas/compare.yaml"},
        ["template", "inspect", "tests/fixtures/schemas/compare.yaml", "--json"],
    ),
    ("template_generate", ORDER_FLOW, ["template", "generate", SPEC_FILE, "--json"]),
    (
        "handler_generate",
        {"path": "examples/diamond/diamond.yaml"},
        ["generate", "handlers", "examples/diamond/diamond.yaml", "--json"],
    ),
    (
        "schema_inspect",
        {"path": "examples/grammar/orders.yaml"},
        ["schema", "inspect", "examples/grammar/orders.yaml", "--json"],
    ),
    (
        "schema_inspect",
        {"path": "examples/grammar/orders.yaml", "step": "load_order"},
        ["schema", "inspect", "examples/grammar/orders.yaml", "--step", "load_order", "--json"],
    ),
    (
        "schema_compare",
        {"path": "tests/fixtures/schemas/compare.yaml", "producer": "load", "consumer": "price"},
        ["schema", "compare", "tests/fixtures/schemas/compare.yaml", "load", "price", "--json"],
    ),
    (
        "schema_compare",
        {
            "path": "examples/grammar/orders.yaml",
            "producer": "load_order",
            "consumer": "price_order",
        },
        [
            "schema",
            "compare",
            "examples/grammar/orders.yaml",
            "load_order",
            "price_order",
            "--json",
        ],
    ),
    (
        "schema_diff",
        {
            "old": "tests/fixtures/schemas/shipping_v1.yaml",
            "new": "tests/fixtures/schemas/shipping_v2.yaml",
        },
        [
            "schema",
            "diff",
            "tests/fixtures/schemas/shipping_v1.yaml",
            "tests/fixtures/schemas/shipping_v2.yaml",
            "--json",
        ],
    ),
]

TOOL = {spec.name: spec for spec in TOOLS}


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    return in_process_runner(tmp_path, monkeypatch)


def call(name: str, arguments: dict[str, Any], root: Path = ROOT) -> Any:
    return Caller(ToolContext(project_root=root)).invoke(TOOL[name], arguments)


def test_the_area_has_its_eight_tools_offline_and_read_only() -> None:
    assert sorted(TOOL) == sorted(
        [
            "template_validate",
            "template_visualize",
            "template_inspect",
            "template_generate",
            "handler_generate",
            "schema_inspect",
            "schema_compare",
            "schema_diff",
        ]
    )
    for spec in TOOLS:
        assert spec.tier is ToolTier.OFFLINE
        assert spec.read_only
        assert spec.idempotent
        assert not spec.destructive
        assert not spec.open_world
        assert spec.cli.startswith("tasker-ctl ")
        assert spec.cli.endswith(" --json")


def test_every_tool_has_a_parity_case() -> None:
    assert {name for name, _, _ in PARITY_CASES} == set(TOOL)


@pytest.mark.parametrize(
    ("name", "arguments", "argv"),
    PARITY_CASES,
    ids=[f"{name}-{index}" for index, (name, _, _) in enumerate(PARITY_CASES)],
)
def test_a_tool_answers_its_commands_json(
    cli: Any, name: str, arguments: dict[str, Any], argv: list[str]
) -> None:
    answer = call(name, arguments)
    result = cli(*argv, cwd=ROOT)
    assert result.returncode in (0, 1), result.stderr
    assert not answer.is_error, answer.document
    assert answer.document == json.loads(result.stdout)


# ---------------------------------------------------------------------------- errors


def _error(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    answer = call(name, arguments)
    assert answer.is_error, answer.document
    error: dict[str, Any] = answer.document["error"]
    return error


def test_validate_takes_a_path_or_content_and_stays_in_the_project() -> None:
    assert _error("template_validate", {})["code"] == "TOOL_ARGUMENTS_INVALID"
    both = {"path": LINEAR, "content": "name: x"}
    assert _error("template_validate", both)["code"] == "TOOL_ARGUMENTS_INVALID"
    assert _error("template_validate", {"path": "../x.yaml"})["code"] == "PATH_OUTSIDE_PROJECT"
    assert _error("template_validate", {"path": "missing.yaml"})["code"] == "PATH_NOT_FOUND"


def test_a_template_that_cannot_be_drawn_or_read_is_a_coded_error(cli: Any) -> None:
    broken = "tests/fixtures/templates/invalid/CYCLE_DETECTED.yaml"
    assert _error("template_visualize", {"path": broken})["code"] == "TEMPLATE_INVALID"
    assert _error("handler_generate", {"path": broken})["code"] == "TEMPLATE_INVALID"
    assert _error("template_inspect", {"path": "examples"})["code"] == "USAGE_ERROR"
    unreadable = "tests/fixtures/templates/invalid/NOT_A_MAPPING.yaml"
    assert _error("template_inspect", {"path": unreadable})["code"] == "TEMPLATE_INVALID"
    result = cli("template", "inspect", unreadable, cwd=ROOT)
    assert result.returncode == 1
    assert "error[TEMPLATE_INVALID]" in result.stderr


def test_an_unknown_step_is_named_with_a_suggestion(cli: Any) -> None:
    orders = "examples/grammar/orders.yaml"
    error = _error("schema_inspect", {"path": orders, "step": "load_ordr"})
    assert error["code"] == "TEMPLATE_STEP_NOT_FOUND"
    assert "load_order" in error["hint"]
    arguments = {"path": orders, "producer": "nope", "consumer": "confirm"}
    assert _error("schema_compare", arguments)["code"] == "TEMPLATE_STEP_NOT_FOUND"
    result = cli("schema", "compare", orders, "nope", "confirm", cwd=ROOT)
    assert result.returncode == 2
    assert "error[TEMPLATE_STEP_NOT_FOUND]" in result.stderr
    missing = {"old": orders, "new": "nowhere.yaml"}
    assert _error("schema_diff", missing)["code"] == "PATH_NOT_FOUND"


def test_a_bad_spec_gives_every_problem_with_its_path(cli: Any, tmp_path: Path) -> None:
    spec = {
        "name": "flow",
        "namespace": "shop",
        "steps": [
            {"name": "a", "depends_on": ["c"]},
            {"name": "b", "depends_on": ["zz", "b"]},
            {
                "name": "c",
                "depends_on": ["a"],
                "outputs": [{"name": "n", "type": "string", "items": "string"}],
            },
            {
                "name": "a",
                "outputs": [{"name": "x", "type": "integer"}, {"name": "x", "type": "number"}],
            },
        ],
    }
    error = _error("template_generate", spec)
    assert error["code"] == "TEMPLATE_SPEC_INVALID"
    problems = {(item["path"], item["code"]) for item in error["problems"]}
    assert problems == {
        ("steps/3/name", "SPEC_DUPLICATE_STEP"),
        ("steps/3/outputs/1/name", "SPEC_DUPLICATE_FIELD"),
        ("steps/2/outputs/0/items", "SPEC_ITEMS_WITHOUT_ARRAY"),
        ("steps/1/depends_on/0", "SPEC_UNKNOWN_DEPENDENCY"),
        ("steps/1/depends_on/1", "SPEC_DEPENDENCY_CYCLE"),
        ("steps/0/depends_on", "SPEC_DEPENDENCY_CYCLE"),
    }
    # the command reads the same spec from a file and reports the same problems
    file = tmp_path / "spec.json"
    file.write_text(json.dumps(spec))
    result = cli("template", "generate", str(file), "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "error[TEMPLATE_SPEC_INVALID]: the spec has 6 problem(s)" in result.stderr
    assert "steps/0/depends_on: SPEC_DEPENDENCY_CYCLE: a cycle: a -> c -> a" in result.stderr


def test_a_spec_of_the_wrong_shape_is_refused_with_every_path(cli: Any, tmp_path: Path) -> None:
    bad = {"name": "bad name", "namespace": "shop", "version": "1.0", "steps": [{"nme": "a"}]}
    error = _error("template_generate", bad)
    assert error["code"] == "TOOL_ARGUMENTS_INVALID"
    paths = {item["path"] for item in error["problems"]}
    assert {"name", "version", "steps/0/name", "steps/0/nme"} <= paths
    file = tmp_path / "spec.yaml"
    file.write_text("name: bad name\nnamespace: shop\nversion: '1.0'\nsteps: [{nme: a}]\n")
    result = cli("template", "generate", str(file))
    assert result.returncode == 2
    assert "error[TEMPLATE_SPEC_INVALID]" in result.stderr
    for path in ("  name: SPEC_SHAPE", "  version: SPEC_SHAPE", "steps/0/nme: SPEC_SHAPE"):
        assert path in result.stderr
    file.write_text("- just a list\n")
    assert "error[TEMPLATE_SPEC_INVALID]" in cli("template", "generate", str(file)).stderr


# ---------------------------------------------------------------------------- documents


def test_compare_holds_each_read_to_the_producers_schema(cli: Any) -> None:
    fixture = "tests/fixtures/schemas/compare.yaml"
    document = call("schema_compare", {"path": fixture, "producer": "load", "consumer": "price"})
    reads = {read["field"]: read["status"] for read in document.document["reads"]}
    assert reads == {"order_id": "ok", "count": "unknown_field", "total.amount": "type_mismatch"}
    codes = [issue["code"] for issue in document.document["issues"]]
    assert codes == ["UNKNOWN_FIELD", "PATH_TYPE_MISMATCH"]
    assert document.document["compatible"] is False
    assert cli("schema", "compare", fixture, "load", "price", cwd=ROOT).returncode == 1
    # application code declares no reads: the fields it may count on are offered
    plain = call("schema_compare", {"path": fixture, "producer": "price", "consumer": "confirm"})
    assert [issue["code"] for issue in plain.document["issues"]] == ["READS_NOT_DECLARED"]
    assert plain.document["compatible"] is True
    # a step that does not depend on the producer cannot read its result
    far = call("schema_compare", {"path": fixture, "producer": "load", "consumer": "confirm"})
    assert far.document["issues"][0]["code"] == "NOT_A_DEPENDENCY"
    assert far.document["compatible"] is False


def test_diff_classifies_each_change() -> None:
    answer = call(
        "schema_diff",
        {
            "old": "tests/fixtures/schemas/shipping_v1.yaml",
            "new": "tests/fixtures/schemas/shipping_v2.yaml",
        },
    )
    changes = {
        (change["scope"], change["step"], change["kind"], change["path"]): change["breaking"]
        for change in answer.document["changes"]
    }
    assert changes == {
        ("input_schema", None, "type_widened", "/priority"): False,
        ("input_schema", None, "type_narrowed", "/weight"): True,
        ("input_schema", None, "field_removed", "/note"): True,
        ("input_schema", None, "field_added", "/country"): True,
        ("input_schema", None, "field_added", "/gift"): False,
        ("result_schema", "quote", "type_widened", "/price"): True,
        ("result_schema", "quote", "made_optional", "/carrier"): True,
        ("result_schema", "quote", "field_removed", "/eta"): True,
        ("result_schema", "quote", "field_added", "/currency"): False,
        ("step", "audit", "step_removed", ""): True,
        ("step", "notify", "step_added", ""): False,
    }
    assert answer.document["summary"] == {"breaking": 7, "non_breaking": 4}
    same = "tests/fixtures/schemas/shipping_v1.yaml"
    unchanged = call("schema_diff", {"old": same, "new": same})
    assert unchanged.document["changes"] == []
    assert unchanged.document["breaking"] is False


def test_schema_inspect_flattens_nested_fields() -> None:
    answer = call("schema_inspect", {"path": "tests/fixtures/schemas/compare.yaml", "step": "load"})
    fields = answer.document["steps"][0]["result_schema"]["fields"]
    assert [(f["path"], f["type"], f["items"], f["required"]) for f in fields] == [
        ("/order_id", "string", None, True),
        ("/total", "number", None, False),
        ("/lines", "array", "object", True),
        ("/lines/*/sku", "string", None, True),
    ]
    assert fields[0]["description"] == "the order's id"
    assert answer.document["input_schema"] is None


def test_inspect_counts_findings_and_lists_dependents() -> None:
    answer = call("template_inspect", {"path": "tests/fixtures/schemas/compare.yaml"})
    document = answer.document
    assert document["valid"] is False
    assert document["findings"]["errors"] == 2
    steps = {step["name"]: step for step in document["steps"]}
    assert steps["load"]["dependents"] == ["price"]
    assert steps["price"]["composition"] is True
    assert steps["load"]["composition"] is False
    assert steps["load"]["result_fields"][0] == {
        "name": "order_id",
        "type": "string",
        "required": True,
    }
    assert steps["confirm"]["result_schema"] is False


def test_handler_generate_json_writes_with_output(cli: Any, tmp_path: Path) -> None:
    template = ROOT / "examples/diamond/diamond.yaml"
    result = cli("generate", "handlers", str(template), "-o", "pkg/handlers.py", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["language"] == "python"
    assert [file["path"] for file in document["files"]] == ["pkg/handlers.py"]
    assert (tmp_path / "pkg/handlers.py").read_text() == document["files"][0]["content"]
    refused = cli("generate", "handlers", str(template), "-o", "h.py", "--check", "--json")
    assert refused.returncode == 2


# ---------------------------------------------------------------------------- docs


def test_the_docs_name_every_spec_code_change_kind_and_compare_code() -> None:
    import re
    import typing

    from tasker_ctl.documents import schemas, template_spec
    from tasker_ctl.documents.schema_diff import ChangeKind

    source = Path(template_spec.__file__).read_text()
    spec_codes = set(re.findall(r'"(SPEC_[A-Z_]+)"', source))
    template_doc = (ROOT / "docs/cli/template.md").read_text()
    assert spec_codes == set(re.findall(r"`(SPEC_[A-Z_]+)`", template_doc))
    schema_doc = (ROOT / "docs/cli/schema.md").read_text()
    for kind in typing.get_args(ChangeKind):
        assert f"`{kind}`" in schema_doc, kind
    compare_codes = set(re.findall(r'code="([A-Z_]+)"', Path(schemas.__file__).read_text()))
    compare_codes |= set(schemas._PROBLEM_CODES.values())
    for code in compare_codes:
        assert f"`{code}`" in schema_doc, code
