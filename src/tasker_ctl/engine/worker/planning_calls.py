"""One model call of a planning step, as the database sees it: reserved and written before it
is made, completed after it, each write fenced by the step's claim; and the calls a dead worker
left, counted as spent."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any

from tasker_ctl.engine.errors import PlanningFailure
from tasker_ctl.engine.graph.planning_ledger import (
    MIN_OUTPUT_TOKENS,
    SPENDING,
    BudgetState,
    read_budget,
    read_reservation,
    settle,
    stored_reservation,
    write_entries,
)
from tasker_ctl.engine.rules.budget import planning_step_limits
from tasker_ctl.engine.store.connection import Json, Store
from tasker_ctl.engine.worker.attempt import Attempt
from tasker_ctl.engine.worker.planning_answers import findings_json
from tasker_ctl.template.model import PlanningBlock

if TYPE_CHECKING:
    from tasker_ctl.planning.planner import Planner, PlannerAnswer, PlannerRequest
    from tasker_ctl.planning.pricing import Price
    from tasker_ctl.planning.prompt import PlanningPrompt
    from tasker_ctl.planning.validator import FragmentCheck

MAX_STORED_ANSWER = 1024 * 1024  # characters of an answer kept in planning_attempts
WALL_SLACK_SECONDS = 1  # a call may end a little after its timeout: reserved beyond it


@dataclass(frozen=True)
class Call:
    """A call about to be made: its attempt row, the request as sent, what it reserved."""

    attempt_uuid: uuid.UUID
    number: int
    request: PlannerRequest
    reserved: dict[str, Decimal]  # ledger resources
    tokens_in: int  # the worst cases the token reservation is made of
    tokens_out: int
    price: Price | None


def fence(store: Store, attempt: Attempt) -> None:
    """Lock the step for this attempt (StaleAttemptError when it was taken over)."""
    store.fetch_one(
        "lock_current_attempt", step_uuid=attempt.step.step_uuid, attempt=attempt.number
    )


def worst_cost(price: Price | None, tokens_in: int, tokens_out: int) -> Decimal | None:
    if price is None:
        return None
    from tasker_ctl.planning.pricing import cost

    return cost(price, tokens_in, tokens_out)


def plan_reservation(
    block: PlanningBlock,
    request: PlannerRequest,
    price: Price | None,
    budget: BudgetState,
    findings: Sequence[Any],
    known_cost: Decimal | None = None,
) -> tuple[dict[str, Decimal], int, int, float]:
    """What the next call must reserve: (amounts, tokens in, tokens out, timeout); a
    ``PlanningFailure`` when the budget cannot cover it (the call is never made)."""

    def exhausted(what: str) -> PlanningFailure:
        return PlanningFailure(
            "PLANNING_BUDGET_EXHAUSTED",
            f"the task's planning budget cannot cover another model call: {what}",
            findings=findings,
            hint="raise the planning step's budget in the template, or supply a fragment with "
            "`task complete-step --result @fragment.yaml`",
        )

    calls = budget.remaining("llm_calls")
    if calls is not None and calls < 1:
        raise exhausted("no LLM call left of the task's limit or of the step's own bound")
    tokens_in = request.worst_case_input_tokens()
    tokens_out = block.max_output_tokens
    tokens_left = budget.remaining("tokens")
    if tokens_left is not None:
        tokens_out = min(tokens_out, int(tokens_left) - tokens_in)
        if tokens_out < MIN_OUTPUT_TOKENS:
            raise exhausted(
                f"{max(0, int(tokens_left))} token(s) left, the request alone may take "
                f"{tokens_in} and an answer needs room"
            )
    timeout = float(block.timeout_seconds)
    wall_left = budget.remaining("wall_seconds")
    if wall_left is not None:
        timeout = min(timeout, float(wall_left) - WALL_SLACK_SECONDS)
        if timeout < 1:
            raise exhausted(f"{max(0.0, float(wall_left)):.1f} s of planning time left")
    cost_left = budget.remaining("cost_usd")
    worst = worst_cost(price, tokens_in, tokens_out) if known_cost is None else known_cost
    if cost_left is not None and known_cost is not None:
        if known_cost > cost_left:
            raise exhausted(f"${cost_left} left, the recorded answer cost ${known_cost}")
    elif cost_left is not None:
        if price is None or worst is None:
            raise PlanningFailure(
                "PLANNING_PRICE_UNKNOWN",
                "the planning step has a cost limit but the model's price is unknown, so no "
                "call is made",
                hint="set 'planning.price' (input_usd_per_million, output_usd_per_million) "
                "for a local or unknown model",
            )
        if worst > cost_left:
            # a smaller answer may still fit: the output room shrinks to the money left
            tokens_out = _affordable_output(price, tokens_in, cost_left)
            if tokens_out < MIN_OUTPUT_TOKENS:
                raise exhausted(f"${cost_left} left, the request alone may cost more")
            worst = worst_cost(price, tokens_in, tokens_out)
    amounts = {
        "llm_calls": Decimal(1),
        "tokens": Decimal(tokens_in + tokens_out),
        "wall_seconds": Decimal(math.ceil(timeout) + WALL_SLACK_SECONDS),
    }
    if worst is not None:
        amounts["cost_usd"] = worst
    return amounts, tokens_in, tokens_out, timeout


def _affordable_output(price: Price, tokens_in: int, money: Decimal) -> int:
    """The most output tokens ``money`` pays for once the input's worst case is paid."""
    per_output = price.output_per_million / Decimal(1_000_000)
    left = money - worst_cost(price, tokens_in, 0)  # type: ignore[operator]
    if left <= 0:
        return 0
    if per_output <= 0:
        return 1_000_000_000
    return int(left / per_output)


