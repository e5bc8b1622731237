"""Options and arguments that more than one command takes, defined once.

Every command module imports its shared options from here and never from another command
module, so that commands stay independent of each other (a unit test walks the imports). An
option one command alone takes stays beside that command. Typer reads these ``Annotated``
aliases from the command functions' signatures; nothing here imports the engine, so that
``tasker-ctl --version`` does not pay for it.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

if TYPE_CHECKING:
    from tasker_ctl.trust import TrustPolicy

# -- the database --------------------------------------------------------------------------

# Which commands only read a database, and which may create one, is decided here and nowhere
# else: a command takes DatabaseUrlOption (it reads; with no database found it stops with
# DATABASE_NOT_FOUND before doing anything, and never creates one) or CreatingDatabaseUrlOption
# (run, worker, task submit, db migrate: the embedded server is created when none is found).
# tests/e2e/test_database_required.py walks the app's commands and holds each to its kind.


def require_existing_database(value: str | None) -> str | None:
    """``--database-url``'s check for a command that only reads: a URL is configured (the
    option, ``TASKER_DATABASE_URL``, the project configuration) or an embedded database
    exists where the state folder is found; else ``DATABASE_NOT_FOUND`` (exit 2)."""
    from tasker_ctl.db.settings import require_database

    require_database(value)
    return value


def may_create_database(value: str | None) -> str | None:
    """``--database-url`` of a command that may create the embedded database."""
    return value


_DATABASE_URL_DEFAULTS = (
    "default: $TASKER_DATABASE_URL, the project configuration's database_url, else the "
    "embedded server of the nearest .tasker folder"
)
DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        metavar="URL",
        help=f"PostgreSQL URL; {_DATABASE_URL_DEFAULTS} (this command never creates one).",
        show_default=False,
        callback=require_existing_database,
    ),
]
CreatingDatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        metavar="URL",
        help=f"PostgreSQL URL; {_DATABASE_URL_DEFAULTS} (created when none is found).",
        show_default=False,
        callback=may_create_database,
    ),
]
# engine.store.reconnect.DEFAULT_RECONNECT_LIMIT: the engine is imported only inside commands
# (a unit test keeps the two equal)
DEFAULT_RECONNECT_LIMIT = 300.0
ReconnectLimitOption = Annotated[
    float,
    typer.Option(
        "--reconnect-limit",
        min=0,
        metavar="SECONDS",
        envvar="TASKER_RECONNECT_LIMIT",
        help="How long the database may stay away (a restart) before giving up with "
        "DATABASE_UNAVAILABLE (exit 2); meanwhile workers reconnect with backoff and carry on "
        "(docs/engine.md). 0 gives up at once.",
    ),
]

# -- creating a task (run, task submit) ----------------------------------------------------

ContextOption = Annotated[
    str | None,
    typer.Option(
        "--context",
        "-c",
        metavar="JSON|@FILE",
        help="The task's context: a JSON object, @FILE to read it from a file, or @- for "
        "standard input. Checked against the template's input_schema. Default: {}.",
        show_default=False,
    ),
]


def configured_environment(value: str | None) -> str | None:
    """``--environment``, else the project configuration's ``environment``."""
    if value:
        return value
    from tasker_ctl.project_config import find_project_config

    return find_project_config().settings.environment


