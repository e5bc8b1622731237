"""``tasker-ctl report provenance|budget`` in the terminal.

Budget lines read like the design's first-class metric, "47 of 100 steps, 3 of 5 planning
phases, $2.30 of $5.00", each with a bar; resources without a limit show their use alone.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from tasker_ctl.engine.views import BudgetLine, Lineage, TaskBudget, TaskInspection
from tasker_ctl.report.inspect_view import moment
from tasker_ctl.report.run_view import STATE_STYLES, TASK_STYLES

__all__ = ["budget_sentence", "budget_view", "lineage_budget_view", "provenance_view"]

_NAMES = {
    "steps": ("steps", "planned steps"),
    "phases": ("phases", "planning phases"),
    "llm_calls": ("LLM calls", "LLM calls"),
    "tokens": ("tokens", "tokens"),
    "cost_usd": ("cost", "cost"),
    "wall_seconds": ("planning time", "of planning time"),
}
BAR_WIDTH = 30


def _amount(resource: str, value: float) -> str:
    if resource == "cost_usd":
        return f"${value:,.2f}"
    if resource == "wall_seconds":
        return f"{value:,.0f} s"
    return f"{value:,.0f}"


def _line_text(line: BudgetLine) -> str:
    used = _amount(line.resource, line.used)
    words = _NAMES[line.resource][1]
    if line.resource == "cost_usd":
        words = ""
    if line.limit is None:
        return f"{used} {words}".strip() + " (no limit)"
    text = f"{used} of {_amount(line.resource, line.limit)} {words}".strip()
    if line.reserved:
        text += f", {_amount(line.resource, line.reserved)} reserved"
    return text


def budget_sentence(lines: list[BudgetLine]) -> str:
    """``47 of 100 planned steps, 3 of 5 planning phases, $2.30 of $5.00``: the limited
    resources (or everything used, when nothing is limited)."""
    shown = [line for line in lines if line.limit is not None] or [
        line for line in lines if line.used
    ]
    return ", ".join(_line_text(line) for line in shown) or "nothing spent, no limits"


def _lines_table(lines: list[BudgetLine]) -> Table:
    table = Table(show_edge=False, box=None, padding=(0, 2), pad_edge=False)
    table.add_column("resource")
    table.add_column("use", min_width=BAR_WIDTH)
    table.add_column("", justify="right")
    table.add_column("")
    for line in lines:
        if line.limit:
            fraction = min(1.0, (line.used + line.reserved) / line.limit)
            style = "red" if fraction >= 1 else "yellow" if fraction >= 0.8 else "green"
            bar: RenderableType = ProgressBar(
                total=line.limit,
                completed=min(line.limit, line.used),
                width=BAR_WIDTH,
                complete_style=style,
                finished_style="red",
            )
            percent = f"{100 * (line.fraction or 0):.0f} %"
        else:
            bar, percent = Text("no limit", style="dim"), ""
        table.add_row(_NAMES[line.resource][0], bar, percent, _line_text(line))
    return table


def budget_view(budget: TaskBudget) -> Group:
    header = Text(f"budget of task {budget.task_uuid}  ", style="bold")
    header.append(budget.status, style=TASK_STYLES.get(budget.status, "bold"))
    header.append(f"  {budget.task}")
    origins = ", ".join(f"{count} {origin}" for origin, count in budget.steps_by_origin.items())
    parts: list[RenderableType] = [header, Text(budget_sentence(budget.lines))]
    if budget.limited or any(line.used or line.reserved for line in budget.lines):
        parts += [Text(""), _lines_table(budget.lines)]
    parts += [
        Text(
            f"\nsteps of the task: {sum(budget.steps_by_origin.values())} ({origins or 'none'});"
            f" elapsed {budget.elapsed_seconds or 0:,.1f} s",
            style="dim",
        ),
    ]
    if not budget.limited:
        parts.append(
            Text(
                "this task has no budget limits: its template has no planning steps",
                style="dim italic",
            )
        )
    if budget.entries:
        ledger = Table(
            title="ledger", show_edge=False, box=None, padding=(0, 2), title_justify="left"
        )
        for column in ("at", "resource", "kind", "amount", "step", "note"):
            ledger.add_column(column)
        for entry in budget.entries:
            ledger.add_row(
                moment(entry.created_at),
                entry.resource,
                entry.kind,
                _amount(entry.resource, entry.amount),
                entry.step or "",
                entry.note or "",
            )
        parts += [Text(""), ledger]
    else:
        parts.append(Text("the ledger has no entries", style="dim italic"))
    return Group(*parts)


def lineage_budget_view(lineage: Lineage) -> Group:
    totals = lineage.totals
    return Group(
        Text(
            f"budget of the chain of task {lineage.task_uuid}: {totals.tasks} tasks, "
            f"{totals.steps} steps",
            style="bold",
        ),
        Text(budget_sentence(lineage.budget)),
        Text(""),
        _lines_table(lineage.budget),
        Text(
            "each task keeps its own budget; the chain's figures are their sums",
            style="dim italic",
        ),
    )


def provenance_view(task: TaskInspection) -> Group:
    header = Text(f"provenance of task {task.task_uuid}  ", style="bold")
    header.append(task.status, style=TASK_STYLES.get(task.status, "bold"))
    header.append(f"  {task.task}")
    planned = any(step.provenance.planning_step_uuid for step in task.steps)
    table = Table(show_edge=False, box=None, padding=(0, 2), pad_edge=False)
    columns = ["step", "state", "created by", "origin", "handler"]
    columns += ["phase", "fragment"] if planned else []
    for column in columns:
        table.add_column(column, no_wrap=column in ("step", "state", "created by"))
    for step in task.steps:
        prov = step.provenance
        handler = prov.handler_type
        if prov.composition_source:
            handler += f": {prov.composition_source}"
        cells: list[RenderableType] = [
            step.name,
            Text(step.state, style=STATE_STYLES.get(step.state, "")),
            prov.created_by,
            prov.origin_step or prov.planning_step or "",
            handler,
        ]
        if planned:
            cells += [
                "" if prov.planning_phase is None else str(prov.planning_phase),
                prov.fragment_id or "",
            ]
        table.add_row(*cells)
    reasons = [
        Text(f"  why {step.name}: {step.provenance.planning_reasoning}", style="dim")
        for step in task.steps
        if step.provenance.planning_reasoning
    ]
    return Group(header, Text(task.summary.line(), style="dim"), Text(""), table, *reasons)
