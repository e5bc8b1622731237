"""The rule registry. Each rule is a small function that yields ``Issue`` objects.

A rule declares the codes it may emit (all listed in ``codes.CATALOGUE``) and reads the
template through ``RuleContext``, which offers tolerant accessors over the raw data: rules keep
working on templates that have shape errors, so one run reports everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from tasker_ctl.template.context import RuleContext
from tasker_ctl.template.issue import Issue

RuleFunction = Callable[[RuleContext], Iterable[Issue]]


@dataclass(frozen=True)
class Rule:
    name: str
    codes: tuple[str, ...]
    check: RuleFunction


RULES: list[Rule] = []


def rule(*codes: str) -> Callable[[RuleFunction], RuleFunction]:
    """Register a rule that may emit ``codes``."""

    def register(function: RuleFunction) -> RuleFunction:
        RULES.append(Rule(function.__name__, codes, function))
        return function

    return register


def run_rules(context: RuleContext) -> Iterator[Issue]:
    _load_rule_modules()
    for registered in RULES:
        for issue in registered.check(context):
            if issue.code not in registered.codes:  # pragma: no cover - a programming error
                raise AssertionError(f"rule {registered.name} emitted undeclared {issue.code}")
            yield issue


def _load_rule_modules() -> None:
    from tasker_ctl.template.rules import (  # noqa: F401
        composition,
        core,
        events,
        load,
        planning,
        schemas,
        topology,
        values,
    )
