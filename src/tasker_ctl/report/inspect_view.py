"""``tasker-ctl inspect task`` in the terminal: the overview tree and one step in full.

The overview draws the task's DAG as a tree. A step with one parent hangs under it; a join
(several parents) hangs under the nearest step all its parents descend from, captioned with
what it waits on, so a batch's convergence sits beside its workers instead of under one of
them. Large batches are folded: workers that finished are counted, the others listed.
Steps created at run time look like the others plus a small origin mark (``⊕ route``).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from tasker_ctl.engine.views import InspectedStep, StepDetail, TaskInspection, Transition
from tasker_ctl.report.run_view import STATE_STYLES, TASK_STYLES, format_duration
from tasker_ctl.report.times import utc_stamp

__all__ = ["FOLD_ABOVE", "json_block", "moment", "overview", "step_detail"]

FOLD_ABOVE = 12  # sibling batch workers beyond this are folded into a count
SHOWN_WHEN_FOLDED = 8

_ORIGIN_WORDS = {
    "decision_point": "decision",
    "batch_spawn": "batch",
    "planning_step": "planned",
}
_TYPE_MARKS = {
    "decision": ("◆", "<>"),
    "batchable": ("⇉", "=>"),
    "batch_worker": ("▤", "[#]"),
    "deferred_convergence": ("⋈", "><"),
    "planning": ("✦", "*"),
}


def moment(value: datetime | None) -> str:
    return "-" if value is None else utc_stamp(value, precision="seconds")


def clock(value: datetime | None) -> str:
    """The time of day to the millisecond (UTC), for rows under a dated heading."""
    return "-" if value is None else value.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3]


def overview(task: TaskInspection, *, ascii_only: bool = False, fold: bool = True) -> Group:
    """Layer 1: the task's header, summary line, step tree and legend."""
    return Group(
        _header(task),
        Text(task.summary.line(), style="dim"),
        Text(""),
        _tree(task, ascii_only=ascii_only, fold=fold),
        _legend(ascii_only),
    )


def _header(task: TaskInspection) -> Text:
    text = Text(f"task {task.task_uuid}  ", style="bold")
    text.append(task.status, style=TASK_STYLES.get(task.status, "bold"))
    text.append(f"  {task.task}\n")
    took = format_duration(task.duration_ms) if task.duration_ms is not None else "running"
    text.append(f"  requested {moment(task.requested_at)}  took {took}", style="")
    text.append(f"\n  correlation {task.correlation_id}", style="dim")
    if task.parent_correlation_id:
        text.append(f"  parent {task.parent_correlation_id}", style="dim")
    if task.trace_id:
        text.append(f"\n  trace {task.trace_id}", style="dim")
    return text


def step_label(
    step: InspectedStep, *, ascii_only: bool = False, after: list[str] | None = None
) -> Text:
    """``name  ◆ decision  complete  12 ms  1/3 attempts  ⊕ origin``."""
    label = Text(step.name, style="bold")
    if step.step_type in _TYPE_MARKS:
        unicode_mark, ascii_mark = _TYPE_MARKS[step.step_type]
        label.append(f"  {ascii_mark if ascii_only else unicode_mark} {step.step_type}", "cyan")
    label.append("  ")
    label.append(step.state, style=STATE_STYLES.get(step.state, ""))
    if step.duration_ms is not None:
        label.append(f"  {format_duration(step.duration_ms)}")
    label.append(f"  {step.attempts}/{step.max_attempts}", style="dim")
    if step.provenance.handler_type == "grammar":
        label.append("  grammar", style="magenta")
    if step.provenance.at_run_time:
        origin = step.provenance.origin_step or step.provenance.planning_step
        word = _ORIGIN_WORDS.get(step.provenance.created_by, step.provenance.created_by)
        mark = "+" if ascii_only else "⊕"
        label.append(f"  {mark} {origin or word}", style="dim italic")
    if after:
        shown = ", ".join(after) if len(after) <= 2 else f"{len(after)} steps"
        label.append(f"  (after {shown})", style="dim")
    return label