def _known_cost(planner: Planner) -> Decimal | None:
    """What the next call costs when the planner knows it in advance (a replayed cassette
    answers with what it recorded): reserved exactly instead of at a price."""
    next_cost = getattr(planner, "next_cost", None)
    return next_cost() if callable(next_cost) else None


SUMMARY_VERSION = "summary-request/1"


def request_hash(request: PlannerRequest) -> str:
    from tasker_ctl.planning.planner import prompt_hash

    return prompt_hash(request.system, request.prompt)


def open_call(
    store: Store,
    attempt: Attempt,
    block: PlanningBlock,
    planner: Planner,
    prompt: PlanningPrompt | None,
    request: PlannerRequest,
    findings: Sequence[Any],
    phase: int,
    *,
    purpose: str = "plan",
) -> Call:
    """Reserve the call's worst case and write its attempt (``calling``), in one transaction
    under the task's budget lock. ``prompt`` is None for a call that summarizes an input
    (``purpose`` "summarize"): its request is recorded with its own hash."""
    from dataclasses import replace

    from tasker_ctl.planning.pricing import find_price, prices_version

    step = attempt.step
    price = find_price(planner.provider, planner.model, block.price)
    with store.transaction():
        fence(store, attempt)
        # the task's budget, narrowed to what this step has left of its own bounds
        budget = read_budget(
            store,
            step.task_uuid,
            lock=True,
            step_uuid=step.step_uuid,
            step_limits=planning_step_limits(block),
        )
        amounts, tokens_in, tokens_out, timeout = plan_reservation(
            block, request, price, budget, findings, _known_cost(planner)
        )
        sent = replace(request, max_output_tokens=tokens_out, timeout_seconds=timeout)
        row = store.fetch_one(
            "insert_planning_attempt",
            task_uuid=step.task_uuid,
            step_uuid=step.step_uuid,
            phase=phase,
            planner=planner.spec[:255],
            provider=planner.provider[:64],
            model=planner.model[:128],
            prompt=f"{sent.system}\n\n{sent.prompt}",
            prompt_hash=prompt.prompt_hash if prompt else request_hash(sent),
            prompt_version=prompt.version if prompt else SUMMARY_VERSION,
            capability_schema=Json(sent.tool_schema) if sent.tool_schema else None,
            capability_schema_hash=prompt.capability_hash if prompt else None,
            capability_text=prompt.capability_text if prompt else None,
            purpose=purpose,
            context_inputs=Json(prompt.context_inputs if prompt else []),
            reserved=stored_reservation(
                {**amounts, "tokens_in": Decimal(tokens_in), "tokens_out": Decimal(tokens_out)}
            ),
            prices_version=prices_version() if price is not None else None,
        )
        assert row is not None  # an INSERT ... RETURNING
        write_entries(
            store,
            step.task_uuid,
            step.step_uuid,
            row["planning_attempt_uuid"],
            "reserve",
            amounts,
            note=f"planning attempt {row['attempt']}",
        )
    return Call(
        row["planning_attempt_uuid"],
        int(row["attempt"]),
        sent,
        amounts,
        tokens_in,
        tokens_out,
        price,
    )


