"""A composition read once for every static check and for the explain trace: each invocation
with its capability, parsed config, expressions, and the statically known data flow."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from tasker_ctl.grammar.capabilities.base import (
    Capability,
    CapabilityConfig,
    ExpressionSite,
    FlowKind,
    OutputFlow,
    Target,
)
from tasker_ctl.grammar.validation.contract import StepContract
from tasker_ctl.grammar.validation.findings import FindingPath
from tasker_ctl.grammar.validation.schemas import is_trivial

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class KnownSchema:
    """A value's statically known JSON Schema and where the value comes from."""

    schema: Any
    source: str  # "the output of invocation[2] (transform)", "the template's input_schema"
    index: int | None  # producing invocation, None for the context


@dataclass
class InvocationView:
    """One invocation as far as it could be read."""

    index: int
    raw: dict[str, Any]
    name: str | None = None
    capability: Capability | None = None
    config: CapabilityConfig | None = None
    config_error: ValidationError | Exception | None = None
    sites: list[ExpressionSite] = field(default_factory=list)
    flow: OutputFlow | None = None
    prev: KnownSchema | None = None  # what ``.prev`` statically is here
    output: KnownSchema | None = None  # what this invocation's output statically is

    @property
    def checkpoint(self) -> bool:
        return self.raw.get("checkpoint") is True

    @property
    def mutating(self) -> bool:
        return bool(self.capability is not None and self.capability.mutating)

    @property
    def category(self) -> str | None:
        return None if self.capability is None else str(self.capability.category.value)

    @property
    def label(self) -> str:
        return (
            f"invocation[{self.index}] ({self.name})" if self.name else f"invocation[{self.index}]"
        )

    @property
    def path(self) -> FindingPath:
        return ("invocations", self.index)


def site_path(view: InvocationView, site: ExpressionSite) -> FindingPath:
    """``config.conditions[0].expression`` as a path under the invocation."""
    parts: list[str | int] = []
    for name, number in _SEGMENT.findall(site.field_path):
        parts.append(int(number) if number else (int(name) if name.isdigit() else name))
    return (*view.path, *parts)


def read_invocations(
    invocations: list[Any], lookup: Any, contract: StepContract | None
) -> list[InvocationView]:
    """Parse every invocation and thread the static output schemas through the chain."""
    views: list[InvocationView] = []
    context = _context_schema(contract)
    known: KnownSchema | None = None
    for index, raw in enumerate(invocations):
        view = InvocationView(index, raw if isinstance(raw, dict) else {})
        views.append(view)
        name = view.raw.get("capability")
        view.name = name if isinstance(name, str) else None
        view.capability = lookup(view.name) if view.name else None
        if view.capability is not None:
            _parse(view)
        view.prev = known if index > 0 else None
        target = view.prev if index > 0 else context
        flow = view.flow
        if flow is None or flow.kind is FlowKind.UNKNOWN:
            known = None
        elif flow.kind is FlowKind.DECLARED:
            known = KnownSchema(flow.schema, f"the output of {view.label}", index)
        else:  # pass-through: the output is the target, prev or (first) the context
            known = target
        view.output = known
    return views


def _parse(view: InvocationView) -> None:
    assert view.capability is not None
    try:
        view.config = view.capability.parse(view.raw.get("config"))
    except ValidationError as error:
        view.config_error = error
        return
    except Exception as error:  # a capability must not take validation down with it
        view.config_error = error
        return
    try:
        view.sites = list(view.capability.expressions(view.config))
        view.flow = view.capability.output_flow(view.config)
    except Exception:
        view.sites, view.flow = [], None


def raw_sites(config: Any) -> list[ExpressionSite]:
    """Expressions of a config that did not parse: every ``{expression: "..."}`` object and
    every string ``filter``, as far as they can be found."""
    found: list[ExpressionSite] = []

    def walk(value: Any, path: str, depth: int) -> None:
        if depth > 16:
            return
        if isinstance(value, Mapping):
            expression = value.get("expression")
            if isinstance(expression, str) and expression.strip():
                found.append(ExpressionSite(f"{path}.expression", expression))
            for key, item in value.items():
                if key == "filter" and isinstance(item, str) and item.strip() and depth == 0:
                    found.append(ExpressionSite(f"{path}.filter", item))
                elif key != "expression" and isinstance(item, Mapping | list):
                    walk(item, f"{path}.{key}", depth + 1)
        elif isinstance(value, list):
            for position, item in enumerate(value):
                walk(item, f"{path}[{position}]", depth + 1)

    walk(config, "config", 0)
    return found


def envelope_sites(view: InvocationView) -> list[ExpressionSite]:
    return [site for site in view.sites if site.target is Target.ENVELOPE]


def _context_schema(contract: StepContract | None) -> KnownSchema | None:
    if contract is None or is_trivial(contract.input_schema):
        return None
    return KnownSchema(contract.input_schema, "the template's input_schema", None)