EnvironmentOption = Annotated[
    str | None,
    typer.Option(
        "--environment",
        "-e",
        metavar="NAME",
        help="Apply the template's 'environments.NAME' overrides. Default: the project "
        "configuration's environment, if any.",
        show_default=False,
        callback=configured_environment,
    ),
]
ParentCorrelationOption = Annotated[
    uuid.UUID | None,
    typer.Option(
        "--parent-correlation-id",
        metavar="UUID",
        help="The correlation id of the task (or session) this task is created for; "
        "'inspect task --lineage' follows it.",
        show_default=False,
    ),
]
_CHAIN_HELP = " Only for a task that starts a chain; over the template's 'chain' block."
ChainMaxDepthOption = Annotated[
    int | None,
    typer.Option(
        "--chain-max-depth",
        min=0,
        metavar="N",
        help="Tasks of the delegation chain this task starts may sit at most N levels below "
        "it (CHAIN_DEPTH_EXCEEDED)." + _CHAIN_HELP,
        show_default=False,
    ),
]
ChainMaxTasksOption = Annotated[
    int | None,
    typer.Option(
        "--chain-max-tasks",
        min=1,
        metavar="N",
        help="The chain holds at most N tasks, this one included (CHAIN_TASKS_EXCEEDED)."
        + _CHAIN_HELP,
        show_default=False,
    ),
]
ChainMaxCostOption = Annotated[
    float | None,
    typer.Option(
        "--chain-max-cost",
        min=0,
        metavar="USD",
        help="No task joins the chain once its tasks committed USD together "
        "(CHAIN_BUDGET_EXHAUSTED)." + _CHAIN_HELP,
        show_default=False,
    ),
]
ChainMaxTokensOption = Annotated[
    int | None,
    typer.Option(
        "--chain-max-tokens",
        min=1,
        metavar="N",
        help="Likewise for the model tokens the chain's tasks committed." + _CHAIN_HELP,
        show_default=False,
    ),
]
ChainMaxCallsOption = Annotated[
    int | None,
    typer.Option(
        "--chain-max-llm-calls",
        min=1,
        metavar="N",
        help="Likewise for the model calls the chain's tasks made." + _CHAIN_HELP,
        show_default=False,
    ),
]


def chain_options(
    depth: int | None,
    tasks: int | None,
    cost: float | None,
    tokens: int | None,
    calls: int | None,
) -> dict[str, int | float | None]:
    """The --chain-max-* options as the engine takes them (``chain_limits``)."""
    return {
        "max_depth": depth,
        "max_tasks": tasks,
        "max_cost_usd": cost,
        "max_tokens": tokens,
        "max_llm_calls": calls,
    }


NewOption = Annotated[
    bool,
    typer.Option(
        "--new",
        help="Create a new task even when one with the same template and context exists "
        "(by default that one is resumed).",
    ),
]
TaskJsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print the task as one JSON object (docs/cli/run.md)."),
]

# -- running steps (run, worker) -----------------------------------------------------------


def configured_handlers(value: list[str] | None) -> list[str] | None:
    """``--handlers``, else the project configuration's ``handlers`` (paths relative to it)."""
    if value:
        return value
    from tasker_ctl.project_config import find_project_config

    return find_project_config().handlers or value


HandlersOption = Annotated[
    list[str] | None,
    typer.Option(
        "--handlers",
        metavar="PATH_OR_MODULE",
        help="Where the step handlers live: a .py file, a directory (imported recursively) or "
        "an importable module. Repeat for several. Default: the project configuration's "
        "handlers (docs/configuration.md).",
        show_default=False,
        callback=configured_handlers,
    ),
]


class IsolationMode(StrEnum):
    THREAD = "thread"
    PROCESS = "process"

    @property
    def mode(self) -> Literal["thread", "process"]:
        return "process" if self is IsolationMode.PROCESS else "thread"


IsolationOption = Annotated[
    IsolationMode,
    typer.Option(
        "--isolation",
        case_sensitive=False,
        help="Where handlers run: 'thread' in the worker (fast; a crash kills the worker), "
        "'process' in a process of their own per worker thread (a crash or a timeout fails "
        "only the attempt; CPU-bound handlers run in parallel). Steps with 'isolation: "
        "process' always get a process. See docs/engine.md, handler isolation.",
    ),
]

# -- planning steps (run, worker; docs/planning.md) -------------------------------------------

PlannerOption = Annotated[
    str | None,
    typer.Option(
        "--planner",
        metavar="MODEL",
        help="The model planning steps ask, overriding their 'planning.model' and "
        "TASKER_PLANNER_MODEL: provider:model (openai:gpt-4.1-mini, anthropic:..., "
        "ollama:qwen2.5-coder:7b, openai:MODEL@URL for an OpenAI-compatible server) or "
        "replay:FILE to play a recorded cassette (no network, no key).",
        show_default=False,
    ),
]

