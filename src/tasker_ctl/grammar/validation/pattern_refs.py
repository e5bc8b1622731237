"""A composition written as a pattern reference ``{pattern, config}``: expanded through the
catalogue, with PATTERN_INVALID findings when it cannot be."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from tasker_ctl.grammar.validation.config_errors import data_path, render
from tasker_ctl.grammar.validation.findings import CompositionFinding, finding
from tasker_ctl.template.issue import did_you_mean, quote_list


def expand(name: str, config: Any) -> tuple[Any, list[CompositionFinding]]:
    """The pattern's written-out spec, or the PATTERN_INVALID findings saying why not."""
    from tasker_ctl.grammar import patterns

    known = _pattern_names()
    pattern = patterns.get_pattern(name) if name in known else None
    if pattern is None:
        match = did_you_mean(name, known)
        hint = f"did you mean '{match}'?" if match else f"patterns: {quote_list(known)}"
        return None, [
            finding("PATTERN_INVALID", f"unknown pattern '{name}'", hint=hint, path=("pattern",))
        ]
    try:
        pattern.parse(config)
    except ValidationError as error:
        return None, [
            finding(
                "PATTERN_INVALID",
                f"pattern '{name}': {render(location)}: "
                f"{str(item.get('msg', '')).removeprefix('Value error, ')}",
                path=("config", *location),
            )
            for item in error.errors()[:20]
            for location in [
                data_path(config, item.get("loc", ()), missing=item.get("type") == "missing")
            ]
        ]
    except Exception as error:
        return None, [finding("PATTERN_INVALID", f"pattern '{name}': {error}", path=("config",))]
    try:
        return patterns.expand_pattern(name, config), []
    except Exception as error:  # PatternError, or an expansion that breaks on odd config
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        return None, [
            finding(
                "PATTERN_INVALID",
                message,
                hint=getattr(error, "hint", None),
                path=("config",),
            )
        ]


def _pattern_names() -> list[str]:
    from tasker_ctl.grammar import patterns

    try:
        return sorted(str(name) for name in patterns.PATTERNS)
    except Exception:
        return []
