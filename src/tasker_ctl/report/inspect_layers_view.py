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
    PlanningAttemptView,
    PlanningLayer,
)
from tasker_ctl.report.budget_view import reservation_text, usd
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
        if view.note:
            parts.append(_empty(f"{view.step} {view.note}"))
        for attempt in view.attempts:
            parts.append(_planning_attempt(attempt))
        if view.fragment_id:
            parts.append(Text(f"  accepted fragment: {view.fragment_id}", style="green"))
        if view.planned_steps:
            parts.append(Text(f"  planned steps: {', '.join(view.planned_steps)}"))
    if layer.empty:
        parts.append(_empty(layer.empty))
    elif not layer.full and any(view.attempts for view in layer.planning_steps):
        parts.append(_empty("prompts, capability texts and answers in full: add --full"))
    return Group(*parts)


_STATUS_STYLES = {"calling": "cyan", "answered": "", "failed": "red", "interrupted": "yellow"}


def _planning_attempt(attempt: PlanningAttemptView) -> Group:
    purpose = ", a summary for the prompt" if attempt.purpose == "summarize" else ""
    line = Text(f"  attempt {attempt.attempt} (phase {attempt.planning_phase}{purpose})  ")
    line.append(attempt.status, style=_STATUS_STYLES.get(attempt.status, ""))
    if attempt.status == "answered" and attempt.purpose == "plan":
        line.append("  ")
        line.append_text(
            Text("accepted", style="green") if attempt.accepted else Text("rejected", "red")
        )
    model = f"{attempt.provider + '/' if attempt.provider else ''}{attempt.model or '?'}"
    planner = f"planner {attempt.planner}, " if attempt.planner else ""
    line.append(f"  {planner}model {model}", style="dim")
    parts: list[RenderableType] = [line]
    parts.append(Text(f"    {_usage(attempt)}", style="dim"))
    prompt = [
        f"prompt {attempt.prompt_version}" if attempt.prompt_version else "prompt",
        f"hash {_short(attempt.prompt_hash)}",
        f"capabilities hash {_short(attempt.capability_schema_hash)}",
    ]
    if attempt.prices_version:
        prompt.append(f"prices {attempt.prices_version}")
    parts.append(Text(f"    {', '.join(prompt)}", style="dim"))
    for item in attempt.context_inputs:
        sizes = f"{item.bytes_before:,} -> {item.bytes_after:,} bytes"
        text = Text(f"    input {item.name}: {item.strategy}, {sizes}", style="dim")
        if item.note:
            text.append(f" ({item.note})", style="dim")
        parts.append(text)
    if attempt.status == "interrupted":
        parts.append(
            Text(
                "    the worker stopped during the call: its reservation "
                f"({_reserved(attempt)}) was counted as spent",
                style="yellow",
            )
        )
    elif attempt.status == "calling":
        parts.append(Text(f"    calling; reserved {_reserved(attempt)}", style="cyan"))
    if attempt.error:
        parts.append(Text(f"    error: {attempt.error}", style="red"))
    for finding in attempt.findings:
        where = " ".join(
            bit
            for bit in (
                f"stage {finding.stage}" if finding.stage is not None else "",
                f"step {finding.step}" if finding.step else "",
                f"at {finding.path}" if finding.path else "",
            )
            if bit
        )
        text = Text(f"    {finding.severity or 'error'}[{finding.code}]", style="yellow")
        text.append(f" {where}: " if where else " ", style="dim")
        text.append(finding.message)
        parts.append(text)
        if finding.hint:
            parts.append(Text(f"      hint: {finding.hint}", style="dim"))
    if attempt.prompt is not None:
        parts.append(Text(f"    prompt ({len(attempt.prompt):,} characters):", style="dim"))
        parts.append(_block(attempt.prompt))
    if attempt.capability_text is not None:
        parts.append(
            Text(f"    capability text ({len(attempt.capability_text):,} characters):", "dim")
        )
        parts.append(_block(attempt.capability_text))
    if attempt.answer is not None:
        parts.append(Text(f"    answer ({len(attempt.answer):,} characters):", style="dim"))
        parts.append(_block(attempt.answer))
    elif attempt.answer_excerpt is not None:
        parts.append(Text(f"    answer ({attempt.answer_chars or 0:,} characters):", "dim"))
        parts.append(_block(attempt.answer_excerpt))
    return Group(*parts)


def _usage(attempt: PlanningAttemptView) -> str:
    def count(value: int | None) -> str:
        return "?" if value is None else f"{value:,}"

    tokens = f"tokens {count(attempt.tokens_in)} in / {count(attempt.tokens_out)} out"
    cost = "cost ?" if attempt.cost_usd is None else f"cost {usd(attempt.cost_usd)}"
    if attempt.usage_estimated:
        tokens += " (estimated)"
        cost += " (estimated)"
    latency = format_duration(attempt.latency_ms) or "?"
    return f"{tokens}, latency {latency}, {cost}"


def _reserved(attempt: PlanningAttemptView) -> str:
    return reservation_text(attempt.reserved)


def _short(digest: str | None) -> str:
    return "-" if not digest else digest[:12]


def _block(text: str) -> Text:
    return Text("\n".join(f"      {line}" for line in text.splitlines() or [""]))


def fragment_view(layer: FragmentLayer) -> Group:
    parts: list[RenderableType] = [_title("fragments", layer.task, layer.task_uuid)]
    for fragment in layer.fragments:
        attempt = (
            f", attempt {fragment.accepted_attempt}"
            if fragment.accepted_attempt is not None
            else ""
        )
        parts.append(
            Text(
                f"\nfragment {fragment.fragment_id}  planned by {fragment.planning_step or '?'}"
                f" (phase {fragment.planning_phase}{attempt})",
                style="bold",
            )
        )
        if fragment.goal:
            parts.append(Text(f"  goal: {fragment.goal}"))
        if fragment.reasoning:
            parts.append(Text(f"  reasoning: {fragment.reasoning}", style="dim"))
        table = Table(show_edge=False, box=None, padding=(0, 2), pad_edge=False)
        for column in ("step", "state", "handler", "type", "depends on"):
            table.add_column(column, no_wrap=column != "depends on")
        for step in fragment.steps:
            handler = step.handler or "?"
            if step.composition_source and step.composition_source != handler:
                handler += f" ({step.composition_source})"
            table.add_row(
                step.name,
                Text(step.state, style=STATE_STYLES.get(step.state, "")),
                handler,
                step.handler_type,
                ", ".join(step.dependencies) or "-",
            )
        parts.append(table)
        for kind, label in (("entry", "enters"), ("exit", "leads into")):
            edges = [edge for edge in fragment.edges if edge.kind == kind]
            if edges:
                pairs = ", ".join(f"{edge.source} → {edge.target}" for edge in edges)
                parts.append(Text(f"  {label}: {pairs}", style="dim"))
        for step in fragment.steps:
            if not (step.planning_reasoning or step.inputs):
                continue
            why = Text(f"  {step.name}", style="bold")
            if step.planning_reasoning:
                why.append(f": {step.planning_reasoning}", style="dim")
            parts.append(why)
            for name, reference in step.inputs.items():
                parts.append(Text(f"    {name} ← {reference}"))
        if fragment.document is not None:
            parts.append(Text("  the fragment as proposed:", style="dim"))
            parts.append(json_block(fragment.document, limit=20_000))
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
            text.append(f"  {usd(node.cost_usd)}")
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
        f"{format_duration(totals.wall_seconds * 1000)}, {usd(totals.cost_usd)}"
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