def answered_use(
    call: Call, answer: PlannerAnswer, wall: Decimal
) -> tuple[dict[str, Any], dict[str, Decimal]]:
    """What an answered call used: the attempt's columns and the ledger's amounts. Usage the
    provider did not report is the reservation's worst case (marked estimated)."""
    estimated = answer.tokens_in is None or answer.tokens_out is None
    tokens_in = answer.tokens_in if answer.tokens_in is not None else call.tokens_in
    tokens_out = answer.tokens_out if answer.tokens_out is not None else call.tokens_out
    if answer.cost_usd is not None:
        cost: Decimal | None = answer.cost_usd
    else:
        cost = worst_cost(call.price, tokens_in, tokens_out)
    columns = {
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "latency_ms": answer.latency_ms,
        "cost_usd": cost,
        "usage_estimated": estimated,
        "provider": answer.provider[:64],
        "model": answer.model[:128],
    }
    spent = {
        "llm_calls": Decimal(1),
        "tokens": Decimal(tokens_in + tokens_out),
        # bounded by the call's timeout, so by its reservation
        "wall_seconds": min(wall, call.reserved["wall_seconds"]),
    }
    if cost is not None:
        spent["cost_usd"] = cost
    return columns, spent


def close_answered(
    store: Store,
    attempt: Attempt,
    call: Call,
    answer: PlannerAnswer,
    wall: Decimal,
    check: FragmentCheck,
    fragment_id: str | None,
) -> None:
    """Complete the attempt with its answer and verdict, commit what it used and release the
    rest; an accepted fragment's steps and phase are reserved in the same transaction."""
    step = attempt.step
    columns, spent = answered_use(call, answer, wall)
    fragment = check.fragment.model_dump(mode="json") if check.fragment is not None else None
    with store.transaction():
        fence(store, attempt)
        store.fetch_one(
            "finish_planning_attempt",
            attempt_uuid=call.attempt_uuid,
            status="answered",
            answer=answer.text[:MAX_STORED_ANSWER],
            fragment=Json(fragment) if fragment is not None else None,
            fragment_id=fragment_id if check.accepted else None,
            findings=Json(findings_json(check.findings)),
            accepted=check.accepted,
            error=None,
            **columns,
        )
        settle(store, step.task_uuid, step.step_uuid, call.attempt_uuid, call.reserved, spent)
        if check.accepted and check.fragment is not None:
            write_entries(
                store,
                step.task_uuid,
                step.step_uuid,
                call.attempt_uuid,
                "reserve",
                {"steps": Decimal(len(check.fragment.steps)), "phases": Decimal(1)},
                note=f"fragment {fragment_id}",
            )


