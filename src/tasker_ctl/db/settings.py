"""Which PostgreSQL to use: ``--database-url``, else ``TASKER_DATABASE_URL``, else embedded.

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
    EMBEDDED = "embedded"


@dataclass(frozen=True)
class DatabaseTarget:
    """A database to connect to and where that choice came from."""

    url: str = field(repr=False)
    source: TargetSource
    data_dir: Path | None = None

    @property
    def redacted_url(self) -> str:
        return redacted(self.url)

    def describe(self) -> str:
        """One line for humans, without secrets."""
        if self.source is TargetSource.EMBEDDED:
            return f"embedded PostgreSQL ({self.data_dir})"
        origin = "--database-url" if self.source is TargetSource.OPTION else DATABASE_URL_ENV
        return f"{self.redacted_url} (from {origin})"


def configured_database_url(explicit: str | None = None) -> DatabaseTarget | None:
    """The server named by ``--database-url`` or ``TASKER_DATABASE_URL``; None means embedded."""
    if explicit and explicit.strip():
        return DatabaseTarget(explicit.strip(), TargetSource.OPTION)
    from_environment = os.environ.get(DATABASE_URL_ENV, "").strip()
    if from_environment:
        return DatabaseTarget(from_environment, TargetSource.ENVIRONMENT)
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
