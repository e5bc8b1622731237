"""HandlerRegistry: registration, resolution by key and dotted path, module scanning."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasker_ctl.sdk import HandlerRegistry, StepContext, StepHandler, StepHandlerResult
from tasker_ctl.sdk.step_handler.functional import handler_class, step_handler


class Greeter(StepHandler):
    handler_name = "greet.Greeter"

    def call(self, context: StepContext) -> StepHandlerResult:
        return self.success({"hello": "world"})


class NeedsConfig(StepHandler):
    def __init__(self, config: dict[str, object]) -> None:
        self.config = config

    def call(self, context: StepContext) -> StepHandlerResult:
        return self.success({"config": self.config})


@step_handler("greet.function")
def greet_function() -> dict[str, str]:
    return {"hello": "function"}


@pytest.fixture
def registry() -> Iterator[HandlerRegistry]:
    HandlerRegistry.reset_instance()
    yield HandlerRegistry.instance()
    HandlerRegistry.reset_instance()


@pytest.fixture
def handler_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throw-away importable package ``sdk_reg_pkg`` with handler modules."""
    name = "sdk_reg_pkg"
    root = tmp_path / name
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "sub" / "__init__.py").write_text("")
    (root / "handlers.py").write_text(
        textwrap.dedent(
            """
            from tasker_ctl.sdk import StepHandler, StepHandlerResult
            from tasker_ctl.sdk.step_handler.functional import step_handler


            class ClassHandler(StepHandler):
                handler_name = "pkg.ClassHandler"

                def call(self, context):
                    return StepHandlerResult.success({"kind": "class"})


            @step_handler("pkg.function_handler")
            def function_handler():
                return {"kind": "function"}


            NOT_A_HANDLER = 3
            """
        )
    )
    (root / "sub" / "more.py").write_text(
        textwrap.dedent(
            """
            from tasker_ctl.sdk.step_handler.functional import step_handler


            @step_handler("pkg.sub.more")
            def more():
                return None
            """
        )
    )
    (root / "_private.py").write_text("raise RuntimeError('private modules are not imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


def test_instance_is_shared_until_reset(registry: HandlerRegistry) -> None:
    assert HandlerRegistry.instance() is registry
    assert HandlerRegistry.instance(skip_bootstrap=True) is registry
    HandlerRegistry.reset_instance()
    assert HandlerRegistry.instance() is not registry


def test_register_and_resolve_by_exact_key(registry: HandlerRegistry) -> None:
    registry.register("greet.Greeter", Greeter)
    assert registry.is_registered("greet.Greeter")
    assert not registry.is_registered("greet.greeter")
    assert registry.get_handler_class("greet.Greeter") is Greeter
    first, second = registry.resolve("greet.Greeter"), registry.resolve("greet.Greeter")
    assert isinstance(first, Greeter)
    assert isinstance(second, Greeter)
    assert first is not second  # a fresh instance per dispatch
    assert registry.resolve("greet") is None
    assert registry.list_handlers() == ["greet.Greeter"]
    assert registry.handler_count() == 1


def test_register_decorated_function(registry: HandlerRegistry) -> None:
    registry.register("greet.function", greet_function)
    assert registry.get_handler_class("greet.function") is handler_class(greet_function)
    assert registry.resolve("greet.function") is not None


def test_register_rejects_non_handlers(registry: HandlerRegistry) -> None:
    with pytest.raises(ValueError, match="StepHandler subclass"):
        registry.register("bad", object)
    with pytest.raises(ValueError, match="StepHandler subclass"):
        registry.register("bad", len)


def test_unregister_and_clear(registry: HandlerRegistry) -> None:
    registry.register("a", Greeter)
    registry.register("b", Greeter)
    assert registry.unregister("a") is True
    assert registry.unregister("a") is False
    registry.clear()
    assert registry.handler_count() == 0


def test_reregistration_replaces(registry: HandlerRegistry) -> None:
    registry.register("k", Greeter)
    registry.register("k", NeedsConfig)
    assert registry.get_handler_class("k") is NeedsConfig


def test_constructor_with_config_gets_empty_config(registry: HandlerRegistry) -> None:
    registry.register("needs", NeedsConfig)
    handler = registry.resolve("needs")
    assert isinstance(handler, NeedsConfig)
    assert handler.config == {}


def test_resolve_dotted_paths(registry: HandlerRegistry, handler_package: str) -> None:
    # an importable module is not enough: resolution never imports what a template names
    assert registry.resolve(f"{handler_package}.handlers.ClassHandler") is None
    assert f"{handler_package}.handlers" not in sys.modules
    registry.add_handler_module(importlib.import_module(f"{handler_package}.handlers"))
    by_class = registry.resolve(f"{handler_package}.handlers.ClassHandler")
    assert by_class is not None
    assert by_class.name == "pkg.ClassHandler"
    by_function = registry.resolve(f"{handler_package}.handlers.function_handler")
    assert by_function is not None
    assert by_function.name == "pkg.function_handler"
    assert registry.resolve(f"{handler_package}.handlers.NOT_A_HANDLER") is None
    assert registry.resolve(f"{handler_package}.missing.Handler") is None
    assert registry.resolve("not a path") is None
    assert registry.handler_count() == 0  # resolution does not register


def test_register_module(registry: HandlerRegistry) -> None:
    count = registry.register_module(sys.modules[__name__])
    assert count == 2  # Greeter and greet_function; NeedsConfig has no handler_name
    assert sorted(registry.list_handlers()) == ["greet.Greeter", "greet.function"]


def test_discover_handlers(registry: HandlerRegistry, handler_package: str) -> None:
    assert registry.discover_handlers(handler_package) == 3
    assert sorted(registry.list_handlers()) == [
        "pkg.ClassHandler",
        "pkg.function_handler",
        "pkg.sub.more",
    ]
