"""The operator's trust policy: what templates may reach on a worker's host.

Templates, compositions, contexts and handler results are untrusted input (docs/security.md).
A template declares what it wants to touch (tables, hosts, environment variables); this policy
is what the operator running the workers grants on top of that. Nothing a template says can
widen it. It is read from ``TASKER_*`` variables (``TrustPolicy.from_environment``) and from
the options of ``tasker-ctl run`` and ``tasker-ctl worker``.

Every check here is a pure function: the grammar's validation reports what a template asks
for that is never allowed, and the engine refuses at run time what this operator did not
grant.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tasker_ctl.errors import PolicyError
from tasker_ctl.storable import DEFAULT_MAX_RESULT_BYTES

# Schemas no template may write to, whatever the operator allows: the engine's own state and
# PostgreSQL's catalogs. Any schema starting with pg_ is PostgreSQL's (pg_toast, pg_temp_N...).
RESERVED_SCHEMAS = frozenset({"tasker", "information_schema"})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_TABLE_PATTERN = re.compile(rf"({_IDENTIFIER.pattern})\.({_IDENTIFIER.pattern}|\*)")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024


def is_reserved_schema(schema: str) -> bool:
    """Whether ``schema`` belongs to the engine or to PostgreSQL (never writable by persist)."""
    lowered = schema.lower()
    return lowered in RESERVED_SCHEMAS or lowered.startswith("pg_")


def is_identifier(name: str) -> bool:
    """A plain SQL identifier: letters, digits and underscores, at most 63 characters.

    ``fullmatch``: a ``$`` anchor would also accept a trailing newline.
    """
    return _IDENTIFIER.fullmatch(name) is not None


def is_variable_name(name: str) -> bool:
    """A name an environment variable can have (what ``headers_from_env`` may read)."""
    return _VARIABLE.fullmatch(name) is not None


class TrustPolicy(BaseModel):
    """What an operator grants the templates their workers run (all empty or off by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    persist_tables: tuple[str, ...] = Field(
        default=(),
        description="tables persist may write, as schema.table or schema.* (empty: any table "
        "the template declares outside the reserved schemas)",
    )
    persist_role: str | None = Field(
        default=None,
        description="a database role persist writes as (SET LOCAL ROLE), with only the "
        "privileges the operator granted it",
    )
    env_allow: frozenset[str] = Field(
        default=frozenset(),
        description="environment variables acquire's headers_from_env may read",
    )
    allow_private_network: bool = Field(
        default=False,
        description="let acquire reach private, loopback and link-local addresses",
    )
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, gt=0)
    max_result_bytes: int = Field(
        default=DEFAULT_MAX_RESULT_BYTES,
        ge=2,
        description="the largest handler result stored, as compact JSON text (RESULT_TOO_LARGE)",
    )

    @field_validator("persist_tables")
    @classmethod
    def _table_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            match = _TABLE_PATTERN.fullmatch(pattern)
            if match is None:
                raise ValueError(f"'{pattern}' is not schema.table or schema.*")
            if is_reserved_schema(match.group(1)):
                raise ValueError(f"'{pattern}': schema {match.group(1)} is never writable")
        return value

    @field_validator("persist_role")
    @classmethod
    def _role(cls, value: str | None) -> str | None:
        if value is not None and not is_identifier(value):
            raise ValueError(f"'{value}' is not a plain role name")
        return value

    @field_validator("env_allow")
    @classmethod
    def _variables(cls, value: frozenset[str]) -> frozenset[str]:
        bad = sorted(name for name in value if not is_variable_name(name))
        if bad:
            raise ValueError(f"not environment variable names: {', '.join(bad)}")
        return value

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> TrustPolicy:
        """The policy the ``TASKER_*`` variables set (docs/security.md lists them)."""
        env = os.environ if environ is None else environ
        return cls.build(
            persist_tables=_words(env.get("TASKER_PERSIST_TABLES", "")),
            persist_role=env.get("TASKER_PERSIST_ROLE", "").strip() or None,
            env_allow=_words(env.get("TASKER_ACQUIRE_ENV", "")),
            allow_private_network=_flag(env, "TASKER_ACQUIRE_PRIVATE_NETWORK"),
            max_response_bytes=_size(env, "TASKER_ACQUIRE_MAX_BYTES"),
            max_result_bytes=_size(env, "TASKER_MAX_RESULT_BYTES"),
        )

    @classmethod
    def build(
        cls,
        *,
        persist_tables: Iterable[str] = (),
        persist_role: str | None = None,
        env_allow: Iterable[str] = (),
        allow_private_network: bool = False,
        max_response_bytes: int | None = None,
        max_result_bytes: int | None = None,
    ) -> TrustPolicy:
        """A policy from plain values; a malformed one is a ``PolicyError`` naming the value."""
        from pydantic import ValidationError

        try:
            return cls(
                persist_tables=tuple(persist_tables),
                persist_role=persist_role,
                env_allow=frozenset(env_allow),
                allow_private_network=allow_private_network,
                max_response_bytes=max_response_bytes or DEFAULT_MAX_RESPONSE_BYTES,
                max_result_bytes=max_result_bytes or DEFAULT_MAX_RESULT_BYTES,
            )
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise PolicyError(
                f"trust policy: {where}: {first['msg']}",
                hint="see docs/security.md for the TASKER_* variables and worker options",
            ) from None

    def with_grants(
        self,
        *,
        persist_tables: Iterable[str] = (),
        persist_role: str | None = None,
        env_allow: Iterable[str] = (),
        allow_private_network: bool = False,
    ) -> TrustPolicy:
        """This policy with the grants of command-line options on top: more tables and
        variables, the private network, another persist role. The caps stay this policy's (no
        option sets them); a malformed grant is a ``PolicyError``."""
        return TrustPolicy.build(
            persist_tables=dict.fromkeys((*self.persist_tables, *persist_tables)),
            persist_role=persist_role or self.persist_role,
            env_allow=self.env_allow.union(env_allow),
            allow_private_network=self.allow_private_network or allow_private_network,
            max_response_bytes=self.max_response_bytes,
            max_result_bytes=self.max_result_bytes,
        )

    def table_refusal(self, schema: str, table: str) -> str | None:
        """Why persist may not write ``schema.table`` under this policy (None: it may).

        The template's own declaration is checked by the caller; this adds the reserved
        schemas and the operator's allow-list.
        """
        if is_reserved_schema(schema):
            return f"schema '{schema}' belongs to the engine or to PostgreSQL"
        if not self.persist_tables:
            return None
        for pattern in self.persist_tables:
            allowed_schema, _, allowed_table = pattern.partition(".")
            if allowed_schema == schema and allowed_table in ("*", table):
                return None
        return f"{schema}.{table} is not in the operator's allow-list (TASKER_PERSIST_TABLES)"

    def address_refusal(self, address: str) -> str | None:
        """Why acquire may not connect to ``address`` (None: it may)."""
        if self.allow_private_network:
            return None
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return f"'{address}' is not an IP address"
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            return (
                f"{ip} is a private, loopback, link-local or reserved address; the operator "
                "has not allowed those (TASKER_ACQUIRE_PRIVATE_NETWORK=1)"
            )
        return None


def _words(value: str) -> list[str]:
    return [word for word in re.split(r"[\s,]+", value) if word]


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise PolicyError(f"{name}={raw!r} is not a boolean", hint="use 1 or 0")


def _size(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) <= 0:
        raise PolicyError(f"{name}={raw!r} is not a positive number of bytes")
    return int(raw)
