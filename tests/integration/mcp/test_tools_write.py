"""The write tools refuse to change anything unless every rule is met.

On a server without ``--allow-write`` a write is ``WRITE_NOT_ALLOWED``; a call without
``confirm`` only previews (the change rehearsed and rolled back); a confirm without a token, with
a forged one, one issued for other arguments or one that expired is refused. Each case leaves
the database exactly as it was: every row of every table of the ``tasker`` schema.

The helpers here (``Workshop``, ``database_snapshot``, ``confirmed``) are shared with the
tests of confirmed writes (``test_tools_write_changes.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tasker_ctl.db.settings import with_database
from tasker_ctl.mcp.calls import Answer, Caller
from tasker_ctl.mcp.confirmation import TOKEN_LIFETIME_SECONDS
from tasker_ctl.mcp.spec import ToolContext, ToolSpec
from tasker_ctl.mcp.tools_write import TOOLS
from tests.integration.engine.test_gates import HANDLERS as GATE_HANDLERS
from tests.integration.engine.test_gates import TEMPLATE as GATE_TEMPLATE
from tests.integration.mcp.conftest import with_clock
from tests.postgres_plugin import Databases

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
ACTOR = "mcp:test-client"
APPROVER = "ops-lead"  # the refund gate's only approver
TOOL = {spec.name: spec for spec in TOOLS}
BLOCKED_CONTEXT = {"amount": 250000, "employee_id": "e-7", "purpose": "a yacht"}
FAILED_STEP = "validate_request"
GATE_STEP = "approve_refund"
# every write tool needs a database: there is no offline case to replay over the transports
PARITY_CASES: list[tuple[str, dict[str, Any], list[str]]] = []


def database_snapshot(url: str) -> dict[str, list[str]]:
    """Every row of every table of the ``tasker`` schema, as text, in a stable order."""
    with psycopg.connect(url) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'tasker' AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        ]
        return {
            table: sorted(
                str(row[0])
                for row in connection.execute(
                    sql.SQL("SELECT to_jsonb(t)::text FROM tasker.{} t").format(
                        sql.Identifier(table)
                    )
                )
            )
            for table in tables
        }


@dataclass
class Workshop:
    """A database, and tasks made in it on demand by really running templates."""

    url: str
    folder: Path

    def __post_init__(self) -> None:
        (self.folder / "refund.yaml").write_text(GATE_TEMPLATE, encoding="utf-8")
        # a module name of its own: handler files are imported by name
        self.gate_handlers = self.folder / f"refund_handlers_{uuid.uuid4().hex[:8]}.py"
        self.gate_handlers.write_text(GATE_HANDLERS, encoding="utf-8")

    def blocked(self) -> str:
        """A new task blocked by the failure of ``FAILED_STEP``."""
        from tasker_ctl.engine import run_template

        report = run_template(
            EXAMPLES / "approval/approval.yaml",
            context=BLOCKED_CONTEXT,
            handlers=[str(EXAMPLES / "approval/approval_handlers.py")],
            database_url=self.url,
            new_task=True,
            timeout=60,
        )
        assert report.status == "blocked_by_failures", report.status
        return str(report.task_uuid)

    def gated(self) -> str:
        """A new task whose ``GATE_STEP`` waits for ``APPROVER``."""
        from tasker_ctl.engine import run_template

        report = run_template(
            self.folder / "refund.yaml",
            context={},
            handlers=[str(self.gate_handlers)],
            database_url=self.url,
            new_task=True,
            timeout=60,
        )
        assert report.waiting_for_approval, report.status
        return str(report.task_uuid)

    def dead_lettered(self, count: int = 1) -> list[str]:
        """``count`` new DLQ entries: diamond tasks submitted, never run, swept as stale
        with the engine clock two hours ahead (every other task of the database must rest)."""
        from tasker_ctl.engine import submit_template
        from tasker_ctl.engine.operator import list_dlq_entries, sweep_stale_tasks
        from tasker_ctl.engine.store import connect

        made = {
            str(
                submit_template(
                    EXAMPLES / "diamond/diamond.yaml",
                    context={"even_number": 4},
                    database_url=self.url,
                    new_task=True,
                ).task_uuid
            )
            for _ in range(count)
        }
        with connect(with_clock(self.url, datetime.now(UTC) + timedelta(hours=2))) as store:
            swept = sweep_stale_tasks(store)
        assert {str(task.task_uuid) for task in swept.stale} == made, swept
        with connect(self.url) as store:
            entries = list_dlq_entries(store, status="pending")
        return [str(entry.dlq_entry_uuid) for entry in entries if str(entry.task_uuid) in made]


def make_caller(
    url: str,
    root: Path,
    *,
    allow_write: bool = True,
    actor: str = ACTOR,
    clock: Callable[[], float] | None = None,
) -> Caller:
    context = ToolContext(project_root=root, database_url=url, actor=actor, allow_write=allow_write)
    return Caller(context) if clock is None else Caller(context, clock=clock)


def confirmed(caller: Caller, name: str, arguments: dict[str, Any]) -> Answer:
    """Preview, then confirm with the preview's token."""
    preview = caller.invoke(TOOL[name], arguments)
    assert not preview.is_error, preview.document
    assert preview.document["status"] == "preview"
    return caller.invoke(
        TOOL[name], {**arguments, "confirm": True, "token": preview.document["token"]}
    )