def close_failed(
    store: Store, attempt: Attempt, call: Call, error: Any, wall: Decimal, *, billed: bool
) -> None:
    """Complete an attempt whose call failed. A call the provider refused (a rate limit, a
    bad request) used nothing but the call; one whose fate is unknown (a timeout, a lost
    connection, a server error) is committed at its reservation."""
    step = attempt.step
    spent: dict[str, Decimal] = {
        "llm_calls": Decimal(1),
        "wall_seconds": min(wall, call.reserved["wall_seconds"]),
    }
    tokens_in = tokens_out = 0
    cost: Decimal | None = None
    if billed:
        spent = {key: value for key, value in call.reserved.items() if key in SPENDING}
        tokens_in, tokens_out = call.tokens_in, call.tokens_out
        cost = call.reserved.get("cost_usd")
    with store.transaction():
        fence(store, attempt)
        store.fetch_one(
            "finish_planning_attempt",
            attempt_uuid=call.attempt_uuid,
            status="failed",
            answer=None,
            fragment=None,
            fragment_id=None,
            findings=Json([]),
            accepted=False,
            error=f"{getattr(error, 'code', type(error).__name__)}: {error}"[:4000],
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            latency_ms=int(wall * 1000),
            cost_usd=cost,
            usage_estimated=billed,
            provider=None,
            model=None,
        )
        settle(store, step.task_uuid, step.step_uuid, call.attempt_uuid, call.reserved, spent)


def interrupt_left_calls(store: Store, attempt: Attempt, rows: list[dict[str, Any]]) -> None:
    """Count the calls a dead worker left ``calling`` as spent: their reservation committed,
    their tokens and cost the worst case (estimated)."""
    for row in rows:
        if row["status"] != "calling":
            continue
        reserved = read_reservation(row["reserved"])
        with store.transaction():
            fence(store, attempt)
            done = store.fetch_one(
                "interrupt_planning_attempt",
                attempt_uuid=row["planning_attempt_uuid"],
                tokens_in=int(reserved.get("tokens_in", 0)),
                tokens_out=int(reserved.get("tokens_out", 0)),
                cost_usd=reserved.get("cost_usd"),
                error="the worker stopped during the call; its reservation is counted as spent",
            )
            if done is not None:
                spent = {key: value for key, value in reserved.items() if key in SPENDING}
                write_entries(
                    store,
                    attempt.step.task_uuid,
                    attempt.step.step_uuid,
                    row["planning_attempt_uuid"],
                    "commit",
                    spent,
                    note="interrupted call",
                )
                row["status"] = "interrupted"


def seconds_since(started: float, now: float) -> Decimal:
    """Elapsed wall time in exact milliseconds, rounded up."""
    return (Decimal(str(now - started))).quantize(Decimal("0.001"), rounding=ROUND_CEILING)


def release_fill_reservation(
    store: Store, attempt: Attempt, attempt_uuid: uuid.UUID, steps: int
) -> None:
    """Give back the steps and phase an accepted answer reserved when its fill will not be
    written (it no longer passes the validator: the task changed since)."""
    with store.transaction():
        fence(store, attempt)
        write_entries(
            store,
            attempt.step.task_uuid,
            attempt.step.step_uuid,
            attempt_uuid,
            "release",
            {"steps": Decimal(steps), "phases": Decimal(1)},
            note="accepted fragment no longer valid",
        )


def close_summary(
    store: Store, attempt: Attempt, call: Call, answer: PlannerAnswer, wall: Decimal
) -> None:
    """Complete a summarization call with its text: what it used committed, the rest
    released (a summary is no fragment: nothing is accepted)."""
    step = attempt.step
    columns, spent = answered_use(call, answer, wall)
    with store.transaction():
        fence(store, attempt)
        store.fetch_one(
            "finish_planning_attempt",
            attempt_uuid=call.attempt_uuid,
            status="answered",
            answer=answer.text[:MAX_STORED_ANSWER],
            fragment=None,
            fragment_id=None,
            findings=Json([]),
            accepted=False,
            error=None,
            **columns,
        )
        settle(store, step.task_uuid, step.step_uuid, call.attempt_uuid, call.reserved, spent)
