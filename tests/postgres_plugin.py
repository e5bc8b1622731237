"""PostgreSQL for the test suite: one server per session, one fresh database per test.

Loaded by ``tests/conftest.py`` (``pytest_plugins``), so every test folder shares the same
fixtures and the same server:

* the server is the one named by ``TASKER_DATABASE_URL`` when it is set (read when this module
  is imported: the autouse ``_clean_environment`` fixture deletes ``TASKER_*`` variables before
  each test), else an embedded one started on first use;
* the embedded server's data lives in a directory made for this session outside pytest's
  temporary folders (``tasker-ctl-tests-*`` in the system's temporary directory, open to the
  server's OS user when the suite runs as root). pytest resets ``/tmp/pytest-of-<user>`` to
  0700 whenever another run of it starts, which would lock out a server running as another
  user from data kept below it;
* the server is stopped and its data deleted at the end of the session, by the fixture's
  finalizer (SIGTERM ends the run as Ctrl-C does, so it gets there) and, should the session
  not get that far, at interpreter exit; it runs without fsync, being thrown away;
* embedded servers that tests start themselves (in their ``tmp_path``, as the CLI does in the
  current directory) are stopped at the end of the session too, should a test leave one up.

Once per session a template database is created and migrated with the packaged migrations;
each test that asks for ``database_url``, ``store`` or ``fresh_database_url`` gets a copy of it
(``CREATE DATABASE ... TEMPLATE``), dropped afterwards. Copies are made ahead and dropped
behind by a thread of their own (``Databases``) and, unlike rolled-back transactions, work
with several connections and LISTEN/NOTIFY. Every name is random, so concurrent sessions can
share one external server.
"""

from __future__ import annotations

import atexit
import os
import queue
import secrets
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg import sql

from tasker_ctl.db.embedded import DATA_DIR_NAME, embedded_status, reset_embedded, start_embedded
from tasker_ctl.db.server_access import running_as_root
from tasker_ctl.db.settings import with_database

if TYPE_CHECKING:
    from tasker_ctl.engine.store.connection import Store

EXTERNAL_DATABASE_URL = os.environ.get("TASKER_DATABASE_URL", "").strip() or None
HOME_PREFIX = "tasker-ctl-tests-"

CreateDatabase = Callable[..., str]


# -- databases on a server ---------------------------------------------------------------------


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


class Databases:
    """The tests' databases on one server, created and dropped by a thread of their own: a copy
    of the template is made before a test asks for it and a test's databases are dropped
    after it ended, while the next test runs. Each copy is still a new database that only its
    test sees; only the waiting moves out of the tests."""

    _AHEAD = 3  # copies kept ready: tests quicker than a copy take the next one at once
    _STOP = ""

    def __init__(self, server_url: str, template: str) -> None:
        self.server_url, self.template = server_url, template
        self._jobs: queue.Queue[str | None] = queue.Queue()  # None: make a copy; else drop
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._failures: list[BaseException] = []
        self._thread = threading.Thread(target=self._work, name="test-databases", daemon=True)
        self._thread.start()
        for _ in range(self._AHEAD):
            self._jobs.put(None)

    def copy(self) -> str:
        """The name of a new copy of the template."""
        self._jobs.put(None)  # the one after it
        made = self._ready.get(timeout=300)
        if isinstance(made, BaseException):
            raise made
        return made

    def create(self, template: str | None = None) -> str:
        """The name of a new database: a copy of ``template``, or an empty one."""
        if template == self.template:
            return self.copy()
        name = unique_name("test")
        create_database(self.server_url, name, template)
        return name

    def drop_later(self, name: str) -> None:
        self._jobs.put(name)

    def close(self) -> None:
        """Drop every database made and not yet dropped; raise what went wrong meanwhile."""
        self._jobs.put(self._STOP)
        self._thread.join()
        while not self._ready.empty():
            made = self._ready.get()
            if isinstance(made, str):
                drop_database(self.server_url, made)
        if self._failures:
            raise self._failures[0]

    def _work(self) -> None:
        while (job := self._jobs.get()) != self._STOP:
            try:
                if job is None:
                    name = unique_name("test")
                    create_database(self.server_url, name, self.template)
                    self._ready.put(name)
                else:
                    drop_database(self.server_url, job)
            except BaseException as error:
                # a copy that failed fails the test waiting for it; a drop, the session's end
                (self._ready.put if job is None else self._failures.append)(error)


# -- the session's embedded server ---------------------------------------------------------------


