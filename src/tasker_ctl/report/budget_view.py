"""``tasker-ctl report provenance|budget`` in the terminal.

The budget reads like the design's first-class metric, ``7/10 steps, 2/3 calls,
$0.04/$1.00`` (then tokens, phases and planning time), each line with a bar; resources
without a limit show their use alone. Amounts are exact decimals: a cost is shown with as
many digits as it needs ($0.0004, not $0.00).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from tasker_ctl.engine.views import BudgetLine, Lineage, TaskBudget, TaskInspection
from tasker_ctl.report.inspect_view import moment
from tasker_ctl.report.run_view import STATE_STYLES, TASK_STYLES

__all__ = [
    "amount_text",
    "budget_sentence",
    "budget_view",
    "chain_sentence",
    "lineage_budget_view",
    "planning_step_lines",
    "provenance_view",
    "reservation_text",
    "usd",
]

_NAMES = {
    "steps": ("steps", "steps"),
    "phases": ("phases", "phases"),
    "llm_calls": ("LLM calls", "calls"),
    "tokens": ("tokens", "tokens"),
    "cost_usd": ("cost", ""),
    "wall_seconds": ("planning time", "planning time"),
}
# the sentence's order: what a reader asks first (steps, calls, money), then the rest
SENTENCE_ORDER = ("steps", "llm_calls", "cost_usd", "tokens", "phases", "wall_seconds")
BAR_WIDTH = 30
# a cost is shown to the cent at least, and to as many places as it needs up to this many
MAX_USD_PLACES = 6


def usd(value: Decimal | float) -> str:
    """``$0.04``, ``$1.00``, ``$0.0004``, ``$0.000384``, ``$1,234.50``: cents at least, and
    the digits a small amount needs (rounded beyond six places)."""
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    exponent = amount.normalize().as_tuple().exponent
    places = 2 if not isinstance(exponent, int) else min(MAX_USD_PLACES, max(2, -exponent))
    shown = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return f"${shown:,.{places}f}"


def _seconds(value: Decimal) -> str:
    """``300 s``, ``12.5 s``, ``60.97 s``, ``0.03 s``: to the hundredth, so a little time
    spent does not read as none."""
    if value == value.to_integral_value():
        return f"{value:,.0f} s"
    return f"{value:,.2f}".rstrip("0").rstrip(".") + " s"


def amount_text(resource: str, value: Decimal) -> str:
    """One amount of ``resource``: dollars, seconds or a count."""
    if resource == "cost_usd":
        return usd(value)
    if resource == "wall_seconds":
        return _seconds(value)
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,}"


def reservation_text(reserved: dict[str, Decimal]) -> str:
    """``1 call, 6,000 tokens, $0.0036, 120 s``: what an attempt reserved."""
    parts = []
    for resource, amount in reserved.items():
        text = amount_text(resource, amount)
        words = _NAMES.get(resource, (resource, resource))[1]
        if resource in ("steps", "phases", "llm_calls", "tokens"):
            text += f" {words[:-1] if amount == 1 else words}"
        elif resource not in ("cost_usd", "wall_seconds"):
            text += f" {resource}"
        parts.append(text)
    return ", ".join(parts) or "nothing"


def _line_text(line: BudgetLine) -> str:
    """``7/10 steps``, ``$0.04/$1.00``, ``3 steps (no limit)``, with open reservations."""
    used = amount_text(line.resource, line.used)
    words = _NAMES[line.resource][1]
    if line.limit is None:
        text = f"{used} {words}".strip() + " (no limit)"
    else:
        used = used.removesuffix(" s")  # 12/300 s: the unit once
        text = f"{used}/{amount_text(line.resource, line.limit)} {words}".strip()
    if line.reserved:
        text += f" (+{amount_text(line.resource, line.reserved)} reserved)"
    return text


def budget_sentence(lines: list[BudgetLine]) -> str:
    """``7/10 steps, 2/3 calls, $0.04/$1.00, 5,200/50,000 tokens, 1/2 phases, 12 s/300 s
    planning time``: the limited resources (or everything used, when nothing is limited)."""
    ordered = sorted(lines, key=lambda line: SENTENCE_ORDER.index(line.resource))
    shown = [line for line in ordered if line.limit is not None] or [
        line for line in ordered if line.used or line.reserved
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
            fraction = min(1.0, float((line.used + line.reserved) / line.limit))
            style = "red" if fraction >= 1 else "yellow" if fraction >= 0.8 else "green"
            bar: RenderableType = ProgressBar(
                total=float(line.limit),
                completed=float(min(line.limit, line.used)),
                width=BAR_WIDTH,
                complete_style=style,
                finished_style="red",
            )
            percent = f"{100 * (line.fraction or 0):.0f} %"
        else:
            bar, percent = Text("no limit", style="dim"), ""
        table.add_row(_NAMES[line.resource][0], bar, percent, _line_text(line))
    return table


def planning_step_lines(budget: TaskBudget) -> list[str]:
    """Under the task's line, one per planning step: its use against its own bounds, with
    its attempts and fills (``plan: 7/10 steps, 2/3 calls, ... (2 attempts, 1 fill)``)."""
    found = []
    for step in budget.planning_steps:
        attempts = f"{step.attempts} attempt{'' if step.attempts == 1 else 's'}"
        fills = f"{step.fills} fill{'' if step.fills == 1 else 's'}"
        bounded = any(line.limit is not None for line in step.lines)
        sentence = budget_sentence(step.lines)
        if not bounded:
            sentence += " (no bounds of its own)"
        found.append(f"{step.step}: {sentence} ({attempts}, {fills}; {step.state})")
    return found


def budget_view(budget: TaskBudget) -> Group:
    header = Text(f"budget of task {budget.task_uuid}  ", style="bold")
    header.append(budget.status, style=TASK_STYLES.get(budget.status, "bold"))
    header.append(f"  {budget.task}")
    origins = ", ".join(f"{count} {origin}" for origin, count in budget.steps_by_origin.items())
    parts: list[RenderableType] = [header, Text("task: " + budget_sentence(budget.lines))]
    parts += [Text(f"  {line}") for line in planning_step_lines(budget)]
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
                "this task has no budget limits: its template has no planning steps and no "
                "budget block",
                style="dim italic",
            )
        )
    for flight in budget.in_flight:
        reserved = reservation_text(flight.reserved)
        parts.append(
            Text(
                f"in flight: {flight.step} attempt {flight.attempt} "
                f"({flight.model or 'model ?'}) since {moment(flight.since)} reserved {reserved}",
                style="yellow",
            )
        )
    if budget.entries:
        ledger = Table(
            title="ledger", show_edge=False, box=None, padding=(0, 2), title_justify="left"
        )
        for column in ("at", "resource", "kind", "amount", "step", "note"):
            ledger.add_column(column)
        for entry in budget.entries:
            step = entry.step or ""
            if entry.planning_attempt is not None:
                step += f" #{entry.planning_attempt}"
            ledger.add_row(
                moment(entry.created_at),
                entry.resource,
                entry.kind,
                amount_text(entry.resource, entry.amount),
                step,
                entry.note or "",
            )
        parts += [Text(""), ledger]
    else:
        parts.append(Text("the ledger has no entries", style="dim italic"))
    return Group(*parts)


def chain_sentence(lineage: Lineage) -> str:
    """``3 tasks across 2 levels, $12.40 of $50.00``: the chain's size and what its tasks
    spent together, against the root's chain limit (``$12.40, no limit`` without one)."""
    chain = lineage.chain
    cost = next(line for line in chain.lines if line.resource == "cost_usd")
    spent = usd(cost.used)
    spent += f" of {usd(cost.limit)}" if cost.limit is not None else ", no limit"
    tasks = f"{chain.tasks} task{'s' if chain.tasks != 1 else ''}"
    levels = f"{chain.levels} level{'s' if chain.levels != 1 else ''}"
    return f"{tasks} across {levels}, {spent}"