def error_code(answer: Answer) -> str:
    assert answer.is_error, answer.document
    return str(answer.document["error"]["code"])


@dataclass(frozen=True)
class Targets:
    workshop: Workshop
    blocked: str
    gated: str
    dlq_entry: str

    def arguments(self, name: str) -> dict[str, Any]:
        """Arguments each write tool could act on in this database."""
        reason = {"reason": "checked by a test"}
        step = {"task": self.blocked, "step": FAILED_STEP, **reason}
        return {
            "task_submit": {"template": "refund.yaml", "new": True, **reason},
            "task_cancel": {"task": self.blocked, **reason},
            "step_retry": step,
            "step_resolve": step,
            "step_complete": {
                **step,
                "result": {"amount_cents": 100, "employee_id": "e-7"},
            },
            "gate_approve": {"task": self.gated, "step": GATE_STEP, **reason},
            "gate_reject": {"task": self.gated, "step": GATE_STEP, **reason},
            "dlq_resolve": {"entry": self.dlq_entry, "status": "manually_resolved", **reason},
        }[name]


@pytest.fixture(scope="module")
def targets(
    postgres_url: str,
    databases: Databases,
    template_database: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Targets]:
    """One database for the module: a DLQ entry, a blocked task, a gated task. Nothing in
    this module may change it."""
    name = databases.create(template_database)
    try:
        workshop = Workshop(with_database(postgres_url, name), tmp_path_factory.mktemp("writes"))
        (entry,) = workshop.dead_lettered()
        yield Targets(workshop, workshop.blocked(), workshop.gated(), entry)
    finally:
        databases.drop_later(name)


def _caller(targets: Targets, **options: Any) -> Caller:
    return make_caller(targets.workshop.url, targets.workshop.folder, **options)


def _actor(name: str) -> str:
    return APPROVER if name.startswith("gate_") else ACTOR


@pytest.mark.parametrize("name", sorted(TOOL))
def test_a_server_without_allow_write_changes_nothing(targets: Targets, name: str) -> None:
    before = database_snapshot(targets.workshop.url)
    caller = _caller(targets, allow_write=False)
    arguments = targets.arguments(name)

    assert error_code(caller.invoke(TOOL[name], arguments)) == "WRITE_NOT_ALLOWED"
    assert error_code(caller.invoke(TOOL[name], {**arguments, "confirm": True})) == (
        "WRITE_NOT_ALLOWED"
    )
    assert database_snapshot(targets.workshop.url) == before


@pytest.mark.parametrize("name", sorted(TOOL))
def test_a_preview_says_what_would_change_and_changes_nothing(targets: Targets, name: str) -> None:
    before = database_snapshot(targets.workshop.url)
    answer = _caller(targets).invoke(TOOL[name], targets.arguments(name), actor=_actor(name))

    assert not answer.is_error, answer.document
    assert answer.document["status"] == "preview"
    assert answer.document["token"]
    preview = answer.document["preview"]
    assert set(preview) == {"action", "target", "summary", "changes", "current"}
    assert preview["summary"]
    assert preview["changes"], preview
    assert database_snapshot(targets.workshop.url) == before


def test_a_preview_of_a_change_the_target_refuses_gives_the_changes_error(
    targets: Targets,
) -> None:
    before = database_snapshot(targets.workshop.url)
    caller = _caller(targets)
    # the gate's step is not in error: retrying it is refused, at the preview already
    answer = caller.invoke(
        TOOL["step_retry"], {"task": targets.gated, "step": GATE_STEP, "reason": "why not"}
    )
    assert error_code(answer) == "STEP_STATE_INVALID"
    # an approver the gate does not list is refused too, and nothing was written
    answer = caller.invoke(TOOL["gate_approve"], targets.arguments("gate_approve"))
    assert error_code(answer) == "APPROVER_NOT_ALLOWED"
    assert database_snapshot(targets.workshop.url) == before


def test_a_preview_names_the_step_the_target_and_its_state(targets: Targets) -> None:
    answer = _caller(targets).invoke(TOOL["step_retry"], targets.arguments("step_retry"))
    preview = answer.document["preview"]

    assert preview["action"] == "retry_step"
    assert preview["target"] == {
        "task": targets.blocked,
        "step": FAILED_STEP,
        "dlq_entry": None,
        "template": None,
    }
    assert preview["changes"][0] == {
        "subject": f"step '{FAILED_STEP}'",
        "before": "error",
        "after": "enqueued",
    }
    assert preview["current"]["step_state"] == "error"
    assert "purchase order" in preview["current"]["error"]
    assert f"by {ACTOR}: checked by a test" in preview["summary"]


