"""Loading handlers from --handlers entries, and tasker_core imports resolving to the SDK."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tasker_ctl.engine.errors import HandlerLoadError
from tasker_ctl.engine.worker.handler_loading import alias_tasker_core, load_handlers


def _write(path: Path, key: str, style: str = "decorator") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if style == "decorator":
        body = (
            "from tasker_core.step_handler.functional import step_handler\n\n"
            f"@step_handler({key!r})\ndef handle():\n    return {{'key': {key!r}}}\n"
        )
    else:
        body = (
            "from tasker_core import StepHandler, StepHandlerResult\n\n"
            "class Handler(StepHandler):\n"
            f"    handler_name = {key!r}\n\n"
            "    def call(self, context):\n"
            f"        return self.success({{'key': {key!r}}})\n"
        )
    path.write_text(body)
    return path


def test_two_files_with_the_same_name_both_load(tmp_path: Path) -> None:
    first = _write(tmp_path / "a" / "handlers.py", "files.first")
    second = _write(tmp_path / "b" / "handlers.py", "files.second", style="class")
    registry = load_handlers([str(first), str(second)])
    assert {"files.first", "files.second"} <= set(registry.list_handlers())


def test_a_directory_is_imported_recursively_as_a_package(tmp_path: Path) -> None:
    root = tmp_path / "pkgdir_handlers"
    _write(root / "__init__.py", "dirs.root")
    _write(root / "nested" / "__init__.py", "dirs.nested_init")
    _write(root / "nested" / "more.py", "dirs.more", style="class")
    _write(root / "_private.py", "dirs.private")
    registry = load_handlers([str(root)])
    names = set(registry.list_handlers())
    assert {"dirs.root", "dirs.nested_init", "dirs.more"} <= names
    assert "dirs.private" not in names


def test_a_module_name_imports_the_module_and_its_submodules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / "modname_handlers" / "__init__.py", "mods.root")
    _write(tmp_path / "modname_handlers" / "sub.py", "mods.sub")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = load_handlers(["modname_handlers"])
    assert {"mods.root", "mods.sub"} <= set(registry.list_handlers())


def test_an_entry_that_cannot_load_is_a_coded_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(HandlerLoadError, match="boom") as caught:
        load_handlers([str(broken)])
    assert caught.value.code == "HANDLERS_NOT_LOADED"
    with pytest.raises(HandlerLoadError):
        load_handlers(["no_such_module_anywhere_xyz"])


def test_tasker_core_resolves_to_the_sdk() -> None:
    alias_tasker_core()
    import tasker_core  # type: ignore[import-not-found]
    from tasker_core.step_handler.functional import step_handler  # type: ignore[import-not-found]

    from tasker_ctl.sdk import StepHandler
    from tasker_ctl.sdk.step_handler import functional

    assert tasker_core.StepHandler is StepHandler
    assert step_handler is functional.step_handler
    assert sys.modules["tasker_core.types"] is sys.modules["tasker_ctl.sdk.types"]