def _tree(task: TaskInspection, *, ascii_only: bool, fold: bool) -> Tree:
    steps = {step.name: step for step in task.steps}
    order = {step.name: index for index, step in enumerate(task.steps)}
    home = _homes(task, order)
    children: dict[str | None, list[str]] = {}
    for step in task.steps:
        children.setdefault(home[step.name], []).append(step.name)
    root = Tree(Text(task.task, style="bold"), guide_style="dim")

    def add(branch: Tree, name: str) -> None:
        step = steps[name]
        after = sorted(step.parents, key=order.__getitem__) if len(step.parents) > 1 else None
        sub = branch.add(step_label(step, ascii_only=ascii_only, after=after))
        _add_children(sub, children.get(name, []))

    def _add_children(branch: Tree, names: list[str]) -> None:
        for group in _fold_groups(names, steps, children, fold):
            if isinstance(group, str):
                add(branch, group)
            else:
                template, hidden, alone = group
                branch.add(_folded(template, [steps[n] for n in hidden], ascii_only, alone))

    _add_children(root, children.get(None, []))
    return root


def _homes(task: TaskInspection, order: dict[str, int]) -> dict[str, str | None]:
    """Where each step hangs: its parent, or for a join the nearest common ancestor."""
    parents = {step.name: [p for p in step.parents if p in order] for step in task.steps}
    ancestors: dict[str, set[str]] = {}

    def lineage(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        if name not in ancestors:
            found: set[str] = set()
            for parent in parents.get(name, []):
                if parent not in seen:
                    found |= {parent} | lineage(parent, seen | {name})
            ancestors[name] = found
        return ancestors[name]

    home: dict[str, str | None] = {}
    for step in task.steps:
        own = parents[step.name]
        if len(own) <= 1:
            home[step.name] = own[0] if own else None
            continue
        common = set.intersection(*({p} | lineage(p) for p in own))
        # the nearest: the common ancestor with the most ancestors of its own
        home[step.name] = (
            max(common, key=lambda name: (len(lineage(name)), order[name])) if common else None
        )
    return home


def _fold_groups(
    names: list[str],
    steps: dict[str, InspectedStep],
    children: dict[str | None, list[str]],
    fold: bool,
) -> list[str | tuple[str, list[str], bool]]:
    """The children in order, each large set of batch workers of one template replaced by
    its interesting members (failed, running, with children of their own) and a count."""
    by_template = Counter(
        steps[n].template_step_name for n in names if steps[n].step_type == "batch_worker"
    )
    groups: list[str | tuple[str, list[str]]] = []
    folded: dict[str, list[str]] = {}
    for name in names:
        step = steps[name]
        template = step.template_step_name
        if not fold or step.step_type != "batch_worker" or by_template[template] <= FOLD_ABOVE:
            groups.append(name)
            continue
        if template not in folded:
            folded[template] = []
            groups.append((template, folded[template]))
        folded[template].append(name)
    result: list[str | tuple[str, list[str], bool]] = []
    for group in groups:
        if isinstance(group, str):
            result.append(group)
            continue
        template, members = group
        shown = [
            n
            for n in members
            if children.get(n) or steps[n].state not in ("complete", "resolved_manually")
        ][:SHOWN_WHEN_FOLDED]
        result.extend(shown)
        hidden = [n for n in members if n not in shown]
        if hidden:
            result.append((template, hidden, not shown))
    return result


def _folded(template: str, hidden: list[InspectedStep], ascii_only: bool, alone: bool) -> Text:
    states = Counter(step.state for step in hidden)
    counts = ", ".join(f"{count} {state}" for state, count in states.most_common())
    durations = [step.duration_ms for step in hidden if step.duration_ms is not None]
    more = "" if alone else " more"
    text = Text(f"{'...' if ascii_only else '…'} {len(hidden)}{more} {template} workers: {counts}")
    if durations:
        text.append(f"  ({format_duration(min(durations))} to {format_duration(max(durations))})")
    return Text(text.plain, style="dim")


def _legend(ascii_only: bool) -> Text:
    mark = "+" if ascii_only else "⊕"
    return Text(
        f"{mark} X: created at run time by X   n/m: attempts made of allowed   (after ...): a join",
        style="dim",
    )


def step_detail(detail: StepDetail) -> Group:
    """``--step NAME``: the step's identity, data, attempts and transitions."""
    step = detail.step
    parts: list[RenderableType] = [
        Text(f"step {step.name} of task {detail.task_uuid}", style="bold"),
        Text(f"  {detail.task}", style="dim"),
        step_label(step),
        _facts(detail),
        _section("inputs (handler initialization)", json_block(detail.inputs)),
        _section("dependency results", json_block(detail.dependency_results)),
    ]
    if step.error is not None:
        parts.append(_section("error", json_block(step.error)))
    else:
        parts.append(_section("result", json_block(step.result)))
    if detail.checkpoint is not None:
        parts.append(_section("checkpoint", json_block(detail.checkpoint)))
    parts.append(_section("attempts", _attempts_table(detail)))
    parts.append(_section("transitions", _transitions_table(detail.transitions)))
    return Group(*parts)


def _facts(detail: StepDetail) -> Table:
    step = detail.step
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column()
    prov = step.provenance
    rows: list[tuple[str, str]] = [
        ("uuid", str(step.uuid)),
        ("type", step.step_type),
        ("handler", f"{step.handler or '?'} ({prov.handler_type})"),
        (
            "created by",
            prov.created_by + (f" (step {prov.origin_step})" if prov.origin_step else ""),
        ),
        ("parents", ", ".join(step.parents) or "none"),
        ("retries", f"{step.max_attempts} attempts allowed" if detail.retryable else "none"),
        ("timeout", f"{detail.timeout_seconds} s" if detail.timeout_seconds else "none"),
        ("idempotency key", detail.idempotency_key),
        ("started / finished", f"{moment(step.started_at)} / {moment(step.finished_at)}"),
    ]
    if prov.planning_step or prov.fragment_id:
        rows.append(
            (
                "planned by",
                f"{prov.planning_step} phase {prov.planning_phase} fragment {prov.fragment_id}",
            )
        )
    if prov.composition_source:
        rows.append(("composition", prov.composition_source))
    if detail.lease_owner:
        rows.append(("lease", f"{detail.lease_owner} until {moment(detail.lease_expires_at)}"))
    if detail.claimable_at:
        rows.append(("claimable at", moment(detail.claimable_at)))
    for key, value in rows:
        table.add_row(key, value)
    return table


def _attempts_table(detail: StepDetail) -> RenderableType:
    if not detail.attempt_history:
        return Text("  none yet", style="dim")
    table = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 2))
    for column in ("#", "started (UTC)", "took", "outcome", "worker"):
        table.add_column(column, style="dim" if column == "#" else "")
    for attempt in detail.attempt_history:
        table.add_row(
            str(attempt.number),
            clock(attempt.started_at),
            format_duration(attempt.duration_ms) or "-",
            Text(attempt.outcome, style=STATE_STYLES.get(attempt.outcome, "")),
            attempt.worker or "-",
        )
    return table


def _transitions_table(transitions: list[Transition]) -> RenderableType:
    table = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 2))
    for column in ("at (UTC)", "from → to", "attempt", "by", "why"):
        table.add_column(column, no_wrap=column != "why")
    for item in transitions:
        table.add_row(
            clock(item.at),
            f"{item.from_state or '(new)'} → {item.to_state}",
            "" if item.attempt is None else str(item.attempt),
            item.by or "",
            item.reason or "",
        )
    return table


def _section(title: str, body: RenderableType) -> Group:
    return Group(Text(""), Text(title, style="bold underline"), body)


def json_block(value: Any, *, limit: int = 4000) -> Text:
    """Indented JSON, cut at ``limit`` characters (``--json`` has it all)."""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=True)
    if len(text) > limit:
        text = text[:limit] + f"\n… ({len(text) - limit} more characters; --json shows all)"
    return Text("\n".join("  " + line for line in text.splitlines()))


def print_renderable(renderable: RenderableType, console: Console) -> None:
    console.print(renderable, soft_wrap=False)
