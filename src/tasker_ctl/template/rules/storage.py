"""What the database can store: names within their columns, text without NUL, finite numbers.

A template that breaks one of these passes every other check but fails when it is registered
(a column or ``jsonb`` refuses it), so ``validate`` reports it and ``run`` refuses it first.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterator
from typing import Any

from tasker_ctl.template.context import RuleContext
from tasker_ctl.template.issue import Issue
from tasker_ctl.template.limits import (
    MAX_ENVIRONMENT_NAME,
    MAX_NAMESPACE_NAME,
    MAX_STEP_NAME,
    MAX_TEMPLATE_NAME,
    MAX_VERSION,
)
from tasker_ctl.template.rules import rule
from tasker_ctl.template.source import UNSAFE_CHARACTER, JsonPath, escape_unsafe

# past this many values of one kind, a last finding counts the ones not reported one by one
MAX_REPORTED = 20
_SHOWN = 40  # characters of a long name shown in a message


def shown(text: str) -> str:
    """``text`` for a message: abridged, with unsafe characters as ``\\uXXXX`` escapes."""
    if len(text) > _SHOWN:
        text = f"{text[: _SHOWN // 2]}...{text[-_SHOWN // 4 :]}"
    return escape_unsafe(text)


def _names(context: RuleContext) -> Iterator[tuple[str, str, JsonPath, int, str]]:
    """(what, name, path, limit, column) for every name of the template the database stores."""
    for key, what, limit, column in (
        ("name", "the template name", MAX_TEMPLATE_NAME, "named_tasks.name"),
        ("namespace_name", "namespace_name", MAX_NAMESPACE_NAME, "task_namespaces.name"),
        ("version", "version", MAX_VERSION, "named_tasks.version"),
    ):
        text = context.text(key)
        if text is not None:
            yield what, text, (key,), limit, column
    for step in context.steps:
        if step.name is not None:
            path: JsonPath = (*step.path, "name")
            yield f"step #{step.index}'s name", step.name, path, MAX_STEP_NAME, "named_steps.name"
    environments = context.data.get("environments")
    if isinstance(environments, dict):
        for name in environments:
            path = ("environments", name)
            yield "the environment name", name, path, MAX_ENVIRONMENT_NAME, "tasks.environment"


@rule("NAME_TOO_LONG", "NAME_INVALID_CHARACTER")
def storable_names(context: RuleContext) -> Iterator[Issue]:
    for what, name, path, limit, column in _names(context):
        step = name if path[0] == "steps" else None
        at_key = path[0] == "environments"
        if len(name) > limit:
            yield Issue(
                "NAME_TOO_LONG",
                f"{what} '{shown(name)}' is {len(name)} characters long; the database stores "
                f"at most {limit} ({column})",
                path,
                f"shorten it by {len(name) - limit} characters",
                step=step,
                at_key=at_key,
            )
        unsafe = UNSAFE_CHARACTER.search(name)
        if unsafe is not None:
            yield Issue(
                "NAME_INVALID_CHARACTER",
                f"{what} '{shown(name)}' holds {_describe(unsafe.group())}",
                path,
                "use printable characters only",
                step=step,
                at_key=at_key,
            )


@rule("NUL_IN_TEXT", "NUMBER_NOT_FINITE")
def storable_values(context: RuleContext) -> Iterator[Issue]:
    names = {path for _, _, path, _, _ in _names(context)}
    nul: list[tuple[JsonPath, bool]] = []  # (path, whether it is a key)
    infinite: list[JsonPath] = []
    stack: list[tuple[JsonPath, Any]] = [((), context.data)]
    while stack:  # no recursion: the reader allows 64 levels, others may build deeper data
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                child = (*path, key)
                if isinstance(key, str) and "\x00" in key and child not in names:
                    nul.append((child, True))
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend(((*path, index), item) for index, item in enumerate(value))
        elif isinstance(value, str):
            if "\x00" in value and path not in names:
                nul.append((path, False))
        elif isinstance(value, float) and not math.isfinite(value):
            infinite.append(path)
    nul.sort(key=lambda entry: _order(entry[0]))
    infinite.sort(key=_order)
    for index, (path, is_key) in enumerate(nul[:MAX_REPORTED]):
        what = "the key" if is_key else "the text"
        yield Issue(
            "NUL_IN_TEXT",
            f"{what} at {_last(path)} holds a NUL character (\\0), which PostgreSQL cannot "
            "store" + _more(index, len(nul)),
            path,
            "remove the NUL character",
            at_key=is_key,
        )
    for index, path in enumerate(infinite[:MAX_REPORTED]):
        yield Issue(
            "NUMBER_NOT_FINITE",
            f"the number at {_last(path)} is not finite; JSON, in which the template is "
            "stored, has no infinity or NaN" + _more(index, len(infinite)),
            path,
            "use a finite number, or leave the key out",
        )


def _describe(character: str) -> str:
    name = unicodedata.name(character, "")
    label = f" ({name})" if name else " (a control character)"
    if character == "\x00":
        label = " (NUL)"
    return f"U+{ord(character):04X}{label}"


def _last(path: JsonPath) -> str:
    if not path:
        return "the top level"
    last = path[-1]
    return f"[{last}]" if isinstance(last, int) else f"'{shown(last)}'"


def _more(index: int, total: int) -> str:
    if index == MAX_REPORTED - 1 and total > MAX_REPORTED:
        return f" (and {total - MAX_REPORTED} more, not reported one by one)"
    return ""


def _order(path: JsonPath) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, part) if isinstance(part, int) else (1, part) for part in path)
