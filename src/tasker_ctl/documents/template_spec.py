"""A TaskTemplate written from a structured spec (``tasker-ctl template generate``).

The spec says what a workflow is in the fewest words: its steps, what each depends on and
what each returns (typed fields), and what the task takes as input. ``render_template`` turns
it into Tasker Core's format (``handler.callable``, ``dependencies``, a closed
``result_schema`` per step, ``input_schema``); ``template_document`` also validates the YAML
through the project's validator, so what it hands back is known to load.

The spec model checks each value's shape; ``spec_problems`` checks what only the whole spec
shows (names used twice, dependencies that do not exist or go round in a cycle, ``items`` on a
field that is no array, text a template cannot hold), and reports every problem with the path
of the element at fault, never only the first.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tasker_ctl.errors import TemplateSpecError
from tasker_ctl.report.json_output import StrictOutput
from tasker_ctl.report.validation_json import FindingOutput

__all__ = [
    "FieldSpec",
    "GeneratedTemplate",
    "StepSpec",
    "TemplateSpec",
    "render_template",
    "spec_from_data",
    "spec_problems",
    "template_document",
]

FieldType = Literal["string", "integer", "number", "boolean", "object", "array"]
ItemType = Literal["string", "integer", "number", "boolean", "object"]

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
DOTTED = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
SEMVER = r"^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})$"
MAX_STEPS = 100
MAX_FIELDS = 100
MAX_DESCRIPTION = 1000
# the name the generated YAML is validated under when it is not written anywhere
GENERATED_NAME = "<generated>"

_SPEC = ConfigDict(extra="forbid", frozen=True)


# one field of a step's result or of the task's input (the spec models carry no docstring:
# it would be one more description in the MCP tool list)
class FieldSpec(BaseModel):
    model_config = _SPEC

    name: str = Field(min_length=1, max_length=64, pattern=IDENTIFIER, description="field name")
    type: FieldType = Field(description="the field's JSON type")
    items: ItemType | None = Field(default=None, description="arrays only: the items' type")
    required: bool = Field(default=True, description="whether the field is always there")
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)


# one step: its handler, what it depends on, what it returns
class StepSpec(BaseModel):
    model_config = _SPEC

    name: str = Field(min_length=1, max_length=100, pattern=IDENTIFIER, description="step name")
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    handler: str | None = Field(
        default=None,
        max_length=200,
        pattern=DOTTED,
        description="handler callable; default '<namespace>.<step name>'",
    )
    depends_on: list[str] = Field(
        default_factory=list, max_length=MAX_STEPS, description="names of earlier steps"
    )
    outputs: list[FieldSpec] = Field(
        default_factory=list, max_length=MAX_FIELDS, description="the result's fields"
    )


class TemplateSpec(BaseModel):
    """A whole workflow in brief: the spec ``template generate`` turns into a template."""

    model_config = _SPEC

    name: str = Field(min_length=1, max_length=128, pattern=IDENTIFIER, description="template name")
    namespace: str = Field(
        min_length=1, max_length=64, pattern=IDENTIFIER, description="namespace_name"
    )
    version: str = Field(default="0.1.0", max_length=32, pattern=SEMVER, description="semver")
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    steps: list[StepSpec] = Field(min_length=1, max_length=MAX_STEPS, description="the steps")
    input: list[FieldSpec] = Field(
        default_factory=list, max_length=MAX_FIELDS, description="the task's input fields"
    )


class GeneratedTemplate(StrictOutput):
    """The document of ``tasker-ctl template generate --json`` and of ``template_generate``."""

    yaml: str = Field(description="the TaskTemplate YAML")
    findings: list[FindingOutput] = Field(description="what validating the YAML found")
    valid: bool = Field(description="true when the YAML has no errors")
    path: str | None = Field(description="the file written (-o), null when none was")


def spec_from_data(data: Any) -> TemplateSpec:
    """A spec read from a file (YAML or JSON) as a model; every shape problem at once."""
    if not isinstance(data, dict):
        raise TemplateSpecError(
            "the spec must be a mapping with name, namespace and steps",
            problems=[{"path": "(spec)", "code": "SPEC_SHAPE", "problem": "not a mapping"}],
        )
    try:
        return TemplateSpec.model_validate(data)
    except ValidationError as error:
        problems = [
            {
                "path": "/".join(str(part) for part in item["loc"]) or "(spec)",
                "code": "SPEC_SHAPE",
                "problem": item["msg"],
            }
            for item in error.errors(include_url=False, include_input=False)
        ]
        raise TemplateSpecError.listing(problems) from None


def spec_problems(spec: TemplateSpec) -> list[dict[str, str]]:
    """What only the whole spec shows, each problem with its path (``steps/2/depends_on/0``)."""
    from tasker_ctl.template.source import UNSAFE_CHARACTER

    problems: list[dict[str, str]] = []

    def add(path: str, code: str, problem: str) -> None:
        problems.append({"path": path, "code": code, "problem": problem})

    def text(path: str, value: str | None) -> None:
        if value is not None and UNSAFE_CHARACTER.search(value):
            add(path, "SPEC_UNSAFE_TEXT", "holds a control, separator or bidi character")

    def fields(base: str, items: list[FieldSpec]) -> None:
        seen: set[str] = set()
        for index, item in enumerate(items):
            where = f"{base}/{index}"
            if item.name in seen:
                add(f"{where}/name", "SPEC_DUPLICATE_FIELD", f"field '{item.name}' is named twice")
            seen.add(item.name)
            if item.items is not None and item.type != "array":
                add(f"{where}/items", "SPEC_ITEMS_WITHOUT_ARRAY", f"'{item.name}' is no array")
            text(f"{where}/description", item.description)

    text("description", spec.description)
    fields("input", spec.input)
    names: dict[str, int] = {}
    for index, step in enumerate(spec.steps):
        if step.name in names:
            add(f"steps/{index}/name", "SPEC_DUPLICATE_STEP", f"step '{step.name}' is named twice")
        names.setdefault(step.name, index)
        text(f"steps/{index}/description", step.description)
        fields(f"steps/{index}/outputs", step.outputs)
    for index, step in enumerate(spec.steps):
        seen: set[str] = set()
        for position, name in enumerate(step.depends_on):
            where = f"steps/{index}/depends_on/{position}"
            if name in seen:
                add(where, "SPEC_DUPLICATE_DEPENDENCY", f"'{name}' is listed twice")
            elif name == step.name:
                add(where, "SPEC_DEPENDENCY_CYCLE", f"step '{name}' depends on itself")
            elif name not in names:
                add(where, "SPEC_UNKNOWN_DEPENDENCY", f"no step is named '{name}'")
            seen.add(name)
    for index, cycle in _cycles(spec, names):
        path = " -> ".join([*cycle, cycle[0]])
        add(f"steps/{index}/depends_on", "SPEC_DEPENDENCY_CYCLE", f"a cycle: {path}")
    return problems


def _cycles(spec: TemplateSpec, names: dict[str, int]) -> list[tuple[int, list[str]]]:
    """Each cycle of two steps or more once, at the first step of it in the spec (an
    iterative depth-first search: a spec of a hundred steps must not recurse that deep)."""
    edges: dict[str, list[str]] = {}
    for step in spec.steps:  # a name given twice is reported; its first step counts
        edges.setdefault(
            step.name, [d for d in dict.fromkeys(step.depends_on) if d in names and d != step.name]
        )
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    found: list[tuple[int, list[str]]] = []
    reported: set[frozenset[str]] = set()
    for start in edges:
        if state.get(start):
            continue
        path: list[str] = [start]
        iterators = [iter(edges[start])]
        state[start] = 1
        while iterators:
            following = next(iterators[-1], None)
            if following is None:
                state[path.pop()] = 2
                iterators.pop()
                continue
            if state.get(following) == 1:
                cycle = path[path.index(following) :]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    first = min(cycle, key=lambda name: names[name])
                    turn = cycle.index(first)
                    found.append((names[first], cycle[turn:] + cycle[:turn]))
            elif not state.get(following):
                state[following] = 1
                path.append(following)
                iterators.append(iter(edges[following]))
    return sorted(found)


def _schema(fields: list[FieldSpec]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for item in fields:
        prop: dict[str, Any] = {"type": item.type}
        if item.type == "array" and item.items is not None:
            prop["items"] = {"type": item.items}
        if item.description:
            prop["description"] = item.description
        properties[item.name] = prop
    schema: dict[str, Any] = {"type": "object"}
    wanted = [item.name for item in fields if item.required]
    if wanted:
        schema["required"] = wanted
    schema["additionalProperties"] = False
    schema["properties"] = properties
    return schema


def render_template(spec: TemplateSpec) -> dict[str, Any]:
    """The template's data, keys in the order Tasker Core's own templates write them."""
    data: dict[str, Any] = {
        "name": spec.name,
        "namespace_name": spec.namespace,
        "version": spec.version,
    }
    if spec.description:
        data["description"] = spec.description
    if spec.input:
        data["input_schema"] = _schema(spec.input)
    steps = []
    for step in spec.steps:
        entry: dict[str, Any] = {"name": step.name}
        if step.description:
            entry["description"] = step.description
        entry["handler"] = {"callable": step.handler or f"{spec.namespace}.{step.name}"}
        if step.depends_on:
            entry["dependencies"] = list(step.depends_on)
        entry["result_schema"] = _schema(step.outputs)
        steps.append(entry)
    data["steps"] = steps
    return data


def yaml_text(data: dict[str, Any]) -> str:
    from io import StringIO

    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


def template_document(spec: TemplateSpec, *, written_to: str | None = None) -> GeneratedTemplate:
    """The spec as template YAML, validated; ``TEMPLATE_SPEC_INVALID`` with every problem
    when the spec cannot make a template. Writes nothing: ``written_to`` only names the file
    the caller writes the YAML to (the findings are placed in it)."""
    problems = spec_problems(spec)
    if problems:
        raise TemplateSpecError.listing(problems)
    from tasker_ctl.report.validation_json import build_output
    from tasker_ctl.template import ValidationReport
    from tasker_ctl.template.validator import validate_text

    text = yaml_text(render_template(spec))
    checked = validate_text(text, name=written_to or GENERATED_NAME)
    output = build_output(ValidationReport(files=[checked]))
    return GeneratedTemplate(
        yaml=text, findings=output.files[0].findings, valid=output.summary.valid, path=written_to
    )
