"""The allow-list of callables a planning step may use: exact dotted names and ``.*`` globs.

An entry is either a dotted name (``orders.ScoreRisk``), which allows that callable only, or a
dotted prefix followed by ``.*`` (``examples.checks.*``), which allows every name with one or
more further segments under the prefix (``examples.checks.disk`` and
``examples.checks.net.dns``, but not ``examples.checks`` itself).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tasker_ctl.template.issue import did_you_mean

_SEGMENT = r"[A-Za-z_][A-Za-z0-9_]*"
_NAME = re.compile(rf"{_SEGMENT}(?:\.{_SEGMENT})*\Z")
_GLOB = re.compile(rf"{_SEGMENT}(?:\.{_SEGMENT})*\.\*\Z")


def is_entry(entry: str) -> bool:
    """Whether ``entry`` is a dotted name or a dotted prefix ending in ``.*``."""
    return bool(_NAME.match(entry) or _GLOB.match(entry))


def is_glob(entry: str) -> bool:
    return bool(_GLOB.match(entry))


def matches(name: str, allow_list: Iterable[str]) -> bool:
    """Whether the allow-list lets a planner use the callable ``name``."""
    if not _NAME.match(name):
        return False
    for entry in allow_list:
        if entry == name:
            return True
        if is_glob(entry) and name.startswith(entry[:-1]) and len(name) > len(entry) - 1:
            return True
    return False


def expand(allow_list: Iterable[str], known: Iterable[str]) -> list[str]:
    """The ``known`` callables (a worker's registered handlers) the allow-list allows, sorted;
    the list a tool schema's ``enum`` offers a planner."""
    entries = list(allow_list)
    return sorted({name for name in known if matches(name, entries)})


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``name`` was most likely meant to be; a glob candidate offers the name
    under its prefix (``examples.chekcs.disk`` against ``examples.checks.*`` suggests
    ``examples.checks.disk``)."""
    pool: list[str] = []
    last = name.rsplit(".", 1)[-1]
    for candidate in candidates:
        if is_glob(candidate):
            pool.append(candidate[:-1] + last)
        else:
            pool.append(candidate)
    return did_you_mean(name, dict.fromkeys(pool))
