"""The rule registry. Each rule is a small function that yields ``Issue`` objects.

A rule declares the codes it may emit (all listed in ``codes.CATALOGUE``) and reads the
template through ``RuleContext``, which offers tolerant accessors over the raw data: rules keep
working on templates that have shape errors, so one run reports everything.

Rules from outside this package (the action grammar's composition checks) register through the
``tasker_ctl.rules`` entry point group, so that templates never import what checks them. Each
entry point names a module whose import registers its rules; a module that fails to import is
reported as a RULE_PLUGIN_FAILED finding on every file instead of stopping validation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from tasker_ctl.template.context import RuleContext
from tasker_ctl.template.issue import Issue

RuleFunction = Callable[[RuleContext], Iterable[Issue]]
ENTRY_POINT_GROUP = "tasker_ctl.rules"


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
    yield from load_plugins()
    for registered in RULES:
        for issue in registered.check(context):
            if issue.code not in registered.codes:  # pragma: no cover - a programming error
                raise AssertionError(f"rule {registered.name} emitted undeclared {issue.code}")
            yield issue


def _load_rule_modules() -> None:
    from tasker_ctl.template.rules import (  # noqa: F401
        budgets,
        composition,
        core,
        events,
        load,
        outcomes,
        planning,
        schemas,
        storage,
        topology,
        values,
    )


@cache
def plugin_entry_points() -> tuple[Any, ...]:
    """The ``tasker_ctl.rules`` entry points, by name, read from the installation once (a
    broken installation's metadata raises, every time)."""
    from importlib import metadata

    return tuple(sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name))


@cache
def load_plugins() -> tuple[Issue, ...]:
    """Import the rule modules of the ``tasker_ctl.rules`` entry points, once; the failures,
    as findings (call ``load_plugins.cache_clear()`` and ``plugin_entry_points.cache_clear()``
    to look and load again)."""
    try:
        found = plugin_entry_points()
    except Exception as exc:  # a broken installation's metadata
        return (_plugin_failure("(entry points)", ENTRY_POINT_GROUP, exc),)
    failures = []
    for entry in found:
        try:
            entry.load()
        except Exception as exc:
            failures.append(_plugin_failure(entry.name, entry.value, exc))
    return tuple(failures)


def _plugin_failure(name: str, target: str, error: Exception) -> Issue:
    return Issue(
        "RULE_PLUGIN_FAILED",
        f"rule plugin '{name}' ({target}) could not be loaded, so its checks did not run: "
        f"{type(error).__name__}: {error}",
        hint="reinstall tasker-ctl (pip install --force-reinstall tasker-ctl)",
    )
