"""``HandlerRegistry``: from a template's ``handler.callable`` to a handler instance.

Mirrors the parts of ``tasker_core``'s registry that handler code and a local runner need:
exact-key registration (the key is a class's ``handler_name`` or a decorator's name), one new
instance per resolution, module scanning, and resolution of dotted paths.

A template is untrusted input, so a callable reaches only what the operator loaded: a
registered key, or ``module.Name`` in a handler module (one scanned with ``register_module``,
which is what loading ``--handlers`` does, or an already loaded submodule of such a package).
Resolution never imports: a callable such as ``this.Anything`` or the name of a module lying
next to a handler file runs no code.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any, ClassVar

from tasker_ctl.sdk.domain_events import (
    BasePublisher,
    PublisherRegistry,
    as_publisher_class,
)
from tasker_ctl.sdk.step_handler.base import StepHandler

__all__ = ["HandlerRegistry", "as_handler_class", "instantiate_handler"]

_DOTTED_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def as_handler_class(obj: object) -> type[StepHandler] | None:
    """``obj`` as a handler class: a ``StepHandler`` subclass, or a decorated function's class."""
    if isinstance(obj, type):
        return obj if issubclass(obj, StepHandler) else None
    attached = getattr(obj, "_handler_class", None) if callable(obj) else None
    if isinstance(attached, type) and issubclass(attached, StepHandler):
        return attached
    return None


def instantiate_handler(cls: type[StepHandler]) -> StepHandler:
    """A fresh instance; a class whose constructor needs arguments gets ``config={}``.

    That fallback is what Tasker Core does when a no-argument construction fails.
    """
    factory: Callable[..., StepHandler] = cls
    try:
        return factory()
    except TypeError:
        return factory(config={})


