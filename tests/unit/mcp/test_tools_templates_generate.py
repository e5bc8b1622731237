"""``template generate``: a template written from a valid spec validates with no error, for a
few specs by hand and for random ones; the file ``-o`` writes is that template."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from tasker_ctl.documents.template_spec import TemplateSpec, render_template, template_document
from tasker_ctl.template.source import UNSAFE_CHARACTER, parse_document
from tasker_ctl.template.validator import validate_file
from tests.e2e.in_process import in_process_runner

ROOT = Path(__file__).resolve().parents[3]
ORDER_FLOW = ROOT / "tests/fixtures/template_specs/order_flow.yaml"

SPECS: dict[str, dict[str, Any]] = {
    "one step, nothing else": {"name": "t", "namespace": "n", "steps": [{"name": "only"}]},
    "the six-step order flow": YAML(typ="safe", pure=True).load(ORDER_FLOW.read_text()),
    "objects and arrays everywhere": {
        "name": "Report",
        "namespace": "_ops",
        "version": "10.0.3",
        "description": "key: value # not a comment, 'quotes' and \"more\" - and yes: no",
        "input": [
            {"name": "filters", "type": "object"},
            {"name": "ids", "type": "array", "items": "integer"},
            {"name": "any_list", "type": "array", "required": False},
        ],
        "steps": [
            {"name": "null", "outputs": [{"name": "true", "type": "object"}]},
            {"name": "yes", "depends_on": ["null"], "handler": "ops.Reports.Yes"},
            {
                "name": "merge",
                "depends_on": ["yes", "null"],
                "outputs": [
                    {"name": "rows", "type": "array", "items": "object"},
                    {"name": "flags", "type": "array", "items": "boolean", "required": False},
                    {"name": "n", "type": "integer", "description": "- 1: [x]"},
                ],
            },
        ],
    },
}


@pytest.mark.parametrize("data", SPECS.values(), ids=list(SPECS))
def test_a_generated_template_validates_with_no_error(data: dict[str, Any]) -> None:
    document = template_document(TemplateSpec.model_validate(data))
    assert document.valid
    assert [finding.code for finding in document.findings if finding.severity == "error"] == []
    # what the YAML says is what was meant, read back as templates are read
    read = parse_document(document.yaml, path=Path("t.yaml"), display_path="t.yaml")
    assert read.problems == []
    assert read.data == render_template(TemplateSpec.model_validate(data))


def test_the_order_flow_has_its_contracts() -> None:
    data = render_template(TemplateSpec.model_validate(SPECS["the six-step order flow"]))
    steps = {step["name"]: step for step in data["steps"]}
    assert steps["charge"]["dependencies"] == ["price", "reserve"]
    assert steps["fetch"]["handler"] == {"callable": "shop.fetch"}
    assert steps["reserve"]["handler"] == {"callable": "shop.stock.reserve"}
    assert steps["fetch"]["result_schema"] == {
        "type": "object",
        "required": ["customer", "lines"],
        "additionalProperties": False,
        "properties": {
            "customer": {"type": "object"},
            "lines": {
                "type": "array",
                "items": {"type": "object"},
                "description": "one per SKU: sku, quantity",
            },
        },
    }
    assert "dependencies" not in steps["fetch"]
    assert data["input_schema"]["required"] == ["order_id"]


def test_the_file_written_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = in_process_runner(tmp_path, monkeypatch)
    result = cli("template", "generate", str(ORDER_FLOW), "-o", "flow.yaml", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["path"] == "flow.yaml"
    assert document["valid"] is True
    assert (tmp_path / "flow.yaml").read_text() == document["yaml"]
    assert validate_file(tmp_path / "flow.yaml").findings == []
    checked = cli("validate", "flow.yaml", "--strict")
    assert checked.returncode == 0, checked.stdout
    # without --json and -o: the YAML itself
    printed = cli("template", "generate", str(ORDER_FLOW))
    assert printed.returncode == 0
    assert printed.stdout == document["yaml"]


# ---------------------------------------------------------------------------- property

IDENTIFIERS = st.from_regex(re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,11}"), fullmatch=True)
TEXTS = st.text(max_size=40).filter(lambda text: not UNSAFE_CHARACTER.search(text))
TYPES = st.sampled_from(["string", "integer", "number", "boolean", "object", "array"])
ITEMS = st.sampled_from([None, "string", "integer", "number", "boolean", "object"])


@st.composite
def fields(draw: st.DrawFn) -> list[dict[str, Any]]:
    names = draw(st.lists(IDENTIFIERS, max_size=5, unique=True))
    made = []
    for name in names:
        kind = draw(TYPES)
        field: dict[str, Any] = {"name": name, "type": kind, "required": draw(st.booleans())}
        if kind == "array":
            field["items"] = draw(ITEMS)
        if draw(st.booleans()):
            field["description"] = draw(TEXTS)
        made.append(field)
    return made


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(IDENTIFIERS, min_size=1, max_size=7, unique=True))
    steps = []
    for index, name in enumerate(names):
        step: dict[str, Any] = {"name": name, "outputs": draw(fields())}
        if index:
            step["depends_on"] = draw(st.lists(st.sampled_from(names[:index]), unique=True))
        if draw(st.booleans()):
            step["description"] = draw(TEXTS)
        if draw(st.booleans()):
            parts = draw(st.lists(IDENTIFIERS, min_size=1, max_size=3))
            step["handler"] = ".".join(parts)
        steps.append(step)
    spec: dict[str, Any] = {
        "name": draw(IDENTIFIERS),
        "namespace": draw(IDENTIFIERS),
        "version": draw(
            st.from_regex(r"(0|[1-9][0-9]{0,2})\.(0|[1-9])\.(0|[1-9][0-9])", fullmatch=True)
        ),
        "steps": steps,
        "input": draw(fields()),
    }
    if draw(st.booleans()):
        spec["description"] = draw(TEXTS)
    return spec


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=specs())
def test_every_valid_spec_makes_a_template_with_no_error(data: dict[str, Any]) -> None:
    spec = TemplateSpec.model_validate(data)
    document = template_document(spec)
    errors = [(f.code, f.message) for f in document.findings if f.severity == "error"]
    assert errors == [], document.yaml
    read = parse_document(document.yaml, path=Path("t.yaml"), display_path="t.yaml")
    assert read.data == render_template(spec)
