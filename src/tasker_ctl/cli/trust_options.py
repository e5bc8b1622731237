"""The operator's grants as options of ``tasker-ctl run`` and ``tasker-ctl worker``.

Each option adds to what the ``TASKER_*`` variables grant (``TrustPolicy.with_grants``); see
docs/security.md. The policy is built before anything starts, so a malformed grant is a usage
error (``POLICY_INVALID``, exit 2) rather than a failure halfway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from tasker_ctl.trust import TrustPolicy

AllowTableOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-table",
        metavar="SCHEMA.TABLE",
        help="Let persist write this table (SCHEMA.* for a whole schema); repeat for several. "
        "With any allowed, persist writes only those (with TASKER_PERSIST_TABLES).",
        show_default=False,
    ),
]
PersistRoleOption = Annotated[
    str | None,
    typer.Option(
        "--persist-role",
        metavar="ROLE",
        help="Write persist's rows as this database role (SET LOCAL ROLE), with only its "
        "privileges (docs/grammar.md). Default: TASKER_PERSIST_ROLE.",
        show_default=False,
    ),
]
AllowEnvOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-env",
        metavar="NAME",
        help="Let acquire's headers_from_env send this environment variable; repeat for "
        "several (with TASKER_ACQUIRE_ENV).",
        show_default=False,
    ),
]
AllowPrivateNetworkOption = Annotated[
    bool,
    typer.Option(
        "--allow-private-network",
        help="Let acquire reach private, loopback and link-local addresses "
        "(TASKER_ACQUIRE_PRIVATE_NETWORK=1).",
    ),
]


def trust_policy(
    *,
    allow_table: list[str] | None,
    persist_role: str | None,
    allow_env: list[str] | None,
    allow_private_network: bool,
) -> TrustPolicy:
    """The environment's policy widened by the options (``PolicyError`` when malformed)."""
    from tasker_ctl.trust import TrustPolicy

    return TrustPolicy.from_environment().with_grants(
        persist_tables=allow_table or (),
        persist_role=persist_role,
        env_allow=allow_env or (),
        allow_private_network=allow_private_network,
    )
