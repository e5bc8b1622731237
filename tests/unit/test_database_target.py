"""Which database: the option, then TASKER_DATABASE_URL, then the project configuration's
database_url; and what DATABASE_UNAVAILABLE advises for each (never `db start` for a URL,
never a password)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasker_ctl.db.settings import DatabaseTarget, TargetSource, configured_database_url

URL = "postgresql://app:s3cret@db.internal:5432/tasks"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "tasker.toml").write_text(f'database_url = "{URL}"\n', encoding="utf-8")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    return tmp_path


def test_the_configured_url_comes_after_the_option_and_the_variable(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = configured_database_url()
    assert target is not None
    assert (target.url, target.source) == (URL, TargetSource.PROJECT_CONFIG)
    assert target.describe() == (
        "postgresql://app:***@db.internal:5432/tasks "
        f"(from database_url in {(project / 'tasker.toml').resolve()})"
    )
    monkeypatch.setenv("TASKER_DATABASE_URL", "postgresql://env/db")
    from_environment = configured_database_url()
    from_option = configured_database_url("postgresql://o/db")
    assert from_environment is not None
    assert from_option is not None
    assert from_environment.source is TargetSource.ENVIRONMENT
    assert from_option.source is TargetSource.OPTION


@pytest.mark.parametrize(
    ("source", "origin"),
    [(TargetSource.OPTION, "--database-url"), (TargetSource.ENVIRONMENT, "TASKER_DATABASE_URL")],
)
def test_a_url_hint_names_its_source(source: TargetSource, origin: str) -> None:
    hint = DatabaseTarget(URL, source).unavailable_hint()
    assert "postgresql://app:***@db.internal:5432/tasks" in hint
    assert hint.endswith(f"it comes from {origin}")
    assert "s3cret" not in hint
    assert "db start" not in hint


def test_the_embedded_hint_names_its_commands(tmp_path: Path) -> None:
    target = DatabaseTarget("postgresql://postgres@/postgres", TargetSource.EMBEDDED, tmp_path)
    hint = target.unavailable_hint()
    assert str(tmp_path) in hint
    assert "`tasker-ctl db status`" in hint
    assert "`tasker-ctl db stop` then `tasker-ctl db start`" in hint