class HandlerRegistry:
    """Handler classes by registry key; ``instance()`` is the process-wide registry."""

    _instance: ClassVar[HandlerRegistry | None] = None

    def __init__(self) -> None:
        self._handlers: dict[str, type[StepHandler]] = {}
        # handler modules by the name a dotted callable uses (None: two modules claim it)
        self._modules: dict[str, ModuleType | None] = {}
        self._locations: list[str] = []
        # the custom domain event publishers the handler modules hold (sdk/domain_events.py)
        self.publishers = PublisherRegistry()

    @classmethod
    def instance(cls, skip_bootstrap: bool = False) -> HandlerRegistry:
        """The shared registry. There is no bootstrap discovery here: ``skip_bootstrap`` is
        accepted for compatibility and has no effect; register or scan modules explicitly."""
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    @classmethod
    def reset_instance(cls) -> None:
        """Forget the shared registry (tests start from an empty one)."""
        cls._instance = None

    def register(self, name: str, handler: type[StepHandler] | Callable[..., Any]) -> None:
        """Register a handler class (or a decorated function's class) under ``name``.

        A later registration under the same name replaces the earlier one.
        """
        cls = as_handler_class(handler)
        if cls is None:
            raise ValueError(
                f"handler for {name!r} must be a StepHandler subclass or a decorated "
                f"handler function, got {handler!r}"
            )
        self._handlers[name] = cls

    def unregister(self, name: str) -> bool:
        """Remove ``name``; whether it was registered."""
        return self._handlers.pop(name, None) is not None

    def get_handler_class(self, name: str) -> type[StepHandler] | None:
        return self._handlers.get(name)

    def is_registered(self, name: str) -> bool:
        return name in self._handlers

    def list_handlers(self) -> list[str]:
        return list(self._handlers)

    def handler_count(self) -> int:
        return len(self._handlers)

    def clear(self) -> None:
        self._handlers.clear()

    def resolve(self, key: str) -> StepHandler | None:
        """A new handler instance for ``key``, or None if nothing matches.

        First an exact registry key; then, if ``key`` is a dotted path ``pkg.mod.Name``, the
        attribute ``Name`` of handler module ``pkg.mod`` (see ``add_handler_module``) when it
        is a handler class or a decorated handler function (Tasker Core looks up classes only).
        Nothing is imported: a module that was not loaded as a handler module gives None.
        """
        cls = self._handlers.get(key) or self._loaded_handler_class(key)
        return instantiate_handler(cls) if cls is not None else None

    def add_handler_module(self, module: ModuleType, *, alias: str | None = None) -> None:
        """Let dotted callables name handlers in ``module`` (by its name, and by ``alias`` if
        given, e.g. the file name of a module loaded from a path), and in its submodules that
        are already loaded. An alias two modules claim resolves to neither."""
        self._modules[module.__name__] = module
        if alias and alias != module.__name__:
            claimed = self._modules.get(alias, module)
            self._modules[alias] = module if claimed is module else None

    def handler_modules(self) -> list[str]:
        """The names dotted callables may start with (module names and aliases)."""
        return [name for name, module in self._modules.items() if module is not None]

    def known_callables(self) -> list[str]:
        """Every name a step's ``callable`` may resolve through: registry keys, and
        ``module.Name`` for each handler a handler module holds (a planner's allow-list is
        expanded against these)."""
        names = set(self._handlers)
        for prefix, module in self._modules.items():
            if module is None:
                continue
            for attribute, value in list(vars(module).items()):
                cls = as_handler_class(value)
                if cls is not None and not inspect.isabstract(cls):
                    names.add(f"{prefix}.{attribute}")
        return sorted(names)

    def add_location(self, location: str) -> None:
        """Remember where handlers were loaded from (a ``--handlers`` entry), for messages."""
        if location not in self._locations:
            self._locations.append(location)

    @property
    def locations(self) -> tuple[str, ...]:
        return tuple(self._locations)

    def not_found_message(self, key: str) -> str:
        """Why ``key`` resolves to nothing, naming where handlers come from."""
        if not self._locations:
            return (
                f"Handler not found: {key}; no --handlers location was loaded: pass the file, "
                "directory or module that defines it"
            )
        return (
            f"Handler not found: {key}; --handlers loaded {', '.join(self._locations)}: name a "
            "handler_name or decorator name they register, or module.Name in a module they hold"
        )

    def register_module(self, module: ModuleType) -> int:
        """Register every handler a module defines or imports, under its ``handler_name``.

        Classes with an empty ``handler_name`` (base classes) are skipped. Returns how many
        registrations were made. The module also becomes a handler module, so that dotted
        callables may name what it holds.
        """
        self.add_handler_module(module)
        self.publishers.register_module(module)
        count = 0
        for value in list(vars(module).values()):
            cls = as_handler_class(value)
            if cls is not None and cls.handler_name:
                self.register(cls.handler_name, cls)
                count += 1
        return count

    def discover_handlers(self, package: str | ModuleType) -> int:
        """Import ``package`` and its submodules and register the handlers they hold.

        Submodules whose name starts with ``_`` are skipped.
        """
        root = importlib.import_module(package) if isinstance(package, str) else package
        count = self.register_module(root)
        for info in pkgutil.walk_packages(getattr(root, "__path__", []), f"{root.__name__}."):
            if info.name.rsplit(".", 1)[-1].startswith("_"):
                continue
            count += self.register_module(importlib.import_module(info.name))
        return count

    def resolve_publisher(self, name: str) -> BasePublisher | None:
        """The publisher a ``publishes_events`` entry names, or None: a ``publisher_name``
        registered here or in ``PublisherRegistry.instance()``, else a publisher class
        ``module.Name`` in a handler module (a new instance). Nothing is imported."""
        found = self.publishers.get(name) or PublisherRegistry.instance().get(name)
        if found is not None or not _DOTTED_PATH.fullmatch(name):
            return found
        module_name, _, attribute = name.rpartition(".")
        module = self._handler_module(module_name)
        cls = as_publisher_class(getattr(module, attribute, None)) if module else None
        return cls() if cls is not None else None

    def _loaded_handler_class(self, key: str) -> type[StepHandler] | None:
        if not _DOTTED_PATH.fullmatch(key):
            return None
        module_name, _, attribute = key.rpartition(".")
        module = self._handler_module(module_name)
        if module is None:
            return None
        cls = as_handler_class(getattr(module, attribute, None))
        # a base class a module imports (StepHandler itself) cannot run
        return None if cls is None or inspect.isabstract(cls) else cls

    def _handler_module(self, name: str) -> ModuleType | None:
        if name in self._modules:
            return self._modules[name]
        for package in self._modules.values():
            if (
                package is not None
                and hasattr(package, "__path__")
                and name.startswith(f"{package.__name__}.")
            ):
                # already imported by the package's own code; never imported here
                loaded = sys.modules.get(name)
                if isinstance(loaded, ModuleType) and loaded.__name__ == name:
                    return loaded
                return None
        return None
