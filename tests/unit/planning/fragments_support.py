"""Frames and fragment builders for the validator's tests: the templates under
tests/fixtures/fragments/ and small helpers to write steps of each handler shape."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from tasker_ctl.planning.frame import FragmentFrame
from tasker_ctl.planning.validator import FragmentCheck, check_fragment
from tasker_ctl.template.model import TaskTemplate
from tasker_ctl.template.validator import load_template

FIXTURES = Path(__file__).parents[2] / "fixtures" / "fragments"

CONTEXT = {"goal": "g", "reasoning": "r", "estimated_steps": 1, "estimated_depth": 1}


@cache
def template(name: str) -> TaskTemplate:
    return load_template(FIXTURES / f"{name}.yaml")


def frame(name: str = "frame", step: str = "plan", **facts: Any) -> FragmentFrame:
    """The frame of the fixture template ``name``'s planning step ``step`` (a planned one
    when the facts give its ``planning_definition``)."""
    return FragmentFrame(template(name), step, **facts)


def fragment(*steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"fragment_version": "1.0", "planning_context": CONTEXT, "steps": list(steps), **extra}


def call(name: str, target: str = "app.checks.probe", *deps: str, **inputs: str) -> dict[str, Any]:
    """A callable step."""
    step: dict[str, Any] = {"name": name, "handler": {"callable": target}}
    if deps:
        step["dependencies"] = list(deps)
    if inputs:
        step["inputs"] = inputs
    return step


def pattern(name: str, grammar: str, config: dict[str, Any], *deps: str) -> dict[str, Any]:
    step: dict[str, Any] = {"name": name, "handler": {"grammar": grammar, "config": config}}
    if deps:
        step["dependencies"] = list(deps)
    return step


def composition(
    name: str, invocations: list[dict[str, Any]], output: Any, *deps: str
) -> dict[str, Any]:
    step: dict[str, Any] = {
        "name": name,
        "handler": {
            "composition": {
                "outcome": {"description": f"what {name} makes", "output_schema": output},
                "invocations": invocations,
            }
        },
    }
    if deps:
        step["dependencies"] = list(deps)
    return step


def transform(expression: str, output: Any) -> dict[str, Any]:
    return {"capability": "transform", "config": {"filter": expression, "output": output}}


ROW_SCHEMA = {
    "type": "object",
    "required": ["order_id"],
    "properties": {"order_id": {"type": "string"}},
}

OBJECT_WITH_LEVEL = {
    "type": "object",
    "required": ["level"],
    "properties": {"level": {"type": "string"}, "score": {"type": "number"}},
}


def scorer(
    name: str = "score", *deps: str, expression: str = '{level: "low", score: 1}'
) -> dict[str, Any]:
    """A composition step whose output declares ``level`` and ``score``."""
    return composition(name, [transform(expression, OBJECT_WITH_LEVEL)], OBJECT_WITH_LEVEL, *deps)


def lookup(name: str = "lookup", *deps: str) -> dict[str, Any]:
    """An http_request pattern step on the template's ``crm`` resource."""
    return pattern(
        name,
        "http_request",
        {
            "resource": "crm",
            "entity": "v1/customers",
            "params": {"expression": "{id: .context.customer.id}"},
            "response_schema": {
                "type": "object",
                "required": ["customer_id"],
                "properties": {"customer_id": {"type": "string"}, "vip": {"type": "boolean"}},
            },
        },
        *deps,
    )


def check(data: object, name: str = "frame", **facts: Any) -> FragmentCheck:
    return check_fragment(data, frame(name, **facts))


def error_codes(result: FragmentCheck) -> list[tuple[int, str]]:
    return [(finding.stage, finding.code) for finding in result.errors]
