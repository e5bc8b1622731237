"""The catalog of named compositions: a step may write ``composition: {pattern, config}``
instead of spelling out its invocations, and the pattern expands into the written-out form.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from tasker_ctl.grammar.capabilities import get_capability
from tasker_ctl.grammar.errors import PatternError
from tasker_ctl.grammar.patterns.base import (
    Pattern,
    PatternParams,
    describe_validation_error,
)
from tasker_ctl.grammar.patterns.catalog import CATALOG

PATTERNS: Mapping[str, Pattern] = MappingProxyType({pattern.name: pattern for pattern in CATALOG})


def get_pattern(name: str) -> Pattern | None:
    """The pattern called ``name`` (exact spelling), or None."""
    return PATTERNS.get(name)


def expand_pattern(name: str, config: Any) -> dict[str, Any]:
    """The written-out composition a pattern reference stands for (raises PatternError)."""
    pattern = PATTERNS.get(name)
    if pattern is None:
        close = difflib.get_close_matches(name, list(PATTERNS), n=1)
        suggestion = f"; did you mean '{close[0]}'?" if close else ""
        raise PatternError(
            f"unknown pattern '{name}'{suggestion}",
            hint=f"known patterns: {', '.join(PATTERNS)}",
        )
    spec = pattern.expand(config)
    _check_expansion(pattern, spec)
    return spec


def _check_expansion(pattern: Pattern, spec: dict[str, Any]) -> None:
    # parameter models already rule out bad combinations; this catches an expansion that
    # drifted from the capability models it targets
    for index, item in enumerate(spec["invocations"]):
        capability = get_capability(item["capability"])
        if capability is None:
            raise PatternError(
                f"pattern '{pattern.name}' expands to unknown capability '{item['capability']}'"
            )
        try:
            capability.parse(item["config"])
        except ValidationError as exc:
            detail = describe_validation_error(exc).replace("config", f"invocations[{index}]", 1)
            raise PatternError(f"pattern '{pattern.name}' expands badly: {detail}") from None
        if capability.requires_checkpoint and not item["checkpoint"]:
            raise PatternError(
                f"pattern '{pattern.name}' expands to an unchecked mutation at invocation {index}"
            )


__all__ = [
    "PATTERNS",
    "Pattern",
    "PatternError",
    "PatternParams",
    "expand_pattern",
    "get_pattern",
]
