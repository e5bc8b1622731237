"""The record of the embedded servers tasker-ctl started, under $XDG_STATE_HOME: one entry per
data directory, damaged entries dropped when read."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasker_ctl.db import registry


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state"


def test_recorded_once_per_data_directory(tmp_path: Path) -> None:
    assert registry.registry_dir() == tmp_path / "state" / "tasker-ctl" / "servers"
    home = tmp_path / "p" / ".tasker"
    registry.record(home, home / "pgdata")
    registry.record(home, home / "pgdata")
    [server] = registry.recorded()
    assert (server.home, server.data_dir) == (home, home / "pgdata")
    registry.forget(home / "pgdata")
    assert registry.recorded() == []


def test_damaged_entries_are_dropped(tmp_path: Path) -> None:
    folder = registry.registry_dir()
    folder.mkdir(parents=True)
    (folder / "broken.json").write_text("{not json", encoding="utf-8")
    (folder / "partial.json").write_text('{"home": "/x"}', encoding="utf-8")
    registry.record(tmp_path / "h", tmp_path / "h" / "pgdata")
    assert [server.home for server in registry.recorded()] == [tmp_path / "h"]
    assert sorted(path.name for path in folder.iterdir()) == [registry.recorded()[0].entry.name]


def test_stopping_all_drops_servers_that_no_longer_run(tmp_path: Path) -> None:
    home = tmp_path / "gone" / ".tasker"
    registry.record(home, home / "pgdata")  # never started, or stopped and deleted since
    assert registry.stop_recorded_servers() == []
    assert registry.recorded() == []