class SessionServer:
    """The embedded server of one test session: started on first use, stopped once (by the
    session's finalizer, at interpreter exit, or when the run is ended with SIGTERM), and only
    by the process that started it, never by a child forked from it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._home: Path | None = None
        self._url: str | None = None
        self._owner = os.getpid()

    def url(self) -> str:
        with self._lock:
            if self._url is None:
                home = Path(tempfile.mkdtemp(prefix=HOME_PREFIX))
                if running_as_root():
                    # the server runs as another user, who must traverse this directory of
                    # ours (not list it); the data directory below stays the server's own
                    home.chmod(0o711)
                self._home = home
                atexit.register(self.stop)
                # stopped by the session, never for being idle between two tests
                url = start_embedded(home, idle_stop_after=0)
                _throwaway_durability(url)
                self._url = url
            return self._url

    def stop(self) -> None:
        if os.getpid() != self._owner:
            return
        with self._lock:
            home, self._home, self._url = self._home, None, None
        if home is None:
            return
        try:
            reset_embedded(home)
        finally:
            shutil.rmtree(home, ignore_errors=True)


# The session's server is deleted at the end: nothing on it needs to survive a crash of the
# machine, and waiting for the disk costs nearly half of the time a test's database takes.
_THROWAWAY_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def _throwaway_durability(url: str) -> None:
    with admin_connection(url) as connection:
        for name, value in _THROWAWAY_SETTINGS.items():
            connection.execute(
                sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value))
            )
        connection.execute("SELECT pg_reload_conf()")


def _end_on_sigterm(owner: int) -> None:
    """A SIGTERM (a CI job cancelled, ``timeout``) ends the run as Ctrl-C does, so that the
    session's finalizers stop the server; the default would end the process without them."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return  # someone else decides what SIGTERM does

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != owner:  # a forked child: die as it would have
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def stop_servers_below(root: Path) -> list[Path]:
    """Stop (and delete) every embedded server whose data directory lies below ``root``; the
    data directories of the servers that were running. Data the server's user could not reach
    in place is a link to elsewhere (``server_access``): ``reset_embedded`` deletes both."""
    running: list[Path] = []
    for directory, subdirectories, _files in os.walk(root):
        if DATA_DIR_NAME in subdirectories:
            subdirectories.remove(DATA_DIR_NAME)  # a server's own files: nothing to find there
            home = Path(directory)
            if embedded_status(home).running:
                running.append(home / DATA_DIR_NAME)
                reset_embedded(home)
    return running


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _no_server_left(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[None]:
    """At the end of the session, stop embedded servers that tests or the commands they ran
    started in their temporary directories and left running (also when the run is ended
    with Ctrl-C or SIGTERM)."""
    _end_on_sigterm(os.getpid())
    yield
    left = stop_servers_below(tmp_path_factory.getbasetemp())
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if left and reporter is not None:
        reporter.write_line(
            f"stopped {len(left)} embedded PostgreSQL server(s) left running by tests: "
            + ", ".join(str(path) for path in left)
        )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of the session's server (its maintenance database)."""
    if EXTERNAL_DATABASE_URL is not None:
        yield EXTERNAL_DATABASE_URL
        return
    server = SessionServer()
    try:
        yield server.url()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def template_database(postgres_url: str) -> Iterator[str]:
    """Name of a database migrated with the packaged migrations, for tests to clone."""
    from tasker_ctl.engine.store.connection import connect
    from tasker_ctl.engine.store.migrations import migrate

    name = unique_name("tasker_template")
    url = create_database(postgres_url, name)
    try:
        with connect(url) as store:
            migrate(store)
        # no session may stay connected to a database that is being cloned
        yield name
    finally:
        drop_database(postgres_url, name)


@pytest.fixture(scope="session")
def engine_template_database(postgres_url: str, template_database: str) -> tuple[str, str]:
    """``(server URL, template database name)``."""
    return postgres_url, template_database


@pytest.fixture(scope="session")
def databases(postgres_url: str, template_database: str) -> Iterator[Databases]:
    """The session's test databases (``Databases``)."""
    made = Databases(postgres_url, template_database)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def new_database(postgres_url: str, databases: Databases) -> Iterator[CreateDatabase]:
    """Factory: ``new_database(template=None) -> url`` of a database dropped after the test.

    Without a template the database is empty (a copy of ``template1``): what tests of the
    migration runner with their own migrations need.
    """
    created: list[str] = []

    def create(template: str | None = None) -> str:
        name = databases.create(template)
        created.append(name)
        return with_database(postgres_url, name)

    yield create
    for name in created:
        databases.drop_later(name)


@pytest.fixture
def database_url(new_database: CreateDatabase, template_database: str) -> str:
    """URL of a fresh, fully migrated database for this test only."""
    return new_database(template_database)


@pytest.fixture
def fresh_database_url(new_database: CreateDatabase, template_database: str) -> str:
    """URL of a new, fully migrated database for this test only (dropped afterwards); the
    name the command-line tests use."""
    return new_database(template_database)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A ``Store`` connected to this test's fresh database."""
    from tasker_ctl.engine.store.connection import connect

    with connect(database_url) as opened:
        yield opened
