"""What a check reports before it is placed in a file: code, message and JSON path."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from tasker_ctl.template.source import JsonPath


@dataclass(frozen=True)
class Issue:
    """A finding without file and position; the validator adds those from the source map."""

    code: str
    message: str
    path: JsonPath = ()
    hint: str | None = None
    step: str | None = None
    at_key: bool = False  # point at the key rather than its value (unknown keys)


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to ``word``, if any is close enough to suggest."""
    pool = list(candidates)
    if len(word) >= 3:
        prefixed = [candidate for candidate in pool if candidate.startswith(word)]
        if len(prefixed) == 1:
            return prefixed[0]
    matches = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    if not matches:
        lowered = {candidate.lower().replace("-", "_"): candidate for candidate in pool}
        normalised = word.lower().replace("-", "_")
        if normalised in lowered:
            return lowered[normalised]
        return None
    return matches[0]


def suggestion_hint(word: str, candidates: Iterable[str]) -> str | None:
    match = did_you_mean(word, candidates)
    return f"did you mean '{match}'?" if match else None


def quote_list(values: Iterable[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)
