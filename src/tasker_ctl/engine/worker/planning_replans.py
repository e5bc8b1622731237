"""A replan that waits for an approver (``planning.replan_gate``): before a fresh round the
planning step parks at a gate, as a grammar step does, with where its rounds stood in its
checkpoint; ``tasker-ctl task approve|reject`` decides, and the next attempt goes on from
that round (approved) or fails for good (rejected, ``PLANNING_REPLAN_REJECTED``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from tasker_ctl.engine.errors import AwaitingReplan, PlanningFailure
from tasker_ctl.engine.worker.attempt import Attempt
from tasker_ctl.engine.worker.composition_step import GateWait
from tasker_ctl.template.model import PlanningBlock


@dataclass(frozen=True)
class Progress:
    """Where a planning step's rounds stood when it parked for a replan's approval (kept in
    its checkpoint under ``planning``): the model, the round and the last round's findings."""

    model: int = 0
    round: int = 0
    findings: tuple[dict[str, Any], ...] = ()
    gates: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, checkpoint: Any) -> Progress:
        stored: Mapping[str, Any] = checkpoint if isinstance(checkpoint, Mapping) else {}
        planning = stored.get("planning")
        planning = planning if isinstance(planning, Mapping) else {}
        composition = stored.get("composition")
        gates = composition.get("gates") if isinstance(composition, Mapping) else None
        findings = planning.get("findings")
        kept = findings if isinstance(findings, list) else []
        return cls(
            model=int(planning.get("model") or 0),
            round=int(planning.get("round") or 0),
            findings=tuple(dict(f) for f in kept if isinstance(f, Mapping)),
            gates=gates if isinstance(gates, Mapping) else {},
        )

    def failure(self) -> PlanningFailure | None:
        """The last round's failure, as the next round is told it."""
        if not self.findings:
            return None
        findings = [SimpleNamespace(**{k: f.get(k) for k in _FINDING_KEYS}) for f in self.findings]
        return PlanningFailure("PLANNING_NO_VALID_FRAGMENT", "", findings=findings)


_FINDING_KEYS = ("code", "severity", "stage", "step", "path", "message", "hint")


def await_replan(
    attempt: Attempt, block: PlanningBlock, model: int, round_number: int, last: Any
) -> None:
    """Go on when an approver approved this replan; fail the step for good when one rejected
    it; else park the step until one decides (``AwaitingReplan``)."""
    from tasker_ctl.engine.worker.planning_answers import summary

    progress = Progress.of(attempt.step.checkpoint)
    index = model * 10 + round_number  # one gate per model and round
    decision = progress.gates.get(str(index))
    if isinstance(decision, Mapping):
        if decision.get("decision") == "approved":
            return
        raise PlanningFailure(
            "PLANNING_REPLAN_REJECTED",
            f"{decision.get('by')} rejected replan {round_number} of planning step "
            f"'{attempt.definition.name}': {decision.get('reason')}",
            findings=list(getattr(last, "findings", []) or []),
        )
    findings = list(getattr(last, "findings", []) or [])
    prompt = (
        f"Plan '{attempt.definition.name}' again (replan {round_number} of "
        f"{block.max_replans})? The last round found no valid fragment: {summary(findings)}"
    )
    checkpoint = {
        "composition": {
            "gates": dict(progress.gates),
            "pending_gate": {"index": index, "prompt": prompt, "approvers": block.replan_approvers},
        },
        "planning": {
            "model": model,
            "round": round_number,
            "findings": _kept_findings(findings, progress),
        },
    }
    raise AwaitingReplan(GateWait(checkpoint=checkpoint, metadata={"prompt": prompt}))


def _kept_findings(findings: list[Any], progress: Progress) -> list[dict[str, Any]]:
    """The last round's findings as the checkpoint keeps them (already kept ones as they are)."""
    from tasker_ctl.engine.worker.planning_answers import findings_json

    if findings and hasattr(findings[0], "model_dump"):
        return findings_json(findings)
    return list(progress.findings)
