"""What every validation stage reads: the steps of a fragment that parse, with their places in
the document, the dependency graph between them, and what each handler stands for.

When the whole fragment does not parse (stage 1), the later stages still run on every step that
parses on its own, so that one answer carries every finding.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import ValidationError

from tasker_ctl.planning.findings import FragmentFinding, fragment_finding
from tasker_ctl.planning.fragment import (
    CallableHandler,
    CompositionHandler,
    Fragment,
    FragmentStep,
    GrammarHandler,
)
from tasker_ctl.planning.frame import FragmentFrame

Path = tuple[int | str, ...]


@dataclass(frozen=True)
class PlacedStep:
    """A fragment step that parses, and its index in the document's ``steps``."""

    index: int
    step: FragmentStep

    @property
    def name(self) -> str:
        return self.step.name

    @property
    def path(self) -> Path:
        return ("steps", self.index)


@dataclass
class HandlerView:
    """What a step's handler stands for: the written-out composition of a grammar pattern or
    composition (None for a callable, or when it cannot be expanded), and the schema of the
    result it produces (None: undeclared)."""

    spec: dict[str, Any] | None = None
    output_schema: Any = None
    # config problems of a pattern reference, relative to the handler
    expansion_problems: list[Any] = field(default_factory=list)


@dataclass
class Draft:
    """The parsed part of a fragment and the frame it is checked against."""

    frame: FragmentFrame
    source: str
    steps: list[PlacedStep]
    convergence: str | None
    # names of every step the document lists, parsed or not (so that a dependency on a step
    # that failed stage 1 is not also reported as unknown)
    written_names: frozenset[str] = frozenset()
    step_count: int = 0
    findings: list[FragmentFinding] = field(default_factory=list)

    @classmethod
    def of(
        cls, data: object, fragment: Fragment | None, frame: FragmentFrame, source: str
    ) -> Draft:
        if fragment is not None:
            placed = [PlacedStep(index, step) for index, step in enumerate(fragment.steps)]
            names = frozenset(step.name for step in fragment.steps)
            return cls(frame, source, placed, fragment.convergence, names, len(placed))
        steps: list[PlacedStep] = []
        seen: set[str] = set()
        raw = data.get("steps") if isinstance(data, Mapping) else None
        for index, item in enumerate(raw[:200] if isinstance(raw, list) else []):
            try:
                step = FragmentStep.model_validate(item)
            except ValidationError:
                continue
            if step.name not in seen:
                seen.add(step.name)
                steps.append(PlacedStep(index, step))
        convergence = data.get("convergence") if isinstance(data, Mapping) else None
        parsed_names = {step.name for step in steps}
        items = raw if isinstance(raw, list) else []
        written = frozenset(
            item["name"]
            for item in items
            if isinstance(item, Mapping) and isinstance(item.get("name"), str)
        )
        return cls(
            frame,
            source,
            steps,
            convergence if isinstance(convergence, str) and convergence in parsed_names else None,
            written,
            len(items),
        )

    def add(
        self,
        code: str,
        message: str,
        path: Path = (),
        *,
        step: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.findings.append(
            fragment_finding(code, message, source=self.source, path=path, step=step, hint=hint)
        )

    @cached_property
    def by_name(self) -> dict[str, PlacedStep]:
        return {placed.name: placed for placed in self.steps}

    def internal_dependencies(self, placed: PlacedStep) -> list[str]:
        """The step's dependencies that are steps of the fragment."""
        return [name for name in placed.step.dependencies if name in self.by_name]

    @cached_property
    def children(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {placed.name: [] for placed in self.steps}
        for placed in self.steps:
            for name in self.internal_dependencies(placed):
                found[name].append(placed.name)
        return found

    @cached_property
    def ancestors(self) -> dict[str, frozenset[str]]:
        """Each step's fragment ancestors through its dependencies (cycles tolerated)."""
        result: dict[str, frozenset[str]] = {}
        for placed in self.steps:
            seen: set[str] = set()
            pending = self.internal_dependencies(placed)
            while pending:
                name = pending.pop()
                if name in seen:
                    continue
                seen.add(name)
                if name in result:
                    seen |= result[name]
                    continue
                pending.extend(self.internal_dependencies(self.by_name[name]))
            result[placed.name] = frozenset(seen)
        return result

    @cached_property
    def cyclic(self) -> frozenset[str]:
        """Steps on a cycle (their own ancestors)."""
        return frozenset(name for name, above in self.ancestors.items() if name in above)

    @cached_property
    def depth(self) -> int | None:
        """The longest chain of steps, or None when the steps form a cycle."""
        if self.cyclic:
            return None
        longest: dict[str, int] = {}
        for name in self.topological_order():
            parents = self.internal_dependencies(self.by_name[name])
            longest[name] = 1 + max((longest[parent] for parent in parents), default=0)
        return max(longest.values(), default=0)

    def topological_order(self) -> list[str]:
        """The acyclic steps, each after its dependencies (Kahn's algorithm)."""
        waiting = {placed.name: len(self.internal_dependencies(placed)) for placed in self.steps}
        ready = [name for name, count in waiting.items() if count == 0]
        order: list[str] = []
        while ready:
            name = ready.pop()
            order.append(name)
            for child in self.children[name]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
        return order

    @cached_property
    def handlers(self) -> dict[str, HandlerView]:
        from tasker_ctl.planning.stages_handlers import view_handler

        return {placed.name: view_handler(placed.step) for placed in self.steps}

    def iter_handlers(
        self,
    ) -> Iterator[tuple[PlacedStep, GrammarHandler | CompositionHandler | CallableHandler]]:
        """Each step with a handler (a nested planning step has none)."""
        for placed in self.steps:
            if placed.step.handler is not None:
                yield placed, placed.step.handler
