"""Which PostgreSQL to use: ``--database-url``, else ``TASKER_DATABASE_URL``, else the project
configuration's ``database_url``, else the embedded server of the project's state folder.

URLs may hold passwords: show them only through ``redacted``; ``DatabaseTarget`` never puts
its URL in its ``repr``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from tasker_ctl.db import embedded
from tasker_ctl.db.home import HOME_ENV, Home, HomeSource, locate_home
from tasker_ctl.errors import DatabaseNotFoundError
from tasker_ctl.project_config import ProjectConfig, find_project_config

DATABASE_URL_ENV = "TASKER_DATABASE_URL"
_MASK = "***"
_SECRET_KEYS = frozenset({"password", "sslpassword"})
# keyword/value connection strings: password=secret or password='quoted secret'
_KEYWORD_SECRET = re.compile(r"\b((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_URL_USERINFO = re.compile(r"(://[^:/@]*:)[^@/]*@")


class TargetSource(StrEnum):
    """Where the database URL came from."""

    OPTION = "option"
    ENVIRONMENT = "environment"
    PROJECT_CONFIG = "project config"
    EMBEDDED = "embedded"


@dataclass(frozen=True)
class DatabaseTarget:
    """A database to connect to and where that choice came from (``config`` names the project
    configuration when the URL is its ``database_url``)."""

    url: str = field(repr=False)
    source: TargetSource
    data_dir: Path | None = None
    config: ProjectConfig | None = None

    @property
    def redacted_url(self) -> str:
        return redacted(self.url)

    @property
    def origin(self) -> str:
        """Where the URL was set: the option, the variable or the configuration file."""
        if self.source is TargetSource.OPTION:
            return "--database-url"
        if self.source is TargetSource.ENVIRONMENT:
            return DATABASE_URL_ENV
        if self.source is TargetSource.PROJECT_CONFIG and self.config is not None:
            return f"database_url in {self.config.describe()}"
        return "the embedded server"

    def describe(self) -> str:
        """One line for humans, without secrets."""
        if self.source is TargetSource.EMBEDDED:
            return f"embedded PostgreSQL ({self.data_dir})"
        return f"{self.redacted_url} (from {self.origin})"

    def unavailable_hint(self) -> str:
        """What to do when this database cannot be reached: it depends on what it is."""
        if self.source is TargetSource.EMBEDDED:
            return (
                f"the embedded server of {self.data_dir} did not answer: `tasker-ctl db status` "
                "shows its state, `tasker-ctl db stop` then `tasker-ctl db start` restarts it"
            )
        return (
            f"check that the server at {self.redacted_url} is running and accepts this user, "
            f"and that the URL is right: it comes from {self.origin}"
        )


def configured_database_url(explicit: str | None = None) -> DatabaseTarget | None:
    """The server named by ``--database-url``, ``TASKER_DATABASE_URL`` or the project
    configuration's ``database_url``; None means the embedded server."""
    if explicit and explicit.strip():
        return DatabaseTarget(explicit.strip(), TargetSource.OPTION)
    from_environment = os.environ.get(DATABASE_URL_ENV, "").strip()
    if from_environment:
        return DatabaseTarget(from_environment, TargetSource.ENVIRONMENT)
    config = find_project_config()
    configured = (config.settings.database_url or "").strip()
    if configured:
        return DatabaseTarget(configured, TargetSource.PROJECT_CONFIG, config=config)
    return None


def resolve_database_url(
    explicit: str | None = None, *, home: Path | str | None = None
) -> DatabaseTarget:
    """The database to use, starting the embedded server on demand when no URL is configured."""
    configured = configured_database_url(explicit)
    if configured is not None:
        return configured
    url = embedded.start_embedded(home)
    return DatabaseTarget(url, TargetSource.EMBEDDED, embedded.data_dir(home))


def running_embedded_target(home: Path | str | None = None) -> DatabaseTarget | None:
    """The embedded server if it is already running; never starts it."""
    status = embedded.embedded_status(home)
    if status.url is None:
        return None
    return DatabaseTarget(status.url, TargetSource.EMBEDDED, status.data_dir)


def require_database(explicit: str | None = None) -> None:
    """Refuse, with ``DATABASE_NOT_FOUND``, when no URL is configured and the embedded state
    folder holds no database: what a command that only reads checks before anything else, so
    that it never creates one."""
    if configured_database_url(explicit) is not None:
        return
    home = locate_home()
    if home.has_database:
        return
    raise DatabaseNotFoundError(_not_found_message(home), hint=_not_found_hint(home))


def _not_found_message(home: Home) -> str:
    unset = f"--database-url is not given and {DATABASE_URL_ENV} is not set"
    if home.source.searched:
        return (
            "no tasker database found: no .tasker folder and no project configuration in "
            f"{home.searched_from} or any folder above it; {unset}"
        )
    return f"no tasker database found: the state folder {home.describe()} holds none; {unset}"


def _not_found_hint(home: Home) -> str:
    where = f"./{home.path.name}" if home.source is HomeSource.DEFAULT else home.path
    return (
        f"create one with `tasker-ctl run TEMPLATE` or `tasker-ctl db start` (in {where}), "
        f"run the command in the project's folder, set {HOME_ENV} to its .tasker folder, or "
        f"point --database-url or {DATABASE_URL_ENV} at a server"
    )


def redacted(url: str) -> str:
    """``url`` with every password replaced by ``***`` (URL or keyword/value form)."""
    if "://" not in url:
        return _KEYWORD_SECRET.sub(lambda match: match.group(1) + _MASK, url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return _URL_USERINFO.sub(lambda match: match.group(1) + _MASK + "@", url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{_MASK}@{hosts}" if colon and _password else netloc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key.lower() in _SECRET_KEYS for key, _ in pairs):
            masked = [(k, _MASK if k.lower() in _SECRET_KEYS else v) for k, v in pairs]
            query = urlencode(masked, safe="/*", quote_via=quote)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def with_database(url: str, dbname: str) -> str:
    """``url`` pointing at database ``dbname`` on the same server, with the same options."""
    if "://" not in url:
        # in keyword/value strings a repeated keyword overrides the earlier one
        return f"{url} dbname={dbname}"
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "dbname"]
    query = urlencode(pairs, safe="/", quote_via=quote)
    return urlunsplit(parts._replace(path="/" + quote(dbname, safe=""), query=query))
