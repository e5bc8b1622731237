"""The shipped example templates validate with no errors and no warnings."""

from __future__ import annotations

import pytest

from tasker_ctl.template import Severity, load_template, validate_paths
from tests.conftest import PROJECT_ROOT

EXAMPLES = PROJECT_ROOT / "examples" / "templates"


def test_examples_exist() -> None:
    assert len(sorted(EXAMPLES.glob("*.yaml"))) >= 4


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_is_clean(path: object) -> None:
    report = validate_paths([str(path)])
    failing = [f for f in report.findings if f.severity is not Severity.INFO]
    assert failing == []
    template = load_template(str(path))
    assert template.steps


def test_environment_resolution_of_example() -> None:
    template = load_template(str(EXAMPLES / "order_intake.yaml"), environment="test")
    price = template.step("price_order")
    assert price is not None
    assert price.timeout_seconds == 5  # from the ALL override
    assert price.handler.initialization == {"currency": "EUR"}


def test_loading_for_an_undeclared_environment_is_refused() -> None:
    from tasker_ctl.errors import UnknownEnvironmentError

    with pytest.raises(UnknownEnvironmentError, match="'prodution' is not declared") as caught:
        load_template(str(EXAMPLES / "order_intake.yaml"), environment="prodution")
    assert caught.value.code == "UNKNOWN_ENVIRONMENT"
    assert caught.value.hint is not None
