"""Helpers shared by the code generation tests."""

from __future__ import annotations

from typing import Any

from tasker_ctl.template.model import TaskTemplate


def make_template(
    steps: list[dict[str, Any]],
    *,
    input_schema: Any = None,
    name: str = "order_flow",
) -> TaskTemplate:
    """A template model from step mappings (``handler`` filled in when missing)."""
    data: dict[str, Any] = {"name": name, "namespace_name": "tests", "version": "1.0.0"}
    if input_schema is not None:
        data["input_schema"] = input_schema
    data["steps"] = [{"handler": {"callable": f"tests.{step['name']}"}, **step} for step in steps]
    return TaskTemplate.model_validate(data)