RecordPlannerOption = Annotated[
    Path | None,
    typer.Option(
        "--record",
        metavar="FILE",
        help="Record every planner call (request and answer) in the cassette FILE, to replay "
        "later with --planner replay:FILE.",
        show_default=False,
        dir_okay=False,
    ),
]

# -- the operator's grants (run, worker; docs/security.md) ---------------------------------
# Each adds to what the TASKER_* variables grant (TrustPolicy.with_grants). The policy is built
# before anything starts, so a malformed grant is a usage error (POLICY_INVALID, exit 2)
# rather than a failure halfway.

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
    """The environment's policy widened by the grant options (``PolicyError`` when
    malformed)."""
    from tasker_ctl.trust import TrustPolicy

    return TrustPolicy.from_environment().with_grants(
        persist_tables=allow_table or (),
        persist_role=persist_role,
        env_allow=allow_env or (),
        allow_private_network=allow_private_network,
    )


# -- one task and its steps (task, its repairs and gates) -----------------------------------

# Every command that takes a task takes it as TASK and resolves it with
# engine.views.resolve_task (engine.views.task_reference.TASK_REFERENCE_HELP says the same; a
# unit test walks the app and checks every TASK goes through it).
TASK_HELP = "A task UUID, its first 8+ characters, or 'latest'."
TaskArgument = Annotated[str, typer.Argument(metavar="TASK", help=TASK_HELP, show_default=False)]
StepArgument = Annotated[
    str, typer.Argument(metavar="STEP_NAME", help="The step's name (as 'task show' lists it).")
]
ReasonOption = Annotated[
    str | None,
    typer.Option(
        "--reason",
        metavar="TEXT",
        help="Why (required): recorded with every transition the change makes.",
        show_default=False,
    ),
]
ByOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        metavar="WHO",
        help="Who acts; default: $TASKER_ACTOR, else user@host.",
        show_default=False,
    ),
]
RepairJsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print the change and the task as one JSON object (docs/operations.md).",
    ),
]
# the epilog of every command that changes a task by hand
REPAIR_EPILOG = (
    "Exit codes: 0 done; 2 bad usage, an unknown task or step, a task or step in a state "
    "the command cannot change, or no database. docs/operations.md has the details."
)

# -- a task by reference (inspect, report) --------------------------------------------------

TaskReference = TaskArgument
ViewJsonOption = Annotated[
    bool, typer.Option("--json", help="Print the view as a JSON document (docs/inspect.md).")
]
LatestNamespaceOption = Annotated[
    str | None,
    typer.Option("--namespace", "-n", help="With 'latest': the newest task of this namespace."),
]

# -- drawings written to a file (task graph, template visualize) ---------------------------

OutputFileOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", dir_okay=False, help="Write to FILE, not stdout."),
]

# -- the project's templates (validate) ----------------------------------------------------


def configured_templates(value: list[str] | None) -> list[str]:
    """The template paths given, else the project configuration's ``templates`` (relative to
    it); with neither, a usage error."""
    if value:
        return value
    from tasker_ctl.project_config import find_project_config

    templates = find_project_config().templates
    if not templates:
        raise typer.BadParameter(
            "give the templates to check, or list them as 'templates' in the project "
            "configuration (docs/configuration.md)",
            param_hint="PATH",
        )
    return templates


# -- compositions (validate, composition validate) -----------------------------------------


class Policy(StrEnum):
    CHECKPOINTED = "checkpointed"
    STRICT = "strict"


PolicyOption = Annotated[
    Policy,
    typer.Option(
        "--mutation-policy",
        case_sensitive=False,
        help="For compositions: 'checkpointed': every persist/emit must be a checkpoint "
        "(Tasker Core's rule); 'strict': also at most one mutation, with nothing fallible "
        "after it.",
    ),
]