def test_confirms_without_a_good_token_change_nothing(targets: Targets) -> None:
    before = database_snapshot(targets.workshop.url)
    caller = _caller(targets)
    arguments = targets.arguments("step_retry")
    spec: ToolSpec = TOOL["step_retry"]
    token = caller.invoke(spec, arguments).document["token"]
    body, mac = token.split(".")

    assert error_code(caller.invoke(spec, {**arguments, "confirm": True})) == (
        "CONFIRMATION_INVALID"
    )
    forged = f"{body}.{'0' * len(mac)}"
    assert error_code(caller.invoke(spec, {**arguments, "confirm": True, "token": forged})) == (
        "CONFIRMATION_INVALID"
    )
    other = {**arguments, "reason": "another reason", "confirm": True, "token": token}
    assert error_code(caller.invoke(spec, other)) == "CONFIRMATION_INVALID"
    # a token of another server (another secret) is not one of this server's
    stranger = _caller(targets)
    assert error_code(stranger.invoke(spec, {**arguments, "confirm": True, "token": token})) == (
        "CONFIRMATION_INVALID"
    )
    # a token of another tool with the same arguments
    resolve_token = caller.invoke(TOOL["step_resolve"], arguments).document["token"]
    assert error_code(
        caller.invoke(spec, {**arguments, "confirm": True, "token": resolve_token})
    ) == ("CONFIRMATION_INVALID")
    assert database_snapshot(targets.workshop.url) == before


def test_an_expired_token_changes_nothing(targets: Targets) -> None:
    before = database_snapshot(targets.workshop.url)
    now = [1_000_000.0]
    caller = _caller(targets, clock=lambda: now[0])
    arguments = targets.arguments("task_cancel")
    token = caller.invoke(TOOL["task_cancel"], arguments).document["token"]

    now[0] += TOKEN_LIFETIME_SECONDS + 1
    answer = caller.invoke(TOOL["task_cancel"], {**arguments, "confirm": True, "token": token})
    assert error_code(answer) == "CONFIRMATION_STALE"
    assert "expired" in answer.document["error"]["message"]
    assert database_snapshot(targets.workshop.url) == before


@pytest.mark.parametrize(
    ("name", "arguments", "code"),
    [
        ("task_cancel", {"task": "not-a-task", "reason": "x"}, "INVALID_TASK_REFERENCE"),
        ("task_cancel", {"task": str(uuid.UUID(int=1)), "reason": "x"}, "TASK_NOT_FOUND"),
        ("step_retry", {"task": "latest", "step": "nope", "reason": "x"}, "STEP_NOT_FOUND"),
        ("task_cancel", {"task": "latest", "reason": ""}, "TOOL_ARGUMENTS_INVALID"),
        ("task_cancel", {"task": "latest"}, "TOOL_ARGUMENTS_INVALID"),
        (
            "dlq_resolve",
            {"entry": "x", "status": "cancelled", "reason": "x"},
            "INVALID_DLQ_ENTRY_UUID",
        ),
        ("task_submit", {"template": "../../etc/passwd", "reason": "x"}, "PATH_OUTSIDE_PROJECT"),
        ("task_submit", {"template": "missing.yaml", "reason": "x"}, "PATH_NOT_FOUND"),
        (
            "task_submit",
            {"template": "refund.yaml", "context": {"a": float("nan")}, "reason": "x"},
            "NUMBER_NOT_FINITE",
        ),
        (
            "step_complete",
            {"task": "latest", "step": FAILED_STEP, "result": {"a": "\x00"}, "reason": "x"},
            "TEXT_NOT_STORABLE",
        ),
        (
            "step_complete",
            {"task": "latest", "step": GATE_STEP, "result": {}, "reason": "why\x00"},
            "TEXT_NOT_STORABLE",
        ),
        (
            "gate_reject",
            {"task": "latest", "step": GATE_STEP, "reason": "\x00"},
            "TEXT_NOT_STORABLE",
        ),
        ("gate_approve", {"task": "latest", "step": "a\x00", "reason": "x"}, "TEXT_NOT_STORABLE"),
        (
            "task_submit",
            {"template": "refund.yaml", "environment": "prod\x00", "reason": "x"},
            "TEXT_NOT_STORABLE",
        ),
        (
            "task_submit",
            {"template": "refund.yaml", "idempotency_key": "  ", "reason": "x"},
            "USAGE_ERROR",
        ),
        (
            "task_submit",
            {"template": "refund.yaml", "context": {"n": 10**200}, "reason": "x"},
            "NUMBER_TOO_LARGE",
        ),
    ],
)
def test_bad_arguments_get_a_coded_error_and_change_nothing(
    targets: Targets, name: str, arguments: dict[str, Any], code: str
) -> None:
    before = database_snapshot(targets.workshop.url)
    assert error_code(_caller(targets).invoke(TOOL[name], arguments)) == code
    assert database_snapshot(targets.workshop.url) == before


def test_the_dlq_documents_entry_model_has_the_engines_fields_in_order() -> None:
    """``dlq resolve --json`` writes ``DlqEntryOutput``, a closed copy of the engine's
    ``DlqEntry`` (kept apart so the tool list loads without the engine)."""
    from tasker_ctl.documents.repairs import DlqEntryOutput
    from tasker_ctl.engine.operator import DlqEntry

    assert list(DlqEntryOutput.model_fields) == list(DlqEntry.model_fields)
