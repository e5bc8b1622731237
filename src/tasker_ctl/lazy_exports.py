"""Lazy faces: a package's public names, each imported from its module on first use.

The engine's faces (``tasker_ctl.engine`` and its public sub-packages) name what the CLI and
the reports may use without importing it: ``import tasker_ctl.engine.views`` loads nothing, and
a command that never touches a task never imports psycopg. ``tasker_ctl.planning`` does the
same, so that a worker importing one planning module does not load the validator's stages. A
name is looked up in its module the first time it is read, then kept on the package. Depends
on nothing of ours; every layer may use it.
"""

from __future__ import annotations

import importlib
import sys

# the console script imports this before it hands a command to a preloader: no typing at run
# time (tasker_ctl.preload.place says why)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` serving ``exports`` (public name -> the
    module, relative to ``package``, that defines it)."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
