"""Appending to a task's budget ledger: planners reserve, commit and release."""

from __future__ import annotations

import math
import uuid
from typing import TYPE_CHECKING

from tasker_ctl.engine.errors import InvalidLedgerEntryError
from tasker_ctl.engine.rules.budget import LEDGER_KINDS, RESOURCES, LedgerKind, Resource

if TYPE_CHECKING:
    from tasker_ctl.engine.store.connection import Store


def record_ledger_entry(
    store: Store,
    task_uuid: uuid.UUID,
    resource: Resource,
    kind: LedgerKind,
    amount: float,
    *,
    step_uuid: uuid.UUID | None = None,
    note: str | None = None,
) -> None:
    """Append one entry to a task's ledger (planners reserve, commit and release)."""
    if resource not in RESOURCES:
        raise InvalidLedgerEntryError(
            f"unknown budget resource {resource!r}", hint=f"use one of: {', '.join(RESOURCES)}"
        )
    if kind not in LEDGER_KINDS:
        raise InvalidLedgerEntryError(
            f"unknown ledger entry kind {kind!r}", hint=f"use one of: {', '.join(LEDGER_KINDS)}"
        )
    if not math.isfinite(amount) or amount < 0:
        raise InvalidLedgerEntryError(
            f"a ledger amount must be a finite number, 0 or more, not {amount!r}",
            hint="record what was reserved, committed or released, as a positive amount",
        )
    store.execute(
        "insert_ledger_entry",
        task_uuid=task_uuid,
        step_uuid=step_uuid,
        resource=resource,
        kind=kind,
        amount=amount,
        note=note,
    )
