"""Shared test configuration: where the shared corpus lives, a clean environment, markers by
folder, and PostgreSQL for every folder (``tests/postgres_plugin.py``)."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tasker_ctl.preload.control import stop_preloaders

# the socket guard: no test reaches the network (loopback only); the loopback OpenAI-protocol
# server's fixture (openai_server)
pytest_plugins = ["tests.postgres_plugin", "tests.socket_guard", "tests.openai_server"]

TESTS_ROOT = Path(__file__).resolve().parent
PROJECT_ROOT = TESTS_ROOT.parent
CORPUS_ROOT = PROJECT_ROOT.parent / "shared" / "corpus" / "tasker-core"
FIXTURES = TESTS_ROOT / "fixtures"
# a test's first folder below tests/ -> the marker it gets (pytest -m "not integration")
FOLDER_MARKERS = {"integration": "integration", "e2e": "e2e"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files with the current output instead of comparing against them",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        try:
            folder = item.path.relative_to(TESTS_ROOT).parts[0]
        except ValueError:
            continue  # collected from outside tests/ (a path given on the command line)
        marker = FOLDER_MARKERS.get(folder)
        if marker is not None:
            item.add_marker(marker)


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[Path, str], None]:
    """Compare text with a golden file, or rewrite the file under ``--update-golden``."""
    update = bool(request.config.getoption("--update-golden"))

    def check(path: Path, actual: str) -> None:
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8", newline="\n")
            return
        assert path.is_file(), f"missing golden file {path}: run pytest --update-golden"
        expected = path.read_text(encoding="utf-8")
        if actual != expected:
            diff = "".join(
                difflib.unified_diff(
                    expected.splitlines(keepends=True),
                    actual.splitlines(keepends=True),
                    fromfile=f"{path.name} (golden)",
                    tofile=f"{path.name} (actual)",
                )
            )
            pytest.fail(
                f"{path.name} differs from its golden file; if intended, rerun with "
                f"pytest --update-golden and review the diff\n{diff}"
            )

    return check


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's shell must not leak into tests."""
    for name in list(os.environ):
        if name.startswith("TASKER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_COLOR", "1")
    # commands a test starts run in their own process (tests/environment.py)
    monkeypatch.setenv("TASKER_PRELOAD", "off")


@pytest.fixture(autouse=True, scope="session")
def _preloaders_contained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A preloader that a command started by a test starts anyway lives in this run's own
    runtime folder, and is stopped when the run ends."""
    runtime = tmp_path_factory.mktemp("runtime")
    runtime.chmod(0o700)
    previous = os.environ.get("XDG_RUNTIME_DIR")
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    try:
        yield
    finally:
        stop_preloaders(runtime / "tasker-ctl")
        if previous is None:
            os.environ.pop("XDG_RUNTIME_DIR", None)
        else:
            os.environ["XDG_RUNTIME_DIR"] = previous


@pytest.fixture
def corpus_root() -> Path:
    if not CORPUS_ROOT.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS_ROOT} (clone with ../shared beside it)")
    return CORPUS_ROOT
