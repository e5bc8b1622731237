"""A step's composition as the runner takes it: written out, with a pattern reference expanded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tasker_ctl.template.model import CompositionSpec


def written_out(composition: CompositionSpec | Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The written-out spec and its source: the pattern's name for a pattern reference,
    the composition's own name, or ``dynamic`` for an unnamed one.

    Raises ``PatternError`` when a pattern reference names no pattern or has bad config.
    """
    data = (
        composition.model_dump(mode="json", exclude_none=True)
        if isinstance(composition, CompositionSpec)
        else dict(composition)
    )
    pattern = data.get("pattern")
    if isinstance(pattern, str):
        from tasker_ctl.grammar.patterns import expand_pattern

        return expand_pattern(pattern, data.get("config")), pattern
    name = data.get("name")
    return data, name if isinstance(name, str) and name else "dynamic"
