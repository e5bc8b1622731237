"""Where mutations may sit in a composition.

Under ``checkpointed`` (Tasker Core's rule, checked by CHECKPOINT_REQUIRED) any number of
mutations is fine as long as each is a checkpoint. ``strict`` keeps the original single-mutation
boundary: one mutation, and nothing that can fail after it, so a failed step never leaves a
change behind. The category warnings hold under both.
"""

from __future__ import annotations

from tasker_ctl.grammar.validation.analysis import InvocationView
from tasker_ctl.grammar.validation.contract import MutationPolicy
from tasker_ctl.grammar.validation.findings import CompositionFinding, finding

# categories whose invocation can fail the step on data it meets at run time
_FALLIBLE = frozenset({"assert", "validate", "acquire", "gate"})


def mutation_findings(
    views: list[InvocationView], policy: MutationPolicy
) -> list[CompositionFinding]:
    findings: list[CompositionFinding] = []
    mutating = [view for view in views if view.mutating]
    strict = policy == "strict"
    if strict and mutating:
        first = mutating[0]
        for view in mutating[1:]:
            findings.append(
                finding(
                    "MULTIPLE_MUTATIONS",
                    f"{view.label} is a second mutation after {first.label}; the strict policy "
                    "allows one mutation per composition",
                    hint="move further mutations to steps of their own",
                    index=view.index,
                    path=view.path,
                )
            )
        for view in views[first.index + 1 :]:
            if _fallible(view):
                findings.append(
                    finding(
                        "INVOCATION_AFTER_MUTATION",
                        f"{view.label} can fail after the mutation in {first.label}, leaving the "
                        "change made but the step failed",
                        hint="move it before the mutation",
                        index=view.index,
                        path=view.path,
                    )
                )
    for view in views:
        if view.category == "emit":
            later = [w for w in views[view.index + 1 :] if w.category not in (None, "emit")]
            if later:
                findings.append(
                    finding(
                        "EMIT_NOT_LAST",
                        f"{view.label} announces the result before {later[0].label} has run",
                        hint="emit events last, once nothing can fail any more",
                        index=view.index,
                        path=view.path,
                    )
                )
    for view in views:
        if view.category != "assert" or (strict and mutating):
            continue
        before = [w for w in views[: view.index] if w.mutating]
        if before:
            findings.append(
                finding(
                    "ASSERT_AFTER_MUTATION",
                    f"{view.label} runs after the mutation in {before[0].label}: when it fails, "
                    "the change is already made",
                    hint="assert before persisting or emitting",
                    index=view.index,
                    path=view.path,
                )
            )
    return findings


def _fallible(view: InvocationView) -> bool:
    if view.category in _FALLIBLE:
        return True
    if view.category == "transform":
        config = view.raw.get("config")
        return isinstance(config, dict) and config.get("output") not in (None, {})
    return False
