"""The database read tools (tier2) answer what their commands print with ``--json``.

One database for the module (``tasks_database``: a finished task, a planned one, one blocked
by a failed step, one at an approval gate, a dead-lettered one). Both sides read it through a
URL whose engine clock is fixed, so the figures that count back from "now" (stats windows,
staleness ages, ``since``) are the same for the tool and for the command run just after it.
The command runs in this process (``build_command`` under typer's runner) with
``--database-url``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tasker_ctl.cli import build_command
from tasker_ctl.mcp.calls import CURSOR_ARGUMENT, Answer, Caller
from tasker_ctl.mcp.spec import ToolContext, ToolSpec, ToolTier
from tasker_ctl.mcp.tools_read import TOOLS
from tests.integration.mcp.conftest import TasksDatabase
from tests.integration.resting_tasks import run_written

# every tool of this area needs a database: no offline case for the transports' parity runs
PARITY_CASES: list[tuple[str, dict[str, Any], list[str]]] = []

SPECS = {spec.name: spec for spec in TOOLS}
# the engine clock both sides read: two hours on, so the waiting tasks look stale
NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def database_parity_cases(db: TasksDatabase) -> list[tuple[str, dict[str, Any], list[str]]]:
    """``(tool, arguments, argv)`` of each read tool on ``db``: the answer must equal the
    document the command prints (``events``: the objects of its lines)."""
    blocked, planned, gated = db.blocked, db.planned, db.gated
    return [
        ("task_list", {}, ["task", "list"]),
        (
            "task_list",
            {"status": ["complete", "error"], "namespace": "examples", "limit": 2},
            ["task", "list", "-s", "complete", "-s", "error", "-n", "examples", "--limit", "2"],
        ),
        (
            "task_list",
            {"template": "examples/mathematical_sequence@1.0.0", "since": "1d"},
            ["task", "list", "-t", "examples/mathematical_sequence@1.0.0", "--since", "1d"],
        ),
        ("task_inspect", {"task": planned}, ["inspect", "task", planned]),
        ("task_inspect", {"task": blocked[:8]}, ["inspect", "task", blocked[:8]]),
        (
            "task_inspect",
            {"task": "latest", "namespace": "examples"},
            ["inspect", "task", "latest", "-n", "examples"],
        ),
        (
            "task_inspect",
            {"task": planned, "view": "fragment", "full": True},
            ["inspect", "task", planned, "--fragment", "--full"],
        ),
        (
            "task_inspect",
            {"task": gated, "view": "composition"},
            ["inspect", "task", gated, "--composition"],
        ),
        (
            "task_inspect",
            {"task": planned, "view": "lineage"},
            ["inspect", "task", planned, "--lineage"],
        ),
        ("task_graph", {"task": planned}, ["task", "graph", planned]),
        (
            "step_inspect",
            {"task": blocked, "step": db.failed_step},
            ["inspect", "task", blocked, "--step", db.failed_step],
        ),
        (
            "step_audit",
            {"task": blocked, "step": db.failed_step},
            ["task", "audit", blocked, db.failed_step],
        ),
        (
            "step_audit",
            {"task": gated, "step": db.gate_step},
            ["task", "audit", gated, db.gate_step],
        ),
        ("planning_attempts", {"task": planned}, ["inspect", "task", planned, "--planning"]),
        (
            "planning_attempts",
            {"task": planned, "full": True},
            ["inspect", "task", planned, "--planning", "--full"],
        ),
        ("budget_report", {"task": planned}, ["report", "budget", planned]),
        (
            "budget_report",
            {"task": planned, "lineage": True},
            ["report", "budget", planned, "--lineage"],
        ),
        ("dlq_list", {}, ["dlq", "list"]),
        ("dlq_list", {"status": "pending", "limit": 1}, ["dlq", "list", "--status", "pending"]),
        ("dlq_inspect", {"entry": db.dlq_entry}, ["dlq", "show", db.dlq_entry]),
        ("dlq_stats", {}, ["dlq", "stats"]),
        ("staleness_check", {}, ["dlq", "sweep", "--dry-run"]),
        (
            "staleness_check",
            {"namespaces": ["gates"], "limit": 5},
            ["dlq", "sweep", "--dry-run", "-n", "gates", "--limit", "5"],
        ),
        ("stats", {}, ["stats"]),
        (
            "stats",
            {"since": "all", "namespace": "examples"},
            ["stats", "--since", "all", "-n", "examples"],
        ),
        ("events", {"task": blocked}, ["events", "--task", blocked]),
        ("events", {"task": gated, "tail": 3}, ["events", "--task", gated, "--tail", "3"]),
        ("events", {"since": "1d", "limit": 4}, ["events", "--since", "1d", "--limit", "4"]),
        ("events", {"domain": True, "since": "1d"}, ["events", "--domain", "--since", "1d"]),
    ]


@pytest.fixture(scope="module")
def clocked_url(tasks_database: TasksDatabase) -> str:
    return tasks_database.at(NOW)


@pytest.fixture(scope="module")
def caller(tasks_database: TasksDatabase, clocked_url: str) -> Caller:
    return Caller(ToolContext(project_root=tasks_database.workspace, database_url=clocked_url))


def command_json(argv: list[str], url: str) -> tuple[Any, str]:
    """What ``tasker-ctl ARGV --json --database-url URL`` prints: its document (for
    ``events``, the list of its lines' objects) and its standard error."""
    result = CliRunner().invoke(
        build_command(), [*argv, "--json", "--database-url", url], catch_exceptions=False
    )
    assert result.exit_code in (0, 1), result.output
    if argv[0] == "events":
        return [json.loads(line) for line in result.stdout.splitlines()], result.stderr
    return json.loads(result.stdout), result.stderr


def command_error(argv: list[str], url: str) -> str:
    """The code of the error ``tasker-ctl ARGV --json`` ends with (exit code 2)."""
    result = CliRunner().invoke(
        build_command(), [*argv, "--json", "--database-url", url], catch_exceptions=False
    )
    assert result.exit_code == 2, result.output
    return result.stderr.split("error[", 1)[1].split("]", 1)[0]


def test_every_read_tool_is_a_read_only_tier2_tool() -> None:
    assert set(SPECS) == {
        "task_list",
        "task_inspect",
        "task_graph",
        "step_inspect",
        "step_audit",
        "planning_attempts",
        "budget_report",
        "dlq_list",
        "dlq_inspect",
        "dlq_stats",
        "staleness_check",
        "stats",
        "events",
    }
    for spec in TOOLS:
        assert spec.tier is ToolTier.READ, spec.name
        assert (spec.read_only, spec.destructive, spec.idempotent, spec.open_world) == (
            True,
            False,
            True,
            False,
        ), spec.name
        assert spec.cli.startswith("tasker-ctl "), spec.name
        assert spec.cli.endswith(" --json"), spec.name
    assert {spec.name: spec.pages for spec in TOOLS if spec.pages} == {
        "task_list": "tasks",
        "dlq_list": "entries",
        "events": "events",
    }


def test_every_read_tool_has_a_parity_case(tasks_database: TasksDatabase) -> None:
    assert {name for name, _, _ in database_parity_cases(tasks_database)} == set(SPECS)


def test_each_tool_answers_its_command_s_json(
    tasks_database: TasksDatabase, caller: Caller, clocked_url: str
) -> None:
    for name, arguments, argv in database_parity_cases(tasks_database):
        answer = caller.invoke(SPECS[name], arguments)
        assert not answer.is_error, (name, arguments, answer.document)
        printed, stderr = command_json(argv, clocked_url)
        if name == "events":
            document = answer.document
            assert document["kind"] == ("domain" if arguments.get("domain") else "transition")
            assert document["events"] == printed, (name, arguments)
            assert document["truncated"] == ("note: more than" in stderr), (name, arguments)
        else:
            assert answer.document == printed, (name, arguments, argv)


def test_the_answers_hold_what_the_database_holds(
    tasks_database: TasksDatabase, caller: Caller
) -> None:
    db = tasks_database
    listed = caller.invoke(SPECS["task_list"], {}).document
    assert {task["uuid"] for task in listed["tasks"]} == {
        db.finished,
        db.planned,
        db.blocked,
        db.gated,
        db.dead_lettered,
    }
    blocked = caller.invoke(SPECS["task_list"], {"status": ["blocked_by_failures"]}).document
    assert [task["uuid"] for task in blocked["tasks"]] == [db.blocked]

    overview = caller.invoke(SPECS["task_inspect"], {"task": db.planned[:8]}).document
    assert (overview["view"], overview["task"]["task_uuid"]) == ("overview", db.planned)
    assert {edge["from"] for edge in overview["task"]["edges"]}  # edges as from/to, as --json
    planning = caller.invoke(SPECS["planning_attempts"], {"task": db.planned}).document
    assert planning["view"] == "planning"
    assert planning["planning"]["planning_steps"], planning
    budget = caller.invoke(SPECS["budget_report"], {"task": db.planned}).document
    assert budget["view"] == "budget"
    lineage = caller.invoke(SPECS["budget_report"], {"task": db.planned, "lineage": True})
    assert lineage.document["view"] == "lineage_budget"

    entry = caller.invoke(SPECS["dlq_inspect"], {"entry": db.dlq_entry}).document["entry"]
    assert (entry["task_uuid"], entry["reason"]) == (db.dead_lettered, "staleness_timeout")
    stale = caller.invoke(SPECS["staleness_check"], {}).document["sweep"]
    assert stale["dry_run"] is True
    assert {task["outcome"] for task in stale["stale"]} <= {"would_dead_letter", "would_error"}
    stats = caller.invoke(SPECS["stats"], {"since": "all"}).document
    assert (stats["tasks"]["total"], stats["dlq"]["pending"]) == (5, 1)


def test_the_audit_gives_every_transition_and_each_attempt_with_its_error(
    tasks_database: TasksDatabase, caller: Caller, clocked_url: str
) -> None:
    db = tasks_database
    audit = caller.invoke(SPECS["step_audit"], {"task": db.blocked, "step": db.failed_step})
    document = audit.document
    assert (document["step"], document["state"], document["attempts"]) == (
        db.failed_step,
        "error",
        1,
    )
    assert [item["to_state"] for item in document["transitions"]] == [
        "pending",
        "enqueued",
        "in_progress",
        "error",
    ]
    assert document["operator_actions"] == 0
    (attempt,) = document["attempt_history"]
    assert attempt["outcome"] == "error"
    assert attempt["error"]["message"] == (
        "an expense of 250000.00 needs a purchase order, not a claim"
    )
    assert attempt["error"]["error_type"] == "permanent_error"

    shown = CliRunner().invoke(
        build_command(),
        ["task", "audit", db.blocked, db.failed_step, "--database-url", clocked_url],
        catch_exceptions=False,
    )
    assert shown.exit_code == 0, shown.output
    assert f"step {db.failed_step} of task {db.blocked}" in shown.stdout
    assert "#1" in shown.stdout
    assert "error: permanent_error: an expense of 250000.00 needs a purchase order" in (
        shown.stdout
    )
    assert "in_progress -> error" in shown.stdout


@pytest.mark.parametrize(
    ("name", "arguments", "argv", "code"),
    [
        ("task_inspect", {"task": UNKNOWN}, ["inspect", "task", UNKNOWN], "TASK_NOT_FOUND"),
        ("task_graph", {"task": "not-a-task"}, ["task", "graph", "not-a-task"], None),
        ("budget_report", {"task": UNKNOWN}, ["report", "budget", UNKNOWN], "TASK_NOT_FOUND"),
        ("planning_attempts", {"task": "ffffffff"}, ["inspect", "task", "ffffffff"], None),
        ("events", {"task": UNKNOWN}, ["events", "--task", UNKNOWN], "TASK_NOT_FOUND"),
        ("task_list", {"status": ["bogus"]}, ["task", "list", "-s", "bogus"], None),
        ("task_list", {"since": "yesterday"}, ["task", "list", "--since", "yesterday"], None),
        ("task_list", {"template": "a b"}, ["task", "list", "-t", "a b"], None),
        ("task_list", {"after": "nonsense"}, ["task", "list", "--after", "nonsense"], None),
        ("stats", {"since": "soon"}, ["stats", "--since", "soon"], "INVALID_SINCE"),
        ("stats", {"since": "9" * 12 + "w"}, ["stats", "--since", "9" * 12 + "w"], None),
        ("task_list", {"since": "9999999d"}, ["task", "list", "--since", "9999999d"], None),
        ("events", {"since": "-1"}, ["events", "--since", "-1"], None),
        ("dlq_list", {"status": "bogus"}, ["dlq", "list", "--status", "bogus"], None),
        ("dlq_inspect", {"entry": "nope"}, ["dlq", "show", "nope"], "INVALID_DLQ_ENTRY_UUID"),
        ("dlq_inspect", {"entry": UNKNOWN}, ["dlq", "show", UNKNOWN], "DLQ_ENTRY_NOT_FOUND"),
        (
            "events",
            {"tail": 2, "limit": 2},
            ["events", "--tail", "2", "--limit", "2"],
            "USAGE_ERROR",
        ),
        ("events", {"name": "x"}, ["events", "--name", "x"], "USAGE_ERROR"),
    ],
)
def test_a_bad_input_is_the_command_s_coded_error(
    caller: Caller,
    clocked_url: str,
    name: str,
    arguments: dict[str, Any],
    argv: list[str],
    code: str | None,
) -> None:
    answer = caller.invoke(SPECS[name], arguments)
    assert answer.is_error, answer.document
    expected = command_error(argv, clocked_url)
    assert answer.document["error"]["code"] == expected
    if code is not None:
        assert expected == code
    assert answer.document["error"]["message"]


def test_unknown_steps_and_malformed_arguments_are_coded(
    tasks_database: TasksDatabase, caller: Caller, clocked_url: str
) -> None:
    for name in ("step_inspect", "step_audit"):
        answer = caller.invoke(SPECS[name], {"task": tasks_database.blocked, "step": "nope"})
        assert answer.document["error"]["code"] == "STEP_NOT_FOUND"
        assert "validate_request" in answer.document["error"]["hint"]
    assert command_error(["task", "audit", tasks_database.blocked, "nope"], clocked_url) == (
        "STEP_NOT_FOUND"
    )
    for name, arguments in [
        ("task_list", {"limit": 0}),
        ("task_list", {"limit": 2**63}),
        ("task_list", {"status": "complete"}),
        ("task_inspect", {"task": "x" * 5000}),
        ("task_inspect", {"task": tasks_database.planned, "view": "planning"}),
        ("dlq_stats", {"bogus": 1}),
        ("staleness_check", {"dry_run": False}),
    ]:
        answer = caller.invoke(SPECS[name], arguments)
        assert answer.document["error"]["code"] == "TOOL_ARGUMENTS_INVALID", (name, arguments)
    # PostgreSQL's text holds no NUL: refused as the argument it is in, before any query
    for name, arguments, where in [
        ("task_list", {"namespace": "a\x00b"}, "namespace"),
        ("task_list", {"status": ["complete", "a\x00"]}, "status"),
        ("step_audit", {"task": tasks_database.blocked, "step": "a\x00b"}, "step"),
        ("events", {"domain": True, "name": "\x00"}, "name"),
        ("staleness_check", {"namespaces": ["\x00"]}, "namespaces"),
    ]:
        answer = caller.invoke(SPECS[name], arguments)
        error = answer.document["error"]
        assert error["code"] == "TOOL_ARGUMENTS_INVALID", (name, arguments)
        assert [problem["path"] for problem in error["problems"]] == [where]
        assert "NUL" in error["problems"][0]["problem"]


def _walk(caller: Caller, spec: ToolSpec, arguments: dict[str, Any]) -> list[Answer]:
    answers = [caller.invoke(spec, arguments)]
    while (cursor := answers[-1].document.get("page", {}).get("next_cursor")) is not None:
        answers.append(caller.invoke(spec, {**arguments, CURSOR_ARGUMENT: cursor}))
        assert len(answers) < 500
    return answers


@pytest.mark.parametrize(
    ("name", "arguments", "cap"),
    [
        ("events", {"since": "1d"}, 2000),
        ("events", {"domain": True, "since": "1d"}, 1500),
        ("task_list", {}, 1200),
        ("task_list", {"limit": 3}, 1000),
        ("dlq_list", {}, 2000),
    ],
)
def test_a_list_beyond_the_cap_comes_in_pages_that_walk_it_whole(
    caller: Caller, name: str, arguments: dict[str, Any], cap: int
) -> None:
    spec = SPECS[name]
    field = spec.pages
    assert field is not None
    whole = Caller(caller.context, limit=10**9).invoke(spec, arguments).document
    assert "page" not in whole
    small = Caller(caller.context, limit=cap)
    answers = _walk(small, spec, arguments)
    walked = [item for answer in answers for item in answer.document[field]]
    assert walked == whole[field]
    if len(whole[field]) > 1 and name != "dlq_list":
        assert len(answers) > 1  # small pages indeed
    for answer in answers:
        assert not answer.is_error
        page = answer.document.get("page")
        if len(answers) > 1:
            assert page is not None
            assert page["total"] == len(whole[field])


def test_a_read_tool_with_no_database_configured_answers_a_coded_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # nothing configured and no embedded server: the reads refuse rather than start one
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TASKER_HOME", str(tmp_path / ".tasker"))
    context = ToolContext(project_root=tmp_path)
    answer = Caller(context).invoke(SPECS["task_list"], {})
    assert answer.is_error
    result = CliRunner().invoke(build_command(), ["task", "list", "--json"])
    assert result.exit_code == 2, result.output
    assert answer.document["error"]["code"] == "DATABASE_NOT_FOUND"
    assert "error[DATABASE_NOT_FOUND]" in result.stderr
    assert not (tmp_path / ".tasker").exists()  # no server started, no database made


def test_the_audit_names_who_acted_on_a_step_and_why(database_url: str) -> None:
    """An operator's retry is in the trail with its --by and --reason; the attempt before it
    keeps its error. (Its own database: the module's is never changed.)"""
    from tasker_ctl.engine import run_template
    from tasker_ctl.engine.operator import Actor, retry_step
    from tasker_ctl.engine.store import connect
    from tests.integration.mcp.conftest import EXAMPLES

    blocked = run_template(
        EXAMPLES / "approval/approval.yaml",
        context={"amount": 250000, "employee_id": "e-7", "purpose": "a yacht"},
        handlers=[str(EXAMPLES / "approval/approval_handlers.py")],
        database_url=database_url,
        timeout=60,
    )
    with connect(database_url) as store:
        retry_step(
            store, blocked.task_uuid, "validate_request", Actor("alice", "purchase order attached")
        )
    caller = Caller(ToolContext(project_root=EXAMPLES, database_url=database_url))
    arguments = {"task": str(blocked.task_uuid), "step": "validate_request"}
    document = caller.invoke(SPECS["step_audit"], arguments).document
    assert document["operator_actions"] == 1
    (action,) = [item for item in document["transitions"] if item["action"] is not None]
    assert (action["action"], action["by"], action["reason"]) == (
        "retry_step",
        "alice",
        "purchase order attached",
    )
    assert (action["from_state"], action["to_state"]) == ("error", "pending")
    (attempt,) = document["attempt_history"]
    assert attempt["error"]["message"].startswith("an expense of 250000.00")
    printed, _ = command_json(
        ["task", "audit", str(blocked.task_uuid), "validate_request"], database_url
    )
    assert printed == document
    shown = CliRunner().invoke(
        build_command(),
        [
            "task",
            "audit",
            str(blocked.task_uuid)[:8],
            "validate_request",
            "--database-url",
            database_url,
        ],
    )
    assert "[retry_step by alice: purchase order attached]" in shown.stdout


FLAKY_TEMPLATE = """\
name: flaky
namespace_name: audit
version: "1.0.0"
steps:
  - name: call
    handler: {callable: audit.flaky}
    retry: {retryable: true, max_attempts: 2, backoff: none}
"""
FLAKY_HANDLERS = """\
from tasker_ctl.sdk.errors import RetryableError
from tasker_ctl.sdk.step_handler.functional import step_handler


@step_handler("audit.flaky")
def flaky(context):
    raise RetryableError(f"upstream timed out (attempt {context.retry_count + 1})")
"""


def test_each_attempt_keeps_its_own_error(database_url: str, tmp_path: Path) -> None:
    """The step stores only its last result; each failure's transition notes its error, so
    the audit gives every attempt its own."""
    report = run_written(database_url, tmp_path, "flaky", FLAKY_TEMPLATE, FLAKY_HANDLERS)
    assert report.status == "blocked_by_failures"
    caller = Caller(ToolContext(project_root=tmp_path, database_url=database_url))
    arguments = {"task": str(report.task_uuid), "step": "call"}
    document = caller.invoke(SPECS["step_audit"], arguments).document
    assert [(a["number"], a["outcome"]) for a in document["attempt_history"]] == [
        (1, "waiting_for_retry"),
        (2, "error"),
    ]
    assert [a["error"]["message"] for a in document["attempt_history"]] == [
        "upstream timed out (attempt 1)",
        "upstream timed out (attempt 2)",
    ]
    assert {a["error"]["error_type"] for a in document["attempt_history"]} == {"retryable_error"}
    failures = [t for t in document["transitions"] if t["from_state"] == "in_progress"]
    assert [t["metadata"]["error"]["retryable"] for t in failures] == [True, True]
