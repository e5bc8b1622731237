"""``task_rests`` (one row) says what ``task_report(...).resting`` says (every step): for a
task just submitted, one complete, one blocked by a failed step, one waiting at a gate, and the
same after the gate is approved (its step claimable again)."""

from __future__ import annotations

import uuid
from pathlib import Path

from tasker_ctl.engine import submit_template
from tasker_ctl.engine.operator import Actor, decide_gate
from tasker_ctl.engine.store import Store
from tasker_ctl.engine.views.task_report import task_report, task_rests
from tests.integration.resting_tasks import (
    EXAMPLES,
    GATE_STEP,
    blocked_approval,
    finished_linear,
    gated_refund,
)


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
    finished = finished_linear(database_url, even_number=4)
    assert _agree(store, finished.task_uuid)
    blocked = blocked_approval(database_url)
    assert blocked.status == "blocked_by_failures"
    assert _agree(store, blocked.task_uuid)
    gated = gated_refund(database_url, tmp_path)
    assert gated.waiting_for_approval
    assert _agree(store, gated.task_uuid)
    decide_gate(store, gated.task_uuid, GATE_STEP, approve=True, actor=Actor.of("ok", "ops-lead"))
    assert not _agree(store, gated.task_uuid)
