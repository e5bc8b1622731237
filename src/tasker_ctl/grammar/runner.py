"""Running a composition: its invocations in order, each over the envelope, as one step.

The runner knows nothing of the database: the engine hands it the step's inputs, an
``Operations`` implementation and a checkpoint callback, and stores what it reports. A
checkpoint is reported the moment its invocation finishes (not only on success), so a retried
step resumes after the last one and no checkpointed mutation runs twice; a mutation that was
not yet checkpointed runs again with the same idempotency key.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from tasker_ctl.grammar.capabilities import get_capability
from tasker_ctl.grammar.capabilities.base import (
    Evaluate,
    IdempotencyKey,
    InvocationContext,
    Operations,
)
from tasker_ctl.grammar.errors import FailureKind, GatePending, InvocationError

MAX_INVOCATIONS = 100
DEFAULT_DEADLINE_SECONDS = 30.0
CHECKPOINT_FORMAT = 1

Status = Literal["ran", "resumed"]


@dataclass(frozen=True)
class InvocationRecord:
    """One invocation as it went: run now, or taken from the checkpoint of an earlier attempt."""

    index: int
    capability: str
    status: Status
    output: Any
    duration_ms: int


@dataclass
class CompositionRun:
    """What running a composition produced."""

    output: Any = None
    records: list[InvocationRecord] = field(default_factory=list)
    error: InvocationError | GatePending | None = None
    failed_index: int | None = None
    failed_capability: str | None = None
    resumed_from: int | None = None  # index of the last checkpointed invocation reused
    gate_checkpoint: dict[str, Any] | None = None  # stopped at a gate: the state to keep

    @property
    def waiting(self) -> bool:
        return isinstance(self.error, GatePending)


def idempotency_key(seed: str, index: int) -> str:
    """The same (task, step, invocation) always gives the same key, across retries."""
    return hashlib.sha256(f"{seed}:{index}".encode()).hexdigest()[:32]


def run_composition(
    spec: Mapping[str, Any],
    *,
    context: Any,
    deps: Mapping[str, Any],
    step: Mapping[str, Any],
    operations: Operations,
    resume: Mapping[str, Any] | None = None,
    on_checkpoint: Callable[[dict[str, Any]], None] | None = None,
    key_seed: str = "",
    evaluate: Evaluate | None = None,
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
) -> CompositionRun:
    """Run ``spec`` (a written-out composition) and report every invocation.

    ``resume`` is a checkpoint this function reported earlier (``on_checkpoint``): invocations
    up to its ``completed_index`` are not run again. Never raises for a failing invocation:
    the failure is in the returned run.
    """
    if evaluate is None:
        from tasker_ctl.grammar.expressions import evaluate as sandboxed

        evaluate = sandboxed
    invocations = list(spec.get("invocations") or [])
    run = CompositionRun()
    if len(invocations) > MAX_INVOCATIONS:
        run.error = InvocationError(
            FailureKind.CONFIG_VALIDATION,
            f"composition has {len(invocations)} invocations (max {MAX_INVOCATIONS})",
        )
        return run
    state = _State.restore(resume, len(invocations))
    for index in range(state.completed_index + 1):
        run.records.append(
            InvocationRecord(
                index,
                str(invocations[index].get("capability")),
                "resumed",
                state.outputs.get(index),
                0,
            )
        )
    if state.completed_index >= 0:
        run.resumed_from = state.completed_index
    started = time.monotonic()
    prev = state.prev
    for index in range(state.completed_index + 1, len(invocations)):
        invocation = invocations[index]
        name = str(invocation.get("capability"))
        elapsed = time.monotonic() - started
        if elapsed > deadline_seconds:
            return _failed(
                run,
                index,
                name,
                InvocationError(
                    FailureKind.TIMEOUT,
                    f"composition ran {elapsed:.1f} s, over its limit of {deadline_seconds:g} s",
                ),
            )
        envelope = {
            "context": context,
            "deps": dict(deps),
            "prev": prev,
            "step": {**step, "invocations": {str(i): out for i, out in state.outputs.items()}},
        }
        began = time.perf_counter()
        try:
            output = _invoke(
                name,
                invocation.get("config"),
                index,
                envelope,
                operations,
                evaluate,
                IdempotencyKey(idempotency_key(key_seed, index)),
            )
        except GatePending as pending:
            # the state at the gate, for the caller to park the step with: the approver sees
            # how far the composition got, and the decision resumes it there
            run.gate_checkpoint = state.record(index - 1, prev, pending=_pending(index, pending))
            return _failed(run, index, name, pending)
        except InvocationError as error:
            return _failed(run, index, name, error)
        duration = int((time.perf_counter() - began) * 1000)
        run.records.append(InvocationRecord(index, name, "ran", output, duration))
        state.outputs[index] = output
        prev = output
        if invocation.get("checkpoint") is True or name == "gate":
            state.completed_index = index
            if on_checkpoint is not None:
                on_checkpoint(state.record(index, prev, capability=name))
    run.output = prev
    return run


def _invoke(
    name: str,
    config: Any,
    index: int,
    envelope: dict[str, Any],
    operations: Operations,
    evaluate: Evaluate,
    key: IdempotencyKey,
) -> Any:
    capability = get_capability(name)
    if capability is None:
        raise InvocationError(
            FailureKind.CONFIG_VALIDATION, f"invocation[{index}]: unknown capability '{name}'"
        )
    try:
        parsed = capability.parse(config)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'config'}: {item['msg']}"
            for item in error.errors()[:5]
        )
        raise InvocationError(
            FailureKind.CONFIG_VALIDATION, f"invocation[{index}] ({name}): {problems}"
        ) from None
    context = InvocationContext(
        index=index,
        envelope=envelope,
        operations=operations,
        evaluate=evaluate,
        idempotency_key=key,
    )
    return capability.execute(parsed, context)


def _failed(
    run: CompositionRun, index: int, name: str, error: InvocationError | GatePending
) -> CompositionRun:
    run.error, run.failed_index, run.failed_capability = error, index, name
    return run


def _pending(index: int, pending: GatePending) -> dict[str, Any]:
    waiting = {"index": index, "prompt": pending.prompt, "approvers": pending.approvers}
    summary = getattr(pending, "summary", None)
    if summary is not None:
        waiting["summary"] = summary
    return waiting


@dataclass
class _State:
    """Progress carried across attempts in the step's checkpoint."""

    completed_index: int = -1
    prev: Any = None
    outputs: dict[int, Any] = field(default_factory=dict)
    gates: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def restore(cls, checkpoint: Mapping[str, Any] | None, count: int) -> _State:
        stored = (checkpoint or {}).get("composition")
        if not isinstance(stored, Mapping) or stored.get("format") != CHECKPOINT_FORMAT:
            return cls()
        completed = stored.get("completed_index")
        if not isinstance(completed, int) or not -1 <= completed < count:
            return cls()  # written for a different composition: start over
        raw_outputs, raw_gates = stored.get("outputs"), stored.get("gates")
        outputs: Mapping[str, Any] = raw_outputs if isinstance(raw_outputs, Mapping) else {}
        gates: Mapping[str, Any] = raw_gates if isinstance(raw_gates, Mapping) else {}
        return cls(
            completed_index=completed,
            prev=stored.get("prev"),
            outputs={
                int(key): value
                for key, value in outputs.items()
                if str(key).isdigit() and int(key) <= completed
            },
            gates=dict(gates),
        )

    def record(
        self,
        completed_index: int,
        prev: Any,
        *,
        capability: str | None = None,
        pending: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        composition: dict[str, Any] = {
            "format": CHECKPOINT_FORMAT,
            "completed_index": completed_index,
            "capability": capability,
            "prev": prev,
            "outputs": {str(i): out for i, out in self.outputs.items() if i <= completed_index},
            "gates": self.gates,
        }
        if pending is not None:
            composition["pending_gate"] = pending
        return {"cursor": completed_index, "composition": composition}
