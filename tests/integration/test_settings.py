"""Choosing the database (option, environment, embedded) and keeping passwords out of sight."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from tasker_ctl.db.embedded import reset_embedded
from tasker_ctl.db.settings import (
    DatabaseTarget,
    TargetSource,
    configured_database_url,
    redacted,
    resolve_database_url,
    running_embedded_target,
    with_database,
)
from tasker_ctl.engine.store.connection import connect
from tests.integration.conftest import CreateDatabase


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "home"
    try:
        yield path
    finally:
        reset_embedded(path)  # as root the data may live outside tmp_path


def test_option_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKER_DATABASE_URL", "postgresql://env/db")
    target = resolve_database_url("postgresql://option/db")
    assert (target.url, target.source) == ("postgresql://option/db", TargetSource.OPTION)


def test_environment_wins_over_embedded(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("TASKER_DATABASE_URL", " postgresql://env/db ")
    target = resolve_database_url(None, home=home)
    assert (target.url, target.source) == ("postgresql://env/db", TargetSource.ENVIRONMENT)
    assert not home.exists()  # the embedded server was not touched


def test_blank_settings_mean_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKER_DATABASE_URL", "  ")
    assert configured_database_url("") is None


def test_embedded_is_started_on_demand(home: Path) -> None:
    assert running_embedded_target(home) is None
    target = resolve_database_url(None, home=home)
    assert target.source is TargetSource.EMBEDDED
    assert target.data_dir == home.resolve() / "pgdata"
    assert target.describe() == f"embedded PostgreSQL ({home.resolve() / 'pgdata'})"
    with connect(target.url) as store:
        assert store.server_version()
    running = running_embedded_target(home)
    assert running is not None
    assert running.url == target.url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:s3cret@db.example:5432/app", "postgresql://u:***@db.example:5432/app"),
        ("postgres://u:s3cret@h1:5432,h2:5433/app", "postgres://u:***@h1:5432,h2:5433/app"),
        ("postgresql://u@h/app", "postgresql://u@h/app"),
        ("postgresql://u:@h/app", "postgresql://u:@h/app"),
        ("postgresql://h/app?password=s3cret&sslmode=require", None),
        (
            "postgresql://postgres@/postgres?host=/tmp/a b",
            "postgresql://postgres@/postgres?host=/tmp/a b",
        ),
        ("host=h user=u password=s3cret dbname=app", "host=h user=u password=*** dbname=app"),
        ("host=h password='with space' dbname=app", "host=h password=*** dbname=app"),
        ("postgresql://u:p@ss:w0rd@h/app", "postgresql://u:***@h/app"),
    ],
)
def test_redacted(url: str, shown: str | None) -> None:
    result = redacted(url)
    assert "s3cret" not in result
    assert "with space" not in result
    assert "w0rd" not in result
    if shown is not None:
        assert result == shown
    else:
        assert "password=***" in result
        assert "sslmode=require" in result


def test_target_repr_hides_the_url() -> None:
    target = DatabaseTarget("postgresql://u:s3cret@h/app", TargetSource.OPTION)
    assert "s3cret" not in repr(target)
    assert target.describe() == "postgresql://u:***@h/app (from --database-url)"
    from_environment = DatabaseTarget("postgresql://h/app", TargetSource.ENVIRONMENT)
    assert from_environment.describe() == "postgresql://h/app (from TASKER_DATABASE_URL)"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@h:5432/postgres", "postgresql://u:p@h:5432/test_1"),
        (
            "postgresql://postgres@/postgres?host=/tmp/x%20y",
            "postgresql://postgres@/test_1?host=/tmp/x%20y",
        ),
        ("postgresql://h", "postgresql://h/test_1"),
        ("postgresql://h/a?dbname=b&sslmode=require", "postgresql://h/test_1?sslmode=require"),
        ("host=h dbname=postgres", "host=h dbname=postgres dbname=test_1"),
    ],
)
def test_with_database(url: str, expected: str) -> None:
    assert with_database(url, "test_1") == expected


def test_with_database_reaches_that_database(
    postgres_url: str, new_database: CreateDatabase
) -> None:
    url = new_database()
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(with_database(postgres_url, name)) as connection:
        row = connection.execute("SELECT current_database()").fetchone()
    assert row == (name,)
