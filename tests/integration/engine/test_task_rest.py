"""``task_rests`` (one row) says what ``task_report(...).resting`` says (every step): for a
task just submitted, one complete, one blocked by a failed step, one waiting at a gate, and the
same after the gate is approved (its step claimable again)."""

from __future__ import annotations

import uuid
from pathlib import Path

from tasker_ctl.engine import run_template, submit_template
from tasker_ctl.engine.operator import Actor, decide_gate
from tasker_ctl.engine.store import Store
from tasker_ctl.engine.views.task_report import task_report, task_rests
from tests.integration.engine.test_gates import HANDLERS as GATE_HANDLERS
from tests.integration.engine.test_gates import TEMPLATE as GATE_TEMPLATE

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _agree(store: Store, task: uuid.UUID) -> bool:
    rests = task_rests(store, task)
    assert rests == task_report(store, task).resting
    return rests


def test_one_row_says_what_the_whole_report_says(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    submitted = submit_template(
        EXAMPLES / "linear/linear.yaml", context={"even_number": 2}, database_url=database_url
    )
    assert not _agree(store, submitted.task_uuid)
    finished = run_template(
        EXAMPLES / "linear/linear.yaml",
        context={"even_number": 4},
        handlers=[str(EXAMPLES / "linear/linear_handlers.py")],
        database_url=database_url,
        timeout=60,
    )
    assert _agree(store, finished.task_uuid)
    blocked = run_template(
        EXAMPLES / "approval/approval.yaml",
        context={"amount": 250000, "employee_id": "e-7", "purpose": "a yacht"},
        handlers=[str(EXAMPLES / "approval/approval_handlers.py")],
        database_url=database_url,
        timeout=60,
    )
    assert blocked.status == "blocked_by_failures"
    assert _agree(store, blocked.task_uuid)
    (tmp_path / "refund.yaml").write_text(GATE_TEMPLATE, encoding="utf-8")
    handlers = tmp_path / f"rest_handlers_{uuid.uuid4().hex[:8]}.py"
    handlers.write_text(GATE_HANDLERS, encoding="utf-8")
    gated = run_template(
        tmp_path / "refund.yaml",
        context={},
        handlers=[str(handlers)],
        database_url=database_url,
        timeout=60,
    )
    assert gated.waiting_for_approval
    assert _agree(store, gated.task_uuid)
    decide_gate(
        store, gated.task_uuid, "approve_refund", approve=True, actor=Actor.of("ok", "ops-lead")
    )
    assert not _agree(store, gated.task_uuid)
