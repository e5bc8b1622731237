"""Upstream results as a planner sees them: whole when small, else a summary that keeps their
shape.

A result of at most ``VERBATIM_LIMIT`` bytes (as canonical JSON) goes into the prompt as is.
A larger one becomes a structured summary: every key of an object with its value summarized,
an array's length with its first ``samples`` items, a long string's length with its start, and
numbers, booleans and null as they are. The summary says what it left out, so a planner knows
that ``${steps.S.result.items}`` holds 5,000 items even though it saw two. Summaries are bounded
(``SUMMARY_LIMIT``): the detail shrinks until one fits. Deterministic: keys are sorted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

VERBATIM_LIMIT = 1024
"""Bytes of canonical JSON up to which a result is shown whole."""
SUMMARY_LIMIT = 4096
"""Bytes a summary may take; the detail shrinks until it fits."""
_MAX_KEYS = 40  # keys of one object shown
_MAX_DEPTH = 6  # levels described before "object with N keys"
# (samples per array, characters of a long string's start), from most to least detail
_DETAIL = ((2, 80), (1, 40), (1, 16), (0, 0))


@dataclass(frozen=True)
class ResultView:
    """One result as the prompt shows it: its text, whether it is a summary, its size."""

    text: str
    summarized: bool
    size: int


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def view_result(value: Any) -> ResultView:
    """``value`` whole when its JSON is at most ``VERBATIM_LIMIT`` bytes, else summarized."""
    text = canonical(value)
    size = len(text.encode("utf-8"))
    if size <= VERBATIM_LIMIT:
        return ResultView(text, summarized=False, size=size)
    for samples, prefix in _DETAIL:
        summary = canonical(_shape(value, samples, prefix, 0))
        if len(summary.encode("utf-8")) <= SUMMARY_LIMIT:
            break
    else:
        summary = canonical(_outline(value))
        if len(summary.encode("utf-8")) > SUMMARY_LIMIT:
            summary = canonical(_kind(value))
    note = (
        f"summary of a {size}-byte result: arrays show their length and first items, long "
        "strings their length and start, objects every key (up to "
        f"{_MAX_KEYS}); values not shown were elided"
    )
    return ResultView(f"{note}\n{summary}", summarized=True, size=size)


def _shape(value: Any, samples: int, prefix: int, depth: int) -> Any:
    if isinstance(value, dict):
        if depth >= _MAX_DEPTH:
            return f"<object with {len(value)} keys>"
        keys = sorted(value)
        shown: dict[str, Any] = {
            key: _shape(value[key], samples, prefix, depth + 1) for key in keys[:_MAX_KEYS]
        }
        if len(keys) > _MAX_KEYS:
            shown["<elided>"] = f"{len(keys) - _MAX_KEYS} more keys: {', '.join(keys[_MAX_KEYS:])}"
        return shown
    if isinstance(value, list):
        if len(value) <= samples:
            return [_shape(item, samples, prefix, depth + 1) for item in value]
        return {
            "<array>": len(value),
            "<first items>": [_shape(item, samples, prefix, depth + 1) for item in value[:samples]],
        }
    if isinstance(value, str) and len(value) > max(prefix, 16):
        start = f", starts {value[:prefix]!r}" if prefix else ""
        return f"<string of {len(value)} characters{start}>"
    return value


def _outline(value: Any) -> Any:
    """The least detail: the top level's keys and their kinds, or the value's kind and size."""
    if isinstance(value, dict):
        keys = sorted(value)
        outline: dict[str, Any] = {key: _kind(value[key]) for key in keys[:_MAX_KEYS]}
        if len(keys) > _MAX_KEYS:
            outline["<elided>"] = f"{len(keys) - _MAX_KEYS} more keys"
        return outline
    return _kind(value)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return f"<object with {len(value)} keys>"
    if isinstance(value, list):
        return f"<array of {len(value)} items>"
    if isinstance(value, str):
        return f"<string of {len(value)} characters>"
    return f"<{type(value).__name__}>"
