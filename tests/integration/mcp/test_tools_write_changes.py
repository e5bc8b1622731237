"""Confirmed writes, through the server as a client makes them (the SDK's client in process):
each tool's answer is the document its command prints with ``--json``,
the change is recorded as made by the server's client for the reason given, and a token is
good once and only while its target stays as the preview saw it.

A repair changes its task once, so the tool acts on one task and the command on a twin made
the same way; the two documents are compared with the task's own identifiers and times
replaced by placeholders.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tasker_ctl.db.settings import with_database
from tasker_ctl.mcp.tools_agent import TOOLS as AGENT_TOOLS
from tests.e2e.in_process import in_process_runner
from tests.integration.mcp.test_tools_write import (
    ACTOR,
    APPROVER,
    BLOCKED_CONTEXT,
    EXAMPLES,
    FAILED_STEP,
    GATE_STEP,
    TOOL,
    Workshop,
    confirmed,
    database_snapshot,
    error_code,
    make_caller,
)
from tests.mcp_sdk import SdkCaller
from tests.postgres_plugin import Databases

REASON = "the card processor is back"


def through_the_server(url: str, root: Path) -> SdkCaller:
    """The server's client, named so that its writes are recorded as ``ACTOR``'s (the gate
    tests keep the call path: the refund gate's approver is no MCP client)."""
    return SdkCaller(root, url, client=ACTOR.removeprefix("mcp:"))


AGENT_TOOL = {spec.name: spec for spec in AGENT_TOOLS}
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


@pytest.fixture(scope="module")
def workshop(
    postgres_url: str,
    databases: Databases,
    template_database: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Workshop]:
    """The module's database; each test makes the tasks it changes."""
    name = databases.create(template_database)
    try:
        yield Workshop(with_database(postgres_url, name), tmp_path_factory.mktemp("changes"))
    finally:
        databases.drop_later(name)


@pytest.fixture
def cli(workshop: Workshop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``tasker-ctl ARGS --json`` in this process, on the workshop's database: its document."""
    invoke = in_process_runner(tmp_path, monkeypatch)

    def run(*args: str, expect: int = 0) -> dict[str, Any]:
        """The document; for a command expected to fail, its exit code and error output."""
        result: subprocess.CompletedProcess[str] = invoke(
            *args,
            "--json",
            cwd=workshop.folder,
            env={"TASKER_DATABASE_URL": workshop.url},
        )
        assert result.returncode == expect, result.stdout + result.stderr
        if expect:
            return {"exit": result.returncode, "stderr": result.stderr}
        document: dict[str, Any] = json.loads(result.stdout)
        return document

    return run


def normalized(document: Any, names: dict[str, str] | None = None) -> Any:
    """``document`` with UUIDs numbered in order of appearance, times and durations blanked:
    what differs between a task and its twin."""
    names = {} if names is None else names
    if isinstance(document, dict):
        return {
            key: None if key.endswith("_ms") else normalized(value, names)
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [normalized(item, names) for item in document]
    if isinstance(document, str):
        if _UUID.match(document):
            return names.setdefault(document, f"<uuid {len(names)}>")
        if _TIME.match(document):
            return "<time>"
        return re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<uuid>", document)
    return document


def last_step_transition(url: str, task: str, step: str) -> dict[str, Any]:
    """The step's latest transition made by an operator's action."""
    with psycopg.connect(url, row_factory=dict_row) as connection:
        row = connection.execute(
            "SELECT t.to_state, t.metadata FROM tasker.workflow_step_transitions t "
            "JOIN tasker.workflow_steps s USING (workflow_step_uuid) "
            "JOIN tasker.named_steps n USING (named_step_uuid) "
            "WHERE s.task_uuid = %s AND n.name = %s AND t.metadata ? 'action' "
            "ORDER BY t.sort_key DESC LIMIT 1",
            [task, step],
        ).fetchone()
    assert row is not None
    return row


def task_row(url: str, task: str) -> dict[str, Any]:
    with psycopg.connect(url, row_factory=dict_row) as connection:
        row = connection.execute(
            "SELECT initiator, reason, (SELECT metadata FROM tasker.task_transitions "
            "WHERE task_uuid = %s ORDER BY sort_key LIMIT 1) AS created, "
            "(SELECT metadata FROM tasker.task_transitions WHERE task_uuid = %s "
            "ORDER BY sort_key DESC LIMIT 1) AS last "
            "FROM tasker.tasks WHERE task_uuid = %s",
            [task, task, task],
        ).fetchone()
    assert row is not None
    return row


def but_registrations(snapshot: dict[str, list[str]]) -> dict[str, list[str]]:
    """A snapshot without the template's registration, which every submit refreshes."""
    return {
        table: rows
        for table, rows in snapshot.items()
        if table not in {"task_namespaces", "named_tasks"}
    }


STEP_REPAIRS = [
    ("step_retry", ["task", "retry-step"], {}, []),
    ("step_resolve", ["task", "resolve-step"], {}, []),
    (
        "step_complete",
        ["task", "complete-step"],
        {"result": {"amount_cents": 100, "employee_id": "e-7"}},
        ["--result", '{"amount_cents": 100, "employee_id": "e-7"}'],
    ),
]


@pytest.mark.parametrize(("name", "command", "extra", "options"), STEP_REPAIRS)
def test_a_step_repair_answers_its_commands_document_and_records_who_and_why(
    workshop: Workshop,
    cli: Any,
    name: str,
    command: list[str],
    extra: dict[str, Any],
    options: list[str],
) -> None:
    mine, twin = workshop.blocked(), workshop.blocked()
    caller = through_the_server(workshop.url, workshop.folder)
    arguments = {"task": mine, "step": FAILED_STEP, "reason": REASON, **extra}

    answer = confirmed(caller, name, arguments)
    assert not answer.is_error, answer.document
    document = cli(*command, twin, FAILED_STEP, *options, "--reason", REASON, "--by", ACTOR)

    assert normalized(answer.document) == normalized(document)
    assert answer.document["action"]["by"] == ACTOR
    assert answer.document["action"]["reason"] == REASON
    recorded = last_step_transition(workshop.url, mine, FAILED_STEP)["metadata"]
    assert (recorded["by"], recorded["reason"]) == (ACTOR, REASON)


def test_task_cancel_answers_its_commands_document(workshop: Workshop, cli: Any) -> None:
    mine, twin = workshop.blocked(), workshop.blocked()
    caller = through_the_server(workshop.url, workshop.folder)

    answer = confirmed(caller, "task_cancel", {"task": mine, "reason": REASON})
    document = cli("task", "cancel", twin, "--reason", REASON, "--by", ACTOR)

    assert normalized(answer.document) == normalized(document)
    assert answer.document["task"]["status"] == "cancelled"
    recorded = task_row(workshop.url, mine)["last"]
    assert (recorded["by"], recorded["reason"], recorded["action"]) == (
        ACTOR,
        REASON,
        "cancel_task",
    )


@pytest.mark.parametrize(
    ("name", "command"), [("gate_approve", "approve"), ("gate_reject", "reject")]
)
def test_a_gate_decision_answers_its_commands_document(
    workshop: Workshop, cli: Any, name: str, command: str
) -> None:
    mine, twin = workshop.gated(), workshop.gated()
    caller = make_caller(workshop.url, workshop.folder, actor=APPROVER)

    answer = confirmed(caller, name, {"task": mine, "step": GATE_STEP, "reason": REASON})
    document = cli("task", command, twin, GATE_STEP, "--reason", REASON, "--by", APPROVER)

    assert normalized(answer.document) == normalized(document)
    recorded = last_step_transition(workshop.url, mine, GATE_STEP)["metadata"]
    assert (recorded["by"], recorded["reason"]) == (APPROVER, REASON)


def test_dlq_resolve_answers_its_commands_document(
    postgres_url: str,
    databases: Databases,
    template_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a database of its own: the sweep that makes the entries takes every stale task
    name = databases.create(template_database)
    workshop = Workshop(with_database(postgres_url, name), tmp_path)
    try:
        mine, twin = workshop.dead_lettered(2)
        caller = through_the_server(workshop.url, workshop.folder)
        arguments = {"entry": mine, "status": "manually_resolved", "reason": REASON}

        answer = confirmed(caller, "dlq_resolve", arguments)
        invoke = in_process_runner(tmp_path, monkeypatch)
        result = invoke(
            "dlq", "resolve", twin, "--status", "manually_resolved", "--notes", REASON,
            "--by", ACTOR, "--json", env={"TASKER_DATABASE_URL": workshop.url},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr

        assert normalized(answer.document) == normalized(json.loads(result.stdout))
        entry = answer.document["entry"]
        assert (entry["resolved_by"], entry["resolution_notes"]) == (ACTOR, REASON)
        # resolved once: a second resolution is refused, at its preview already
        again = caller.invoke(TOOL["dlq_resolve"], arguments)
        assert error_code(again) == "DLQ_ENTRY_ALREADY_RESOLVED"
    finally:
        databases.drop_later(name)


def test_task_submit_answers_its_commands_document_and_a_key_makes_it_once(
    workshop: Workshop, cli: Any
) -> None:
    (workshop.folder / "approval.yaml").write_text(
        (EXAMPLES / "approval/approval.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    caller = through_the_server(workshop.url, workshop.folder)
    context = {**BLOCKED_CONTEXT, "purpose": "submitted by a test"}
    arguments = {
        "template": "approval.yaml",
        "context": context,
        "idempotency_key": "request-1",
        "reason": REASON,
    }

    preview = caller.invoke(TOOL["task_submit"], arguments).document["preview"]
    assert preview["target"]["task"] is None
    assert preview["current"]["initial_steps"] == [FAILED_STEP, "route_by_amount"]
    first = confirmed(caller, "task_submit", arguments)
    assert not first.is_error, first.document
    assert first.document["task"]["resumed"] is False
    task = first.document["task"]["uuid"]

    # the same key again: the first task, nothing created; the command says the same
    before = database_snapshot(workshop.url)
    preview = caller.invoke(TOOL["task_submit"], arguments).document["preview"]
    assert preview["target"]["task"] == task
    assert preview["changes"] == []
    again = confirmed(caller, "task_submit", arguments)
    document = cli(
        "task", "submit", "approval.yaml", "--context", json.dumps(context),
        "--idempotency-key", "request-1", "--reason", REASON, "--by", ACTOR,
    )  # fmt: skip
    assert again.document == document
    assert document["task"] == {**first.document["task"], "resumed": True}
    assert but_registrations(database_snapshot(workshop.url)) == but_registrations(before)

    # nothing runs it here: its first step may be settled by hand instead of by a worker
    diagnosis = make_caller(workshop.url, workshop.folder).invoke(
        AGENT_TOOL["step_diagnose"], {"task": task, "step": FAILED_STEP}
    )
    assert [move["tool"]["name"] for move in diagnosis.document["repairs"]] == [
        "step_resolve",
        "step_complete",
    ]

    # who submitted it and why: on the task, and in its first transition
    recorded = task_row(workshop.url, task)
    assert (recorded["initiator"], recorded["reason"]) == (ACTOR, REASON)
    assert recorded["created"] == {
        "action": "submit_task",
        "by": ACTOR,
        "reason": REASON,
        "idempotency_key": "request-1",
    }

    # the key with another context is another request: refused, nothing written
    other = {**arguments, "context": {**context, "amount": 5}}
    assert error_code(caller.invoke(TOOL["task_submit"], other)) == "IDEMPOTENCY_KEY_CONFLICT"
    refused = cli(
        "task", "submit", "approval.yaml", "--context", json.dumps(other["context"]),
        "--idempotency-key", "request-1", expect=2,
    )  # fmt: skip
    assert "IDEMPOTENCY_KEY_CONFLICT" in refused["stderr"]
    assert but_registrations(database_snapshot(workshop.url)) == but_registrations(before)


def test_a_token_is_good_once_and_only_while_the_target_stays_as_previewed(
    workshop: Workshop, cli: Any
) -> None:
    task = workshop.blocked()
    caller = through_the_server(workshop.url, workshop.folder)
    arguments = {"task": task, "step": FAILED_STEP, "reason": REASON}

    # stale: another operator retried the step between the preview and the confirm
    token = caller.invoke(TOOL["step_retry"], arguments).document["token"]
    cli("task", "retry-step", task, FAILED_STEP, "--reason", "first come")
    before = database_snapshot(workshop.url)
    answer = caller.invoke(TOOL["step_retry"], {**arguments, "confirm": True, "token": token})
    assert error_code(answer) == "CONFIRMATION_STALE"
    assert database_snapshot(workshop.url) == before

    # used: a token confirms once
    cancel = {"task": task, "reason": REASON}
    token = caller.invoke(TOOL["task_cancel"], cancel).document["token"]
    done = caller.invoke(TOOL["task_cancel"], {**cancel, "confirm": True, "token": token})
    assert not done.is_error, done.document
    before = database_snapshot(workshop.url)
    again = caller.invoke(TOOL["task_cancel"], {**cancel, "confirm": True, "token": token})
    assert error_code(again) == "CONFIRMATION_STALE"
    assert "used already" in again.document["error"]["message"]
    assert database_snapshot(workshop.url) == before


class FinishedTasks:
    """A telemetry that keeps the finished tasks it is told of."""

    def __init__(self) -> None:
        self.finished: list[Any] = []

    def start_attempt(self, info: Any) -> Any:
        raise AssertionError("no attempt runs here")

    def start_planner_call(self, info: Any) -> Any:
        raise AssertionError("no planner is called here")

    def task_finished(self, task: Any) -> None:
        self.finished.append(task)

    def flush(self) -> None:
        pass


def test_a_preview_tells_telemetry_of_no_finished_task(workshop: Workshop) -> None:
    from tasker_ctl.telemetry import install_telemetry, reset_telemetry

    task = workshop.blocked()
    caller = through_the_server(workshop.url, workshop.folder)
    telemetry = FinishedTasks()
    install_telemetry(telemetry)
    try:
        preview = caller.invoke(TOOL["task_cancel"], {"task": task, "reason": REASON})
        assert preview.document["preview"]["changes"][-1]["after"] == "cancelled"
        assert telemetry.finished == []  # the rehearsal's cancel was rolled back
        done = confirmed(caller, "task_cancel", {"task": task, "reason": REASON})
        assert not done.is_error, done.document
        assert [str(item.task_uuid) for item in telemetry.finished] == [task]
    finally:
        reset_telemetry()
