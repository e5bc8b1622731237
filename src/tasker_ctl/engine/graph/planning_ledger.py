"""A planning attempt's share of its task's budget: reserved before the model call, committed
and released after it, in exact decimals.

An attempt reserves its worst case: one call, the tokens of everything it sends (a byte-level
token is at least one byte, so a prompt of n UTF-8 bytes is at most n tokens) plus the most
the model may answer, the cost of those tokens at the model's price, and the call's timeout.
The reservation is made under a lock on the task's row, so concurrent planning steps of one
task never pass a limit together; what the call really used is committed afterwards and the
rest released. A call whose use cannot be known (the worker died during it, the transport
failed, the provider gave no usage) is committed at its reservation: the ledger may say more
was spent than was, never less.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tasker_ctl.engine.graph.submission import QueryRunner
from tasker_ctl.engine.store.connection import Json, Store

SPENDING = ("llm_calls", "tokens", "cost_usd", "wall_seconds")
"""What one model call spends."""

MIN_OUTPUT_TOKENS = 256
"""An answer room smaller than this cannot hold a fragment: the budget is spent."""


@dataclass(frozen=True)
class BudgetState:
    """A task's limits and what its ledger holds, by resource (exact); ``step_left``: what
    one planning step has left of its own configured bounds, when read for a step."""

    limits: dict[str, Decimal]
    used: dict[str, Decimal]
    reserved: dict[str, Decimal]
    step_left: dict[str, Decimal] = field(default_factory=dict)
    # what the task's delegation chain has left of its aggregate limits (read with a step)
    chain_left: dict[str, Decimal] = field(default_factory=dict)

    def remaining(self, resource: str) -> Decimal | None:
        """What is left of ``resource``: the least of the task's, the step's own bound
        (the budget hierarchy) and its chain's aggregate; None when none limits it."""
        limit = self.limits.get(resource)
        left = []
        if limit is not None:
            left.append(
                limit
                - self.used.get(resource, Decimal(0))
                - self.reserved.get(resource, Decimal(0))
            )
        for narrower in (self.step_left, self.chain_left):
            if resource in narrower:
                left.append(narrower[resource])
        return min(left) if left else None


def read_budget(
    store: Store,
    task_uuid: uuid.UUID,
    *,
    lock: bool,
    step_uuid: uuid.UUID | None = None,
    step_limits: Mapping[str, Decimal] | None = None,
) -> BudgetState:
    """The task's budget; with ``lock`` (inside a transaction) its row is held until commit.
    With ``step_uuid`` and ``step_limits`` (``rules.budget.planning_step_limits``), what one
    call spends is also bounded by what that planning step has left of its own limits."""
    row = store.fetch_one("lock_task_budget", task_uuid=task_uuid) if lock else None
    if row is None:
        row = store.fetch_one("task_budget_limits", task_uuid=task_uuid)
    raw_limits = (row or {}).get("budget_limits") or {}
    limits = {
        key: Decimal(str(value))
        for key, value in raw_limits.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    sums: dict[tuple[str, str], Decimal] = {
        (entry["resource"], entry["kind"]): Decimal(entry["amount"])
        for entry in store.fetch_all("task_budget_sums", task_uuid=task_uuid)
    }
    used: dict[str, Decimal] = {}
    reserved: dict[str, Decimal] = {}
    for resource in {resource for resource, _ in sums}:
        used[resource], reserved[resource] = _use(sums, resource)
    step_left: dict[str, Decimal] = {}
    if step_uuid is not None and step_limits:
        step_sums = {
            (entry["resource"], entry["kind"]): Decimal(entry["amount"])
            for entry in store.fetch_all("planning_step_budget_sums", step_uuid=step_uuid)
        }
        for resource in SPENDING:
            if resource in step_limits:
                step_left[resource] = step_limits[resource] - _open(step_sums, resource)
    chain: dict[str, Decimal] = {}
    if lock and step_uuid is not None:  # a call's reservation: the chain's limits hold too
        from tasker_ctl.engine.graph.chains import chain_left

        chain = chain_left(store, task_uuid)
    return BudgetState(limits, used, reserved, step_left, chain)


def _use(sums: Mapping[tuple[str, str], Decimal], resource: str) -> tuple[Decimal, Decimal]:
    """What of ``resource`` is used and what is still reserved, by the ledger's rule
    (rules/budget.py): a release frees open reservations first."""
    zero = Decimal(0)
    committed = sums.get((resource, "commit"), zero)
    reserved_total = sums.get((resource, "reserve"), zero)
    released = sums.get((resource, "release"), zero)
    open_reserved = max(zero, reserved_total - committed - released)
    over_release = max(zero, released - max(zero, reserved_total - committed))
    return max(zero, committed - over_release), open_reserved


def _open(sums: Mapping[tuple[str, str], Decimal], resource: str) -> Decimal:
    """Used and still reserved of ``resource``."""
    used, reserved = _use(sums, resource)
    return used + reserved


def write_entries(
    store: QueryRunner,
    task_uuid: uuid.UUID,
    step_uuid: uuid.UUID,
    attempt_uuid: uuid.UUID | None,
    kind: str,
    amounts: Mapping[str, Decimal],
    note: str | None = None,
) -> None:
    """One ledger entry of ``kind`` per resource whose amount is above zero."""
    for resource, amount in amounts.items():
        if amount > 0:
            store.execute(
                "insert_planning_ledger_entry",
                task_uuid=task_uuid,
                step_uuid=step_uuid,
                attempt_uuid=attempt_uuid,
                resource=resource,
                kind=kind,
                amount=amount,
                note=note,
            )


def settle(
    store: Store,
    task_uuid: uuid.UUID,
    step_uuid: uuid.UUID,
    attempt_uuid: uuid.UUID,
    reserved: Mapping[str, Decimal],
    spent: Mapping[str, Decimal],
) -> None:
    """Commit what an attempt spent and release the rest of what it reserved."""
    write_entries(store, task_uuid, step_uuid, attempt_uuid, "commit", spent)
    rest = {
        resource: amount - spent.get(resource, Decimal(0))
        for resource, amount in reserved.items()
        if resource in SPENDING
    }
    write_entries(store, task_uuid, step_uuid, attempt_uuid, "release", rest)


def stored_reservation(reserved: Mapping[str, Decimal]) -> Json:
    """The reservation as ``planning_attempts.reserved`` keeps it (decimals as text)."""
    return Json({key: str(value) for key, value in reserved.items()})


def read_reservation(value: Any) -> dict[str, Decimal]:
    """A stored reservation back in decimals (unreadable members are left out)."""
    found: dict[str, Decimal] = {}
    if isinstance(value, Mapping):
        for key, amount in value.items():
            try:
                found[str(key)] = Decimal(str(amount))
            except ArithmeticError:
                continue
    return found
