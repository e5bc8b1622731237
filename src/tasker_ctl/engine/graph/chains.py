"""A new task's place in a delegation chain: the limits it stores when it starts one, the
chain root's limits enforced when it joins one.

A task starts a chain when it has no ``parent_correlation_id``, or one that names no task
and no task uses yet (an agent's new session id); it then stores the template's ``chain``
block with the command's options over it (``tasks.chain_limits``). A task whose parent names
a task of a chain, or a session id other tasks already use, joins that chain: the root's row
is locked for the rest of the submission's transaction, so concurrent submissions to one
chain are checked one at a time, and the new task is refused (nothing written) when it would
sit deeper than ``max_depth`` below the root, when the chain already holds ``max_tasks``
tasks, or when what the chain's tasks committed together reached its cost, token or call
limit. The queries are in ``queries/chains.sql``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol

from tasker_ctl.engine.errors import (
    ChainBudgetExhaustedError,
    ChainDepthExceededError,
    ChainLimitError,
    ChainLimitsNotAtRootError,
    ChainTasksExceededError,
)
from tasker_ctl.engine.rules.budget import (
    CHAIN_BUDGET,
    ChainBreach,
    chain_breach,
    chain_limits,
    checked_chain_limits,
    decimal_text,
    exact,
    read_chain_limits,
)
from tasker_ctl.template.model import TaskTemplate

MAX_HOPS = 1000
"""The most links walked up or down a chain: a chain that loops still ends."""

GivenLimits = Mapping[str, int | float | Decimal | None]


class _Queries(Protocol):
    def fetch_one(self, name: str, /, **params: Any) -> dict[str, Any] | None: ...


def join_chain(
    store: _Queries,
    template: TaskTemplate,
    parent_correlation_id: uuid.UUID | None,
    given: GivenLimits | None = None,
) -> dict[str, int | float]:
    """The chain limits the new task stores ({} when it joins a chain); raises a
    ``ChainLimitError`` when joining would pass a limit of the chain's root, and
    ``ChainLimitsNotAtRootError`` when limits were given for a task that joins a chain.
    The caller holds the submission's transaction."""
    given = checked_chain_limits(given)
    if parent_correlation_id is None:
        return chain_limits(template, given)
    chain = store.fetch_one(
        "chain_of_parent", parent_correlation_id=parent_correlation_id, max_hops=MAX_HOPS
    )
    root_uuid = chain["root_task_uuid"] if chain else None
    if chain is None or root_uuid is None:
        return chain_limits(template, given)
    if given:
        raise ChainLimitsNotAtRootError(
            f"chain limits apply to the task that starts a chain; this task joins the chain of "
            f"task {root_uuid} through parent correlation id {parent_correlation_id}",
            hint="leave out the --chain-max-* options, or give them to the chain's first task",
        )
    root = store.fetch_one("lock_chain_root", task_uuid=root_uuid)
    limits = read_chain_limits(root["chain_limits"] if root else None)
    if not limits:
        return {}
    figures = store.fetch_one(
        "chain_figures",
        root_task_uuid=root_uuid,
        session_id=chain["session_id"],
        max_hops=MAX_HOPS,
    )
    used = {
        str(resource): exact(amount) or Decimal(0)
        for resource, amount in ((figures or {}).get("used") or {}).items()
    }
    tasks = int((figures or {}).get("tasks") or 0)
    breach = chain_breach(limits, depth=int(chain["depth"]), tasks=tasks, used=used)
    if breach is not None:
        raise chain_error(breach, str(root_uuid), tasks)
    return {}


def chain_error(breach: ChainBreach, root: str, tasks: int) -> ChainLimitError:
    """The coded error for a limit a new task would pass, naming the root and the figures."""
    limit, observed = decimal_text(breach.limit), decimal_text(breach.observed)
    where = f"the delegation chain of task {root}"
    if breach.limit_name == "max_depth":
        return ChainDepthExceededError(
            f"the new task would sit {observed} level(s) below the root of {where}, past its "
            f"max_depth of {limit}; nothing was created",
            root,
            limit,
            observed,
            hint="finish the work at a shallower level, or start a new chain with a higher "
            "--chain-max-depth",
        )
    if breach.limit_name == "max_tasks":
        return ChainTasksExceededError(
            f"{where} already holds {observed} task(s), its max_tasks is {limit}; nothing "
            "was created",
            root,
            limit,
            observed,
            hint="start a new chain with a higher --chain-max-tasks",
        )
    resource = CHAIN_BUDGET[breach.limit_name]
    shown = {
        "cost_usd": (f"${observed}", f"${limit}"),
        "tokens": (f"{observed} tokens", f"{limit} tokens"),
        "llm_calls": (f"{observed} LLM calls", f"{limit} LLM calls"),
    }[resource]
    return ChainBudgetExhaustedError(
        f"the {tasks} task(s) of {where} have together spent {shown[0]}, its {breach.limit_name} "
        f"is {shown[1]}; nothing was created",
        root,
        limit,
        observed,
        hint="`tasker-ctl report budget --lineage TASK` shows what each task spent; start a "
        "new chain with a higher limit",
    )


def chain_left(store: _Queries, task_uuid: uuid.UUID) -> dict[str, Decimal]:
    """What the delegation chain of a task has left of its aggregate limits (cost, tokens,
    LLM calls), by ledger resource, counting every task's use and open reservations; {} when
    its chain has none. Locks the chain root's row until the caller's transaction ends, so
    that the planning calls of a chain's tasks reserve one at a time."""
    task = store.fetch_one("chain_of_task", task_uuid=task_uuid)
    if task is None:
        return {}
    root_uuid, session = task_uuid, None
    if task["parent_correlation_id"] is not None:
        chain = store.fetch_one(
            "chain_of_parent",
            parent_correlation_id=task["parent_correlation_id"],
            max_hops=MAX_HOPS,
        )
        if chain is not None and chain["root_task_uuid"] is not None:
            root_uuid, session = chain["root_task_uuid"], chain["session_id"]
    root = store.fetch_one("lock_chain_root", task_uuid=root_uuid)
    limits = read_chain_limits(root["chain_limits"] if root else None)
    budget = {CHAIN_BUDGET[name]: limit for name, limit in limits.items() if name in CHAIN_BUDGET}
    if not budget:
        return {}
    figures = store.fetch_one(
        "chain_figures", root_task_uuid=root_uuid, session_id=session, max_hops=MAX_HOPS
    )
    held = {
        str(resource): exact(amount) or Decimal(0)
        for resource, amount in ((figures or {}).get("held") or {}).items()
    }
    return {resource: limit - held.get(resource, Decimal(0)) for resource, limit in budget.items()}
