"""Shared test configuration: where the shared corpus lives and a clean environment."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CORPUS_ROOT = PROJECT_ROOT.parent / "shared" / "corpus" / "tasker-core"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files with the current output instead of comparing against them",
    )


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


@pytest.fixture
def corpus_root() -> Path:
    if not CORPUS_ROOT.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS_ROOT} (clone with ../shared beside it)")
    return CORPUS_ROOT


# Read before any test runs: the autouse _clean_environment fixture deletes TASKER_* variables.
_EXTERNAL_DATABASE_URL = os.environ.get("TASKER_DATABASE_URL", "").strip() or None


@pytest.fixture(scope="session")
def engine_template_database(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, str]]:
    """``(server URL, database name)``: a migrated database to clone, for tests outside
    ``tests/integration`` (whose conftest has the same fixtures for its own tests).

    Built with the helpers of ``tests/integration/conftest.py``: the server is the one named
    by ``TASKER_DATABASE_URL`` when it is set, else an embedded one in a temporary directory.
    """
    from tasker_ctl.db.embedded import reset_embedded, start_embedded
    from tasker_ctl.engine.store.connection import connect
    from tasker_ctl.engine.store.migrations import migrate
    from tests.integration.conftest import create_database, drop_database, unique_name

    home = None if _EXTERNAL_DATABASE_URL else tmp_path_factory.mktemp("engine-postgres")
    server = _EXTERNAL_DATABASE_URL or start_embedded(home)
    name = unique_name("tasker_template")
    try:
        url = create_database(server, name)
        try:
            with connect(url) as store:
                migrate(store)
            yield server, name
        finally:
            drop_database(server, name)
    finally:
        if home is not None:
            # reset: as root the data may live outside the temporary home (docs/database.md)
            reset_embedded(home)


@pytest.fixture
def fresh_database_url(engine_template_database: tuple[str, str]) -> Iterator[str]:
    """URL of a new, fully migrated database for this test only (dropped afterwards)."""
    from tests.integration.conftest import create_database, drop_database, unique_name

    server, template = engine_template_database
    name = unique_name("test")
    url = create_database(server, name, template)
    try:
        yield url
    finally:
        drop_database(server, name)
