"""Importing tasker-ctl in the parent, once, so that a forked child starts warm.

Every module of the package is imported (commands import theirs inside functions), then the
libraries the fuzzed commands import lazily. Nothing is run: the children must start from a
state no command has touched.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil

_SKIPPED = ("tasker_ctl.__main__",)
_LIBRARIES = ("jsonschema", "jq", "jinja2", "datamodel_code_generator", "rich.console")


def preload() -> list[str]:
    """Import what can be imported; the names that failed (their runs will say why)."""
    import tasker_ctl

    failed = []
    prefix = tasker_ctl.__name__ + "."
    for module in pkgutil.walk_packages(tasker_ctl.__path__, prefix):
        if module.name in _SKIPPED:
            continue
        try:
            importlib.import_module(module.name)
        except Exception:
            failed.append(module.name)
    for name in _LIBRARIES:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    return failed
