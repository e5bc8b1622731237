"""Task identity: the same template and context are one task, unless asked otherwise."""

from __future__ import annotations

import pytest

from tasker_ctl.engine.graph.submission import identity_hash
from tasker_ctl.errors import UsageError
from tasker_ctl.template.model import TaskTemplate

TEMPLATE = TaskTemplate.model_validate(
    {
        "name": "t",
        "namespace_name": "ns",
        "version": "1.0.0",
        "steps": [{"name": "a", "handler": {"callable": "x.A"}}],
    }
)


def test_strict_identity_ignores_key_order_but_not_values() -> None:
    first = identity_hash(TEMPLATE, {"a": 1, "b": 2})
    assert first == identity_hash(TEMPLATE, {"b": 2, "a": 1})
    assert first != identity_hash(TEMPLATE, {"a": 1, "b": 3})


def test_always_unique_never_repeats() -> None:
    assert identity_hash(TEMPLATE, {}, "always_unique") != identity_hash(
        TEMPLATE, {}, "always_unique"
    )


def test_an_unknown_strategy_is_a_coded_error() -> None:
    with pytest.raises(UsageError, match="unknown identity strategy 'strcit'") as caught:
        identity_hash(TEMPLATE, {}, "strcit")
    assert caught.value.code == "USAGE_ERROR"
