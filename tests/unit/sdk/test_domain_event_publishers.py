"""Custom domain event publishers: found like handlers (by name, by module.Name, or registered
by hand), never imported; Tasker Core's module path resolves to the SDK's."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tasker_ctl.engine.worker.handler_loading import alias_tasker_core, load_handlers
from tasker_ctl.sdk import HandlerRegistry
from tasker_ctl.sdk.domain_events import (
    BasePublisher,
    DefaultPublisher,
    PublisherRegistry,
    StepEventContext,
)


class Receipts(BasePublisher):
    @property
    def publisher_name(self) -> str:
        return "shop.Receipts"


class Unbuildable(BasePublisher):
    publisher_name = "unbuildable"

    def __init__(self) -> None:
        raise RuntimeError("needs a connection")


@pytest.fixture(autouse=True)
def _fresh_shared_registry() -> Iterator[None]:
    PublisherRegistry.reset_instance()
    yield
    PublisherRegistry.reset_instance()


def _module(name: str, **members: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    for key, value in members.items():
        setattr(module, key, value)
    return module


def test_a_loaded_module_registers_its_publishers_by_name_and_path() -> None:
    registry = HandlerRegistry()
    registry.register_module(
        _module("shop_publishers", Receipts=Receipts, BasePublisher=BasePublisher)
    )
    assert registry.publishers.list_publishers() == ["shop.Receipts"]
    assert isinstance(registry.resolve_publisher("shop.Receipts"), Receipts)
    assert isinstance(registry.resolve_publisher("shop_publishers.Receipts"), Receipts)
    # the abstract base a module imports is not a publisher; nothing is imported
    assert registry.resolve_publisher("shop_publishers.BasePublisher") is None
    assert registry.resolve_publisher("json.JSONDecoder") is None
    assert registry.resolve_publisher("Receipts") is None


def test_a_publisher_that_cannot_be_built_is_left_out_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = HandlerRegistry()
    registry.register_module(_module("broken_publishers", Unbuildable=Unbuildable))
    assert not registry.publishers.is_registered("unbuildable")
    assert "needs a connection" in caplog.text


def test_publishers_registered_by_hand_in_the_shared_registry_are_found() -> None:
    PublisherRegistry.instance().register(Receipts())
    assert isinstance(HandlerRegistry().resolve_publisher("shop.Receipts"), Receipts)
    with pytest.raises(ValueError, match="BasePublisher"):
        PublisherRegistry.instance().register(object())  # type: ignore[arg-type]


def test_the_default_publisher_publishes_the_result_and_an_empty_failure() -> None:
    context = {
        "task_uuid": "t",
        "step_uuid": "s",
        "step_name": "charge",
        "namespace": "shop",
        "correlation_id": "c",
    }
    publisher = DefaultPublisher()
    success = StepEventContext(**context, result={"id": 1})
    failure = StepEventContext(**context, success=False, outcome="permanent_failure")
    assert publisher.transform_payload(success) == {"id": 1}
    assert publisher.transform_payload(failure) == {}
    assert publisher.should_publish(success)
    assert publisher.before_publish("a.b", {}, {})
    assert publisher.publisher_name == "default"


def test_tasker_core_domain_events_resolves_to_the_sdk(tmp_path: Path) -> None:
    alias_tasker_core()
    assert sys.modules["tasker_core.domain_events"] is sys.modules["tasker_ctl.sdk.domain_events"]
    handlers = tmp_path / "shop_events.py"
    handlers.write_text(
        "from tasker_core.domain_events import BasePublisher\n\n\n"
        "class Audit(BasePublisher):\n"
        "    publisher_name = 'shop.Audit'\n",
        encoding="utf-8",
    )
    registry = load_handlers([str(handlers)])
    found = registry.resolve_publisher("shop.Audit")
    assert found is not None
    assert found.publisher_name == "shop.Audit"
    assert registry.resolve_publisher("shop_events.Audit") is not None