def _chain_limits_text(lineage: Lineage) -> str:
    """The root's chain limits in words: ``max depth 2, max tasks 10, $5.00, 1 call``."""
    limits = lineage.chain.limits
    if not limits:
        return (
            "the chain has no limits (its root was created without --chain-max-* or a chain block)"
        )
    words = {
        "max_depth": "max depth",
        "max_tasks": "max tasks",
        "max_cost_usd": "max cost",
        "max_tokens": "max tokens",
        "max_llm_calls": "max LLM calls",
    }
    shown = [
        f"{words.get(name, name)} "
        + (usd(value) if name == "max_cost_usd" else amount_text("steps", value))
        for name, value in limits.items()
    ]
    return f"chain limits of root task {lineage.chain.root_task_uuid}: " + ", ".join(shown)


def _chain_tasks_table(lineage: Lineage) -> Table:
    table = Table(show_edge=False, box=None, padding=(0, 2), pad_edge=False)
    for column in ("task", "depth", "status", "steps", "cost"):
        table.add_column(
            column, justify="right" if column in ("depth", "steps", "cost") else "left"
        )
    pending = [(node, 0) for node in reversed(lineage.roots)]
    while pending:
        node, indent = pending.pop()
        table.add_row(
            f"{'  ' * indent}{str(node.task_uuid)[:8]} {node.task}",
            str(node.depth),
            Text(node.status, style=TASK_STYLES.get(node.status, "")),
            str(node.steps),
            usd(node.cost_usd),
        )
        pending.extend((child, indent + 1) for child in reversed(node.children))
    return table


def lineage_budget_view(lineage: Lineage) -> Group:
    chain_lines = [line for line in lineage.chain.lines if line.limit is not None]
    parts: list[RenderableType] = [
        Text(f"budget of the chain of task {lineage.task_uuid}", style="bold"),
        Text(chain_sentence(lineage)),
        Text(_chain_limits_text(lineage), style="dim"),
    ]
    if chain_lines:
        parts += [Text(""), _lines_table(chain_lines)]
    parts += [
        Text(""),
        _chain_tasks_table(lineage),
        Text(""),
        Text("the tasks' own budgets, added up: " + budget_sentence(lineage.budget)),
        _lines_table(lineage.budget),
    ]
    if lineage.truncated:
        parts.append(Text("the chain has more tasks than are shown", style="yellow"))
    return Group(*parts)


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
