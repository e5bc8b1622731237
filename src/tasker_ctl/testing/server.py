"""The PostgreSQL the ``tasker_*`` fixtures use: one per pytest session, thrown away after.

Where: the server named by ``TASKER_DATABASE_URL`` when it is set, else an embedded server
started on first use in a folder made for the session in the system's temporary directory,
never in the working directory nor in the project's ``.tasker`` (``TASKER_HOME`` is not
read). Either way the tests' data lives in databases of their own: one migrated template
database per session, and a copy of it per test (``CREATE DATABASE ... TEMPLATE``), dropped
when the test ends. On a configured server nothing but those databases is touched; the
embedded server is stopped and its folder deleted when the session ends, at interpreter exit
should the session not get there, and a SIGTERM ends the run as Ctrl-C does so that both
happen.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from types import FrameType

from tasker_ctl.db.embedded import reset_embedded, start_embedded
from tasker_ctl.db.server_access import running_as_root
from tasker_ctl.db.settings import DATABASE_URL_ENV, with_database

HOME_PREFIX = "tasker-pytest-"
DATABASE_PREFIX = "tasker_pytest"


class ThrowawayServer:
    """The session's server and its databases; nothing starts before ``new_database``."""

    def __init__(self, server_url: str | None = None) -> None:
        """``server_url``: a server to make databases on (its own database is left alone);
        None starts an embedded one when first needed."""
        self._configured = server_url
        self._lock = threading.Lock()
        self._owner = os.getpid()
        self._home: Path | None = None
        self._url: str | None = None
        self._template: str | None = None
        self._made: dict[str, str] = {}  # URL -> database name, for the test databases

    @classmethod
    def from_environment(cls) -> ThrowawayServer:
        return cls(os.environ.get(DATABASE_URL_ENV, "").strip() or None)

    @property
    def home(self) -> Path | None:
        """The embedded server's folder while it runs (None on a configured server)."""
        return self._home

    def new_database(self) -> str:
        """The URL of a new database with the current schema, for one test."""
        from tasker_ctl.engine.store import connect

        with self._lock:
            server, template = self._server(), self._template_database()
            name = _unique_name()
            with connect(server) as store:
                store.execute_naming("create_database_copy", database=name, template=template)
            url = with_database(server, name)
            self._made[url] = name
        return url

    def drop_database(self, url: str) -> None:
        """Drop a database ``new_database`` made (the sessions left on it are ended)."""
        with self._lock:
            name = self._made.pop(url, None)
            if name is not None and self._url is not None:
                self._drop(self._url, name)

    def close(self) -> None:
        """Drop what is left of the session's databases; stop and delete the embedded server.
        Only the process that made them does (not a child forked from it)."""
        if os.getpid() != self._owner:
            return
        with self._lock:
            url, home, self._url, self._home = self._url, self._home, None, None
            names = [*self._made.values(), *([self._template] if self._template else [])]
            self._made.clear()
            self._template = None
        try:
            if url is not None and home is None:  # a configured server: drop ours, only ours
                for name in names:
                    self._drop(url, name)
        finally:
            if home is not None:
                try:
                    reset_embedded(home)
                finally:
                    shutil.rmtree(home, ignore_errors=True)

    def _server(self) -> str:
        if self._url is None:
            if self._configured is not None:
                self._url = self._configured
            else:
                self._url = self._start_embedded()
        return self._url

    def _start_embedded(self) -> str:
        home = Path(tempfile.mkdtemp(prefix=HOME_PREFIX))
        if running_as_root():
            # the server runs as another user, who must pass through this folder of ours
            # (not list it); the data directory below stays the server's own
            home.chmod(0o711)
        self._home = home
        atexit.register(self.close)
        _end_on_sigterm(self._owner)
        try:
            # no idle-stop watcher: this server is stopped when the session ends
            return start_embedded(home, idle_stop_after=0)
        except BaseException:
            self._home = None
            shutil.rmtree(home, ignore_errors=True)
            raise

    def _template_database(self) -> str:
        if self._template is None:
            from tasker_ctl.engine.store import connect, migrate

            assert self._url is not None
            name = _unique_name()
            with connect(self._url) as store:
                store.execute_naming("create_database", database=name)
            self._template = name
            # no session may stay connected to a database that is being copied
            with connect(with_database(self._url, name)) as store:
                migrate(store)
        return self._template

    @staticmethod
    def _drop(server: str, name: str) -> None:
        from tasker_ctl.engine.store import connect

        with connect(server) as store:
            store.execute_naming("drop_database", database=name)


def _unique_name() -> str:
    return f"{DATABASE_PREFIX}_{secrets.token_hex(6)}"


def _end_on_sigterm(owner: int) -> None:
    """A SIGTERM (a CI job cancelled, ``timeout``) ends the run as Ctrl-C does, so that the
    session's end stops the server; by default the process would end without it. A handler
    someone else installed is left alone."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != owner:  # a forked child: end as it would have
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
