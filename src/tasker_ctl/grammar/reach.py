"""What a template's resources may reach: the checks ``validate`` reports and the engine repeats.

A resource is untrusted input like the rest of the template. ``persist`` writes only tables its
``postgres`` resource declares, never in a reserved schema (the engine's, PostgreSQL's);
``acquire`` reaches only a base URL whose host is in ``allowed_hosts``, with headers the engine
can send as they are. Each check returns ``Refusal``s: ``tasker-ctl validate`` turns them into
findings under the resource (or the invocation), the engine into permanent
``InvocationError``s, so a template registered by an older binary, or a composition built at
run time, is refused the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tasker_ctl.grammar.errors import FailureKind, InvocationError
from tasker_ctl.template.model import HttpResource, PostgresResource, ResourceDefinition
from tasker_ctl.trust import is_identifier, is_reserved_schema, is_variable_name

# the resource kind each capability reads or writes
KIND_OF_CAPABILITY = {"acquire": "http", "persist": "postgres", "emit": "outbox"}
# emit writes into the engine's outbox without a declaration under this name
DEFAULT_EVENT_RESOURCE = "events"

# headers the engine sets itself: a template's value would redirect or desynchronise the request
ENGINE_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer"}
)
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_UNSENDABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Refusal:
    """Why the engine will not use a resource this way; ``path`` is under the resource (or the
    invocation's ``config.resource``), ``code`` the finding code ``validate`` reports."""

    code: str
    message: str
    hint: str
    path: tuple[str | int, ...] = ()

    def error(self, kind: FailureKind = FailureKind.CONFIG_VALIDATION) -> InvocationError:
        """The permanent run-time failure for this refusal."""
        return InvocationError(
            kind, self.message, hint=self.hint, retryable=False, details={"refusal": self.code}
        )


@dataclass(frozen=True)
class BaseUrl:
    """A base URL the engine can request: scheme, host (lower case, IDNA-encoded) and port."""

    scheme: str
    host: str
    port: int


def normal_host(host: str) -> str:
    """A host name as compared with ``allowed_hosts``: lower case, IDNA, no brackets or final
    dot (``API.Example.com.`` and ``api.example.com`` are one host)."""
    text = host.strip().removeprefix("[").removesuffix("]").rstrip(".").lower()
    try:
        return text.encode("idna").decode("ascii")
    except UnicodeError:
        return text


def allowed_hosts(resource: HttpResource) -> set[str]:
    """The hosts the resource lets acquire reach, as they are compared."""
    return {normal_host(host) for host in resource.allowed_hosts}


def parse_base_url(url: str) -> BaseUrl | str:
    """The base URL's parts, or why it cannot be requested."""
    if _UNSENDABLE.search(url) or any(character.isspace() for character in url):
        return "contains whitespace or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return f"is not a URL ({error})"
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        return f"must start with http:// or https://, not '{scheme or url}'"
    if not parts.hostname:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "carries credentials; send them as a header (headers_from_env)"
    if parts.query or parts.fragment:
        return "has a query or fragment; acquire's params become the query string"
    host = normal_host(parts.hostname)
    try:
        parts.hostname.encode("idna")
    except UnicodeError:
        return f"has a host name that is not valid ('{parts.hostname}')"
    return BaseUrl(scheme, host, port if port is not None else (443 if scheme == "https" else 80))


def resource_refusals(name: str, resource: ResourceDefinition) -> list[Refusal]:
    """Everything the engine refuses about a resource declaration, whatever reads it."""
    if isinstance(resource, PostgresResource):
        return postgres_refusals(name, resource)
    if isinstance(resource, HttpResource):
        return http_refusals(name, resource)
    return []


def postgres_refusals(name: str, resource: PostgresResource) -> list[Refusal]:
    found = []
    schema = resource.db_schema
    if not is_identifier(schema):
        found.append(_not_identifier(name, "schema", schema, ("schema",)))
    elif is_reserved_schema(schema):
        found.append(
            Refusal(
                "PERSIST_RESERVED_SCHEMA",
                f"resource '{name}': schema '{schema}' belongs to the engine or to PostgreSQL; "
                "persist never writes there",
                "put the application's tables in a schema of their own (e.g. 'app')",
                ("schema",),
            )
        )
    tables = resource.tables
    entries: list[tuple[str | int, str]] = (
        list(enumerate(tables)) if isinstance(tables, list) else list(tables.items())
    )
    for key, table in entries:
        if not is_identifier(table):
            found.append(_not_identifier(name, "table", table, ("tables", key)))
    return found


def persist_table(name: str, resource: PostgresResource, entity: str) -> tuple[str, str]:
    """``(schema, table)`` that persist writes for ``entity``; raises when it may not."""
    refusals = postgres_refusals(name, resource)
    if refusals:
        raise refusals[0].error()
    refusal = undeclared_entity(name, resource, entity)
    if refusal is not None:
        raise refusal.error()
    return resource.db_schema, resource.declared_tables()[entity]


def undeclared_entity(name: str, resource: PostgresResource, entity: str) -> Refusal | None:
    declared = resource.declared_tables()
    if entity in declared:
        return None
    listed = ", ".join(f"'{item}'" for item in sorted(declared)) or "none"
    return Refusal(
        "PERSIST_UNDECLARED_TABLE",
        f"persist to '{name}.{entity}': resource '{name}' does not declare entity '{entity}' "
        f"(declared: {listed})",
        f"declare the table under resources.{name}.tables (a list of tables, or a mapping "
        "entity -> table)",
    )


def http_refusals(name: str, resource: HttpResource) -> list[Refusal]:
    found = []
    parsed = parse_base_url(resource.base_url)
    if isinstance(parsed, str):
        found.append(
            Refusal(
                "RESOURCE_INVALID",
                f"resource '{name}': base_url '{resource.base_url}' {parsed}",
                "write an absolute URL such as https://api.example.com/v1",
                ("base_url",),
            )
        )
    elif parsed.host not in allowed_hosts(resource):
        found.append(
            Refusal(
                "ACQUIRE_HOST_NOT_ALLOWED",
                f"resource '{name}': acquire reaches only allowed_hosts; add '{parsed.host}'",
                f"list the base URL's host: allowed_hosts: ['{parsed.host}']",
                ("base_url",),
            )
        )
    for header, value in resource.headers.items():
        problem = _header_problem(header) or (
            "has a value with line breaks or control characters"
            if _UNSENDABLE.search(value)
            else None
        )
        if problem:
            found.append(_bad_header(name, "headers", header, problem))
    for header, variable in resource.headers_from_env.items():
        problem = _header_problem(header) or (
            None if is_variable_name(variable) else f"reads '{variable}', not a variable name"
        )
        if problem:
            found.append(_bad_header(name, "headers_from_env", header, problem))
    return found


def kind_refusal(capability: str, name: str, declared: ResourceDefinition) -> Refusal | None:
    """A capability addressing a declared resource of another kind."""
    wanted = KIND_OF_CAPABILITY.get(capability)
    if wanted is None or declared.kind == wanted:
        return None
    verb = {"acquire": "reads", "persist": "writes to", "emit": "writes to"}[capability]
    article = "an" if declared.kind[0] in "aeiouh" else "a"
    return Refusal(
        "RESOURCE_KIND_MISMATCH",
        f"resource '{name}' is {article} {declared.kind} resource; {capability} {verb} "
        f"{wanted} ones",
        f"address a '{wanted}' resource, or declare one under resources",
    )


def undeclared_resource(capability: str, name: str, declared: dict[str, Any]) -> Refusal | None:
    """A capability addressing a resource the template does not declare (emit's default
    ``events`` outbox needs no declaration)."""
    if name in declared or (capability == "emit" and name == DEFAULT_EVENT_RESOURCE):
        return None
    known = ", ".join(f"'{item}'" for item in sorted(map(str, declared))) or "none"
    return Refusal(
        "RESOURCE_NOT_DECLARED",
        f"{capability} uses resource '{name}', which the template does not declare "
        f"(declared: {known}); the engine runs only declared resources",
        f"declare it under 'resources: {{{name}: {{kind: "
        f"{KIND_OF_CAPABILITY.get(capability, '...')}, ...}}}}'",
    )


def _header_problem(header: str) -> str | None:
    if not _HEADER_NAME.fullmatch(header):
        return "is not a valid header name"
    if header.lower() in ENGINE_HEADERS:
        return "is set by the engine itself"
    return None


def _bad_header(name: str, field: str, header: str, problem: str) -> Refusal:
    return Refusal(
        "RESOURCE_INVALID",
        f"resource '{name}': header '{header}' (in {field}) {problem}",
        "headers are plain names (letters, digits, '-') other than those the engine sets "
        f"({', '.join(sorted(ENGINE_HEADERS))}), with single-line values; headers_from_env "
        "maps each to an environment variable's name",
        (field, header),
    )


def _not_identifier(name: str, what: str, value: str, path: tuple[str | int, ...]) -> Refusal:
    return Refusal(
        "RESOURCE_INVALID",
        f"resource '{name}': {what} name '{value}' is not a plain SQL identifier "
        "([A-Za-z_][A-Za-z0-9_]*, at most 63 characters)",
        "name the table and schema plainly; the entity (the mapping's key) may be any name",
        path,
    )
