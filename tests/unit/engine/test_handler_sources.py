"""A template's ``handler.callable`` reaches only handlers from the ``--handlers`` locations.

A callable is a registry key, or ``module.Name`` in a module loaded from those locations (or in
an already loaded submodule of a package loaded from them). Nothing is imported because a
template names it, and a handler module that fails in any way while loading is a coded error.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasker_ctl.engine.errors import HandlerLoadError
from tasker_ctl.engine.worker.handler_loading import load_handlers
from tasker_ctl.sdk.registry import HandlerRegistry

HANDLER_MODULE = """\
from tasker_core import StepHandler, StepHandlerResult
from tasker_core.step_handler.functional import step_handler


class ClassHandler(StepHandler):
    handler_name = "{prefix}.ClassHandler"

    def call(self, context):
        return self.success({{"kind": "class"}})


@step_handler("{prefix}.function")
def function_handler():
    return {{"kind": "function"}}


NOT_A_HANDLER = 3
"""


@pytest.fixture
def clean_modules() -> Iterator[None]:
    """Modules this test imports are forgotten afterwards (their names are reused)."""
    before = set(sys.modules)
    path = list(sys.path)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]
    sys.path[:] = path


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.usefixtures("clean_modules")
def test_a_callable_never_imports_a_module_the_locations_do_not_hold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handlers = _write(tmp_path / "app" / "handlers.py", HANDLER_MODULE.format(prefix="app"))
    marker = tmp_path / "neighbour_ran"
    _write(
        tmp_path / "app" / "neighbour.py",
        f"open({str(marker)!r}, 'w').close()\n"
        "from tasker_core import StepHandler\n"
        "class Handler(StepHandler):\n    handler_name = 'neighbour.Handler'\n",
    )
    sys.modules.pop("this", None)  # so that an import would print the Zen again
    registry = load_handlers([str(handlers)])

    assert registry.resolve("this.Anything") is None
    assert registry.resolve("neighbour.Handler") is None
    assert registry.resolve("json.JSONDecoder") is None
    assert registry.resolve("os.path.join") is None
    assert "this" not in sys.modules
    message = registry.not_found_message("this.Anything")
    assert message.startswith("Handler not found: this.Anything; ")
    assert f"--handlers loaded {handlers}" in message
    assert "neighbour" not in sys.modules
    assert not marker.exists()
    assert "The Zen of Python" not in capsys.readouterr().out


@pytest.mark.usefixtures("clean_modules")
def test_dotted_callables_resolve_into_loaded_modules(tmp_path: Path) -> None:
    handlers = _write(tmp_path / "files" / "handlers.py", HANDLER_MODULE.format(prefix="f"))
    package = tmp_path / "loaded_pkg_for_dotted"
    _write(package / "__init__.py", "")
    _write(package / "step_handlers.py", HANDLER_MODULE.format(prefix="p"))
    # a private module is not loaded by scanning, but a loaded module may import it
    _write(package / "_impl.py", HANDLER_MODULE.format(prefix="impl"))
    _write(package / "uses_impl.py", "from loaded_pkg_for_dotted import _impl  # noqa\n")
    registry = load_handlers([str(handlers), str(package)])

    by_key = registry.resolve("p.ClassHandler")
    assert by_key is not None
    assert by_key.name == "p.ClassHandler"
    # a dotted path into a module loaded from a directory, by its module name
    by_path = registry.resolve("loaded_pkg_for_dotted.step_handlers.ClassHandler")
    assert by_path is not None
    assert by_path.name == "p.ClassHandler"
    function = registry.resolve("loaded_pkg_for_dotted.step_handlers.function_handler")
    assert function is not None
    assert function.name == "p.function"
    # an already loaded submodule of a loaded package
    private = registry.resolve("loaded_pkg_for_dotted._impl.ClassHandler")
    assert private is not None
    assert private.name == "impl.ClassHandler"
    # a file loaded by path answers to its file name
    by_stem = registry.resolve("handlers.ClassHandler")
    assert by_stem is not None
    assert by_stem.name == "f.ClassHandler"
    assert registry.resolve("loaded_pkg_for_dotted.step_handlers.NOT_A_HANDLER") is None
    assert registry.resolve("loaded_pkg_for_dotted.missing.Handler") is None
    assert "loaded_pkg_for_dotted.missing" not in sys.modules


@pytest.mark.usefixtures("clean_modules")
def test_two_files_with_one_name_make_that_name_ambiguous(tmp_path: Path) -> None:
    first = _write(tmp_path / "a" / "handlers.py", HANDLER_MODULE.format(prefix="a"))
    second = _write(tmp_path / "b" / "handlers.py", HANDLER_MODULE.format(prefix="b"))
    registry = load_handlers([str(first), str(second)])
    assert registry.resolve("handlers.ClassHandler") is None  # which file? neither
    assert registry.resolve("a.ClassHandler") is not None
    assert registry.resolve("b.ClassHandler") is not None


@pytest.mark.usefixtures("clean_modules")
def test_an_importable_module_name_is_a_location_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / "named_location_pkg" / "__init__.py", "")
    _write(tmp_path / "named_location_pkg" / "handlers.py", HANDLER_MODULE.format(prefix="n"))
    _write(tmp_path / "not_a_location.py", HANDLER_MODULE.format(prefix="x"))
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = load_handlers(["named_location_pkg"])
    assert registry.resolve("named_location_pkg.handlers.ClassHandler") is not None
    # importable, but not a location: a template cannot make it load
    assert registry.resolve("not_a_location.ClassHandler") is None
    assert "not_a_location" not in sys.modules


def test_a_registry_built_by_hand_resolves_only_what_it_was_given() -> None:
    registry = HandlerRegistry()
    assert registry.resolve("tasker_ctl.sdk.step_handler.base.StepHandler") is None
    assert registry.resolve("json.JSONDecoder") is None


@pytest.mark.usefixtures("clean_modules")
@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("raise RuntimeError('boom')\n", "RuntimeError: boom"),
        ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
        ("raise KeyboardInterrupt\n", "KeyboardInterrupt"),
        ("raise GeneratorExit('odd')\n", "GeneratorExit: odd"),
        ("import no_such_module_for_handlers_xyz\n", "ModuleNotFoundError"),
        ("def broken(:\n", "SyntaxError"),
    ],
)
def test_a_module_that_fails_to_load_is_a_coded_error(
    tmp_path: Path, body: str, named: str
) -> None:
    for spec in (
        _write(tmp_path / "file" / "failing_handlers.py", body),
        _write(tmp_path / "failing_dir_handlers" / "mod.py", body).parent,
    ):
        with pytest.raises(HandlerLoadError) as caught:
            load_handlers([str(spec)])
        error = caught.value
        assert error.code == "HANDLERS_NOT_LOADED"
        assert error.exit_code == 2
        assert named in error.message
        assert str(spec) in error.message
