"""The deeper layers of ``inspect task`` in the terminal: planning, fragments, compositions
and lineage. Each says plainly what does not exist yet rather than printing nothing."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from tasker_ctl.engine.views import (
    CompositionLayer,
    FragmentLayer,
    Lineage,
    LineageNode,
    PlanningAttemptRecord,
    PlanningLayer,
)
from tasker_ctl.report.inspect_view import json_block
from tasker_ctl.report.run_view import STATE_STYLES, TASK_STYLES, format_duration

__all__ = ["composition_view", "fragment_view", "lineage_view", "planning_view"]


def _title(kind: str, task: str, task_uuid: object) -> Text:
    return Text(f"{kind} of task {task_uuid}  {task}", style="bold")


def _empty(reason: str) -> Text:
    return Text(f"  {reason}", style="dim italic")


def planning_view(layer: PlanningLayer) -> Group:
    parts: list[RenderableType] = [_title("planning", layer.task, layer.task_uuid)]
    for view in layer.planning_steps:
        header = Text(f"\n{view.step}  ", style="bold")
        header.append(view.state, style=STATE_STYLES.get(view.state, ""))
        header.append(f"  converges at {view.convergence or '?'}", style="dim")
        parts.append(header)
        if view.goal:
            parts.append(Text(f"  goal: {view.goal}"))
        bounds = ", ".join(f"{k} {v}" for k, v in view.bounds.items())
        budget = ", ".join(f"{k} {v}" for k, v in view.budget.items())
        parts.append(
            Text(f"  bounds: {bounds or 'defaults'}\n  budget: {budget or 'defaults'}", style="dim")
        )
        for attempt in view.attempts:
            parts.append(_planning_attempt(attempt))
        if view.planned_steps:
            parts.append(Text(f"  planned steps: {', '.join(view.planned_steps)}"))
    if layer.empty:
        parts.append(_empty(layer.empty))
    return Group(*parts)


def _planning_attempt(attempt: PlanningAttemptRecord) -> Group:
    verdict = Text("accepted", style="green") if attempt.accepted else Text("rejected", "red")
    line = Text(f"  phase {attempt.planning_phase} attempt {attempt.attempt}: ")
    line.append_text(verdict)
    usage = [
        f"model {attempt.provider + '/' if attempt.provider else ''}{attempt.model or '?'}",
        f"tokens {attempt.tokens_in or 0} in / {attempt.tokens_out or 0} out",
        f"latency {format_duration(attempt.latency_ms) or '?'}",
        f"cost ${attempt.cost_usd or 0:.4f}",
    ]
    line.append("  " + ", ".join(usage), style="dim")
    parts: list[RenderableType] = [line]
    if attempt.error:
        parts.append(Text(f"    error: {attempt.error}", style="red"))
    for finding in attempt.findings:
        parts.append(
            Text(
                f"    {finding.get('severity', 'error')}[{finding.get('code', '?')}] "
                f"{finding.get('message', '')}",
                style="yellow",
            )
        )
    if attempt.prompt is not None:
        parts.append(
            Text(
                f"    prompt ({len(attempt.prompt)} characters, hash "
                f"{attempt.prompt_hash or '-'}):",
                style="dim",
            )
        )
        parts.append(json_block(attempt.prompt, limit=600))
    if attempt.capability_schema is not None:
        parts.append(
            Text(
                f"    capability schema (hash {attempt.capability_schema_hash or '-'}):",
                style="dim",
            )
        )
        parts.append(json_block(attempt.capability_schema, limit=600))
    if attempt.fragment is not None:
        parts.append(Text(f"    fragment {attempt.fragment_id or ''}:", style="dim"))
        parts.append(json_block(attempt.fragment, limit=1500))
    return Group(*parts)


def fragment_view(layer: FragmentLayer) -> Group:
    parts: list[RenderableType] = [_title("fragments", layer.task, layer.task_uuid)]
    for fragment in layer.fragments:
        parts.append(
            Text(
                f"\nfragment {fragment.fragment_id}  planned by {fragment.planning_step or '?'}"
                f" (phase {fragment.planning_phase})",
                style="bold",
            )
        )
        table = Table(show_edge=False, box=None, padding=(0, 2), pad_edge=False)
        for column in ("step", "state", "handler", "depends on", "configuration"):
            table.add_column(column)
        for step in fragment.steps:
            table.add_row(
                step.name,
                Text(step.state, style=STATE_STYLES.get(step.state, "")),
                f"{step.handler or '?'} ({step.handler_type})",
                ", ".join(step.dependencies) or "-",
                json_block(step.configuration, limit=300).plain.strip(),
            )
        parts.append(table)
        for step in fragment.steps:
            if step.planning_reasoning:
                parts.append(Text(f"  why {step.name}: {step.planning_reasoning}", style="dim"))
    if layer.empty:
        parts.append(_empty(layer.empty))
    return Group(*parts)


def composition_view(layer: CompositionLayer) -> Group:
    parts: list[RenderableType] = [_title("compositions", layer.task, layer.task_uuid)]
    for view in layer.steps:
        header = Text(f"\n{view.step}  ", style="bold")
        header.append(view.state, style=STATE_STYLES.get(view.state, ""))
        header.append(
            f"  {view.composition_source or 'dynamic'}  {view.attempts} attempts", style="dim"
        )
        parts.append(header)
        table = Table(show_edge=False, box=None, padding=(0, 2), pad_edge=False)
        for column in ("#", "capability", "checkpoint", "config"):
            table.add_column(column)
        for invocation in view.invocations:
            table.add_row(
                str(invocation.index),
                invocation.capability,
                "yes" if invocation.checkpoint else "",
                json_block(invocation.config, limit=200).plain.strip(),
            )
        parts.append(table)
        if view.checkpoint is not None:
            parts.append(Text("  stored checkpoint:", style="dim"))
            parts.append(json_block(view.checkpoint, limit=800))
        if view.error is not None:
            parts.append(Text("  error:", style="red"))
            parts.append(json_block(view.error, limit=800))
    if layer.empty:
        parts.append(_empty(layer.empty))
    return Group(*parts)


def lineage_view(lineage: Lineage) -> Group:
    label = (
        f"session {lineage.session_correlation_id}"
        if lineage.session_correlation_id
        else "delegation chain"
    )
    tree = Tree(Text(label, style="bold"), guide_style="dim")

    def add(branch: Tree, node: LineageNode) -> None:
        text = Text(
            f"{node.task_uuid}  ", style="bold" if node.task_uuid == lineage.task_uuid else ""
        )
        text.append(
            node.status, style=TASK_STYLES.get(node.status, STATE_STYLES.get(node.status, ""))
        )
        text.append(f"  {node.task}  {node.steps} steps")
        if node.dynamic_steps:
            text.append(f" ({node.dynamic_steps} at run time)")
        text.append(f"  {format_duration(node.duration_seconds * 1000)}")
        if node.cost_usd:
            text.append(f"  ${node.cost_usd:.2f}")
        if node.task_uuid == lineage.task_uuid:
            text.append("  ← this task", style="cyan")
        sub = branch.add(text)
        for child in node.children:
            add(sub, child)

    for root in lineage.roots:
        add(tree, root)
    totals = lineage.totals
    summary = Text(
        f"{totals.tasks} task{'s' if totals.tasks != 1 else ''}, depth {totals.max_depth}, "
        f"{totals.steps} steps ({totals.dynamic_steps} at run time), "
        f"{format_duration(totals.task_seconds * 1000)} of task time over "
        f"{format_duration(totals.wall_seconds * 1000)}, ${totals.cost_usd:.2f}"
        + (f", {totals.running} still running" if totals.running else ""),
        style="dim",
    )
    parts: list[RenderableType] = [tree, summary]
    if lineage.truncated:
        parts.append(Text("the chain is longer than shown (first tasks only)", style="yellow"))
    if len(lineage.roots) == 1 and not lineage.roots[0].children and totals.tasks == 1:
        parts.append(
            Text(
                "no other task shares this task's correlation: tasks created with "
                "--parent-correlation-id set to its correlation id appear here",
                style="dim italic",
            )
        )
    return Group(*parts)
