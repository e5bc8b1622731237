"""Variables and functions in scope during abstract evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field

from tasker_ctl.grammar.expressions import _abstract as v
from tasker_ctl.grammar.expressions import _ast as a


@dataclass(slots=True)
class UserFunction:
    node: a.FuncDef
    scope: Scope


@dataclass(slots=True)
class Closure:
    node: a.Node
    scope: Scope


@dataclass(slots=True)
class Scope:
    parent: Scope | None
    variables: dict[str, v.Values] = field(default_factory=dict)
    functions: dict[tuple[str, int], UserFunction | Closure] = field(default_factory=dict)

    def variable(self, name: str) -> v.Values | None:
        scope: Scope | None = self
        while scope is not None:
            found = scope.variables.get(name)
            if found is not None:
                return found
            scope = scope.parent
        return None

    def function(self, name: str, arity: int) -> UserFunction | Closure | None:
        scope: Scope | None = self
        while scope is not None:
            found = scope.functions.get((name, arity))
            if found is not None:
                return found
            scope = scope.parent
        return None
