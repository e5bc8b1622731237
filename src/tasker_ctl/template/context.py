"""Tolerant, read-only views of a template's raw data for the rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from tasker_ctl.template.graph import StepGraph
from tasker_ctl.template.model import TaskTemplate, scalar_text
from tasker_ctl.template.source import JsonPath


@dataclass(frozen=True)
class StepView:
    """One step as written, with every field read defensively (``None`` when malformed)."""

    index: int
    data: dict[str, Any]

    @property
    def path(self) -> JsonPath:
        return ("steps", self.index)

    @property
    def name(self) -> str | None:
        return scalar_text(self.data.get("name"))

    @property
    def label(self) -> str:
        return self.name if self.name is not None else f"#{self.index}"

    @property
    def type(self) -> str:
        value = self.data.get("type", self.data.get("step_type"))
        return value if isinstance(value, str) else "standard"

    @property
    def dependency_key(self) -> str:
        return (
            "depends_on"
            if "depends_on" in self.data and "dependencies" not in self.data
            else ("dependencies")
        )

    @property
    def dependencies(self) -> list[tuple[str, JsonPath]]:
        """Declared dependency names with the path of each entry."""
        key = self.dependency_key
        value = self.data.get(key)
        if not isinstance(value, list):
            return []
        return [
            (text, (*self.path, key, position))
            for position, item in enumerate(value)
            if (text := scalar_text(item)) is not None
        ]

    @property
    def dependency_names(self) -> list[str]:
        return [name for name, _ in self.dependencies]

    def mapping(self, key: str) -> dict[str, Any] | None:
        value = self.data.get(key)
        return value if isinstance(value, dict) else None

    @property
    def handler(self) -> dict[str, Any]:
        return self.mapping("handler") or {}


@dataclass
class RuleContext:
    """Everything a rule may look at."""

    data: dict[str, Any]
    template: TaskTemplate | None = None
    environment: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def steps(self) -> list[StepView]:
        steps = self.data.get("steps")
        if not isinstance(steps, list):
            return []
        return [StepView(index, step) for index, step in enumerate(steps) if isinstance(step, dict)]

    @cached_property
    def named_steps(self) -> dict[str, StepView]:
        """First step of each name."""
        named: dict[str, StepView] = {}
        for step in self.steps:
            if step.name is not None:
                named.setdefault(step.name, step)
        return named

    @cached_property
    def graph(self) -> StepGraph:
        return StepGraph(
            [(step.name, step.dependency_names) for step in self.steps if step.name is not None]
        )

    def text(self, key: str) -> str | None:
        return scalar_text(self.data.get(key))
