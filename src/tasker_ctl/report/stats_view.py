"""``tasker-ctl stats`` in the terminal: one panel per family of figures, then the alerts.

Everything fits 100 columns: panels are at most that wide, the handler table shows the
busiest handlers only (``--json`` has them all), and shares are drawn as short bars. A
window without tasks says so and how to widen it, rather than printing a wall of zeros.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tasker_ctl.report.budget_view import usd
from tasker_ctl.report.times import utc_stamp

if TYPE_CHECKING:
    from tasker_ctl.engine.stats import (
        Alert,
        BudgetStats,
        DlqCounts,
        DomainEventStats,
        HandlerStats,
        PlanningStats,
        StatsReport,
        StatsWindow,
        StepStats,
        TaskStats,
    )

__all__ = ["MAX_WIDTH", "make_stats_console", "render_stats"]

MAX_WIDTH = 100
HANDLERS_SHOWN = 15
BAR_WIDTH = 20
# what the handler table leaves its first column inside a panel of MAX_WIDTH
HANDLER_WIDTH = 34
_SEVERITY_STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_OUTCOME_STYLES = {
    "complete": "green",
    "failed": "red",
    "cancelled": "magenta",
    "resolved manually": "magenta",
    "running": "cyan",
}


def make_stats_console() -> Console:
    """A console for the report: outside a terminal (a pipe, a cron mail) it is
    ``MAX_WIDTH`` wide unless ``COLUMNS`` says otherwise, rather than rich's 80."""
    console = Console(highlight=False)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console.width = MAX_WIDTH
    return console


def render_stats(report: StatsReport, console: Console) -> None:
    width = min(console.width, MAX_WIDTH)
    console.print(_header(report.window))
    if report.tasks.total == 0:
        where = f" in namespace {report.window.namespace}" if report.window.namespace else ""
        console.print(Text(f"no tasks in this window{where}", style="bold"))
        console.print(Text("widen it with --since 7d, or --since all for every task", style="dim"))
    else:
        for title, body in (
            ("Tasks", _tasks(report.tasks)),
            ("Steps", _steps(report.steps)),
            ("Handlers", _handlers(report.handlers, width)),
            ("Budgets", _budgets(report.budgets)),
            ("Planning", _planning(report.planning)),
            ("Domain events", _domain_events(report.domain_events)),
        ):
            console.print(_panel(title, body, width))
    console.print(_panel("Dead-letter queue", _dlq(report.dlq), width))
    console.print(_panel(f"Alerts ({len(report.alerts)})", _alerts(report.alerts), width))


def _panel(title: str, body: RenderableType, width: int) -> Panel:
    return Panel(body, title=title, title_align="left", box=box.ROUNDED, width=width)


def _header(window: StatsWindow) -> Text:
    text = Text("tasker-ctl stats", style="bold")
    since = "every task" if window.since is None else f"since {_when(window)}"
    text.append(f" · {since} · ")
    text.append(f"namespace {window.namespace}" if window.namespace else "all namespaces")
    text.append(f" · at {utc_stamp(window.generated_at, precision='seconds')}", style="dim")
    return text


def _when(window: StatsWindow) -> str:
    assert window.since is not None
    return utc_stamp(window.since, precision="seconds")


def bar(fraction: float | None, width: int = BAR_WIDTH) -> str:
    """A share drawn as ``width`` cells: full blocks, then light shade."""
    if fraction is None:
        return " " * width
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def percent(fraction: float | None) -> str:
    return "–" if fraction is None else f"{fraction * 100:.1f} %"


def duration(ms: float | None) -> str:
    if ms is None:
        return "–"
    if ms < 1000:
        return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _tasks(tasks: TaskStats) -> RenderableType:
    summary = Text(f"{tasks.total:,} task{'' if tasks.total == 1 else 's'}; ")
    summary.append(f"completion {percent(tasks.completion_rate)}", style="bold")
    summary.append(f" of the {tasks.total - tasks.running:,} settled")
    table = Table.grid(padding=(0, 2))
    for justify in ("left", "right", "left", "right", "left"):
        table.add_column(justify=justify)
    rows = (
        ("complete", tasks.complete, ""),
        ("failed", tasks.failed, f"{tasks.blocked} blocked by failures" if tasks.blocked else ""),
        ("cancelled", tasks.cancelled, ""),
        ("resolved manually", tasks.resolved_manually, ""),
        ("running", tasks.running, ""),
    )
    for label, count, note in rows:
        share = count / tasks.total if tasks.total else None
        table.add_row(
            Text(label, style=_OUTCOME_STYLES[label]),
            f"{count:,}",
            Text(bar(share), style=_OUTCOME_STYLES[label]),
            percent(share),
            note,
        )
    states = ", ".join(f"{count} {state}" for state, count in tasks.by_state.items())
    return Group(summary, table, Text(f"by state: {states}", style="dim"))


def _steps(steps: StepStats) -> RenderableType:
    per = steps.per_task
    head = Text(f"{steps.total:,} steps; per task mean {_number(per.mean)}, ")
    head.append(f"median {_number(per.median)}, max {_number(per.max)}")
    table = Table.grid(padding=(0, 2))
    for justify in ("left", "right", "left", "right", "left"):
        table.add_column(justify=justify)
    for label, count, spread in (
        ("static (template)", steps.static, steps.static_per_task),
        ("dynamic (run time)", steps.dynamic, steps.dynamic_per_task),
    ):
        share = count / steps.total if steps.total else None
        table.add_row(
            label,
            f"{count:,}",
            bar(share),
            percent(share),
            f"per task: mean {_number(spread.mean)}, median {_number(spread.median)}, "
            f"max {_number(spread.max)}",
        )
    origins = " · ".join(
        f"{origin} {count:,}" for origin, count in steps.by_origin.items() if origin != "template"
    )
    kinds = " · ".join(
        f"{kind.handler_type} {kind.steps:,} (failed {percent(kind.failure_rate)})"
        for kind in steps.handler_types
    )
    return Group(
        head,
        table,
        Text(f"dynamic by origin: {origins}", style="dim"),
        Text(f"by handler type: {kinds}", style="dim"),
    )


def _handlers(handlers: list[HandlerStats], width: int) -> RenderableType:
    if not handlers:
        return Text("no steps", style="dim")
    # a narrow terminal loses p99 and max rather than every column's last digits
    narrow = width < MAX_WIDTH
    name_width = max(12, HANDLER_WIDTH - (MAX_WIDTH - width) + (16 if narrow else 0))
    table = Table(box=None, pad_edge=False, show_edge=False, padding=(0, 1))
    table.add_column("HANDLER", no_wrap=True)
    latencies = ("P50", "P95") if narrow else ("P50", "P95", "P99", "MAX")
    for column in ("STEPS", "RETRIED", "FAILED", *latencies, "N"):
        table.add_column(column, justify="right", no_wrap=True)
    for handler in handlers[:HANDLERS_SHOWN]:
        latency = handler.latency
        failed = Text(percent(handler.failure_rate))
        if handler.failed:
            failed.stylize("red")
        times = (latency.p50_ms, latency.p95_ms, latency.p99_ms, latency.max_ms)
        table.add_row(
            _shorten(handler.handler or "(not in template)", name_width),
            f"{handler.steps:,}",
            percent(handler.retry_rate),
            failed,
            *(duration(ms) for ms in times[: len(latencies)]),
            f"{latency.samples:,}",
        )
    parts: list[RenderableType] = [table]
    if len(handlers) > HANDLERS_SHOWN:
        more = len(handlers) - HANDLERS_SHOWN
        parts.append(Text(f"… and {more} more handlers (--json lists them all)", style="dim"))
    parts.append(
        Text(
            "latency: claim to completion of the final attempt of each completed step; "
            "N: steps measured",
            style="dim",
        )
    )
    return Group(*parts)


def _shorten(name: str, width: int) -> str:
    """``name`` cut to ``width`` from the left: a callable's last part names it best."""
    return name if len(name) <= width else "…" + name[-(width - 1) :]


def _budgets(budgets: BudgetStats) -> RenderableType:
    used = [use for use in budgets.resources if use.limited_tasks or use.using_tasks]
    head = Text(f"{budgets.tasks_with_limits:,} of {budgets.tasks:,} tasks have budget limits")
    if budgets.tasks_without_limits:
        head.append(
            f"; {budgets.tasks_without_limits:,} have none (only planning steps set limits)",
            style="dim",
        )
    if not used:
        return Group(head, Text("no budget limits or ledger entries in this window", style="dim"))
    table = Table(box=None, pad_edge=False, show_edge=False, padding=(0, 1))
    table.add_column("RESOURCE", no_wrap=True)
    for column in ("LIMITED", "MEAN USE", "", "MAX USE", "EXHAUSTED", "USING", "USED"):
        table.add_column(column, justify="right" if column else "left", no_wrap=True)
    for use in used:
        table.add_row(
            use.resource,
            f"{use.limited_tasks:,}",
            percent(use.mean_utilisation),
            bar(use.mean_utilisation, 12),
            percent(use.max_utilisation),
            Text(f"{use.exhausted_tasks:,}", style="yellow" if use.exhausted_tasks else ""),
            f"{use.using_tasks:,}",
            _number(use.used_total),
        )
    return Group(head, table)


def _planning(planning: PlanningStats) -> RenderableType:
    if planning.attempts == 0:
        return Text("no planner calls in this window", style="dim")
    first = Text(f"{planning.attempts:,} model calls by {planning.planning_steps:,} planning ")
    first.append(f"steps of {planning.tasks:,} tasks: {planning.answered:,} answered, ")
    first.append(f"{planning.accepted:,} accepted, ")
    first.append(
        f"{planning.rejected:,} rejected ({percent(planning.validation_failure_rate)} of answers)",
        style="bold",
    )
    others = [
        f"{count:,} {what}"
        for count, what in (
            (planning.failed, "failed"),
            (planning.interrupted, "interrupted"),
            (planning.calling, "calling"),
        )
        if count
    ]
    if others:
        first.append(", " + ", ".join(others))
    estimated = " (some estimated)" if planning.usage_estimated else ""
    second = Text(
        f"tokens {planning.tokens_in:,} in / {planning.tokens_out:,} out{estimated} · cost "
        f"{usd(planning.cost_usd)} · latency mean {duration(planning.mean_latency_ms)}, "
        f"p95 {duration(planning.p95_latency_ms)}"
    )
    third = Text(
        f"{planning.fills_materialized:,} fragments materialized, "
        f"{planning.planned_steps:,} planned steps · deepest phase "
        f"{_number(planning.max_planning_phase)}"
    )
    return Group(first, second, third)


def _domain_events(events: DomainEventStats) -> RenderableType:
    if events.published == 0 and events.rejected == 0:
        return Text("no domain events in this window", style="dim")
    line = Text(f"{events.published:,} published")
    modes = [
        f"{count:,} {mode}"
        for mode, count in (
            ("durable", events.durable),
            ("fast", events.fast),
            ("broadcast", events.broadcast),
            ("emitted", events.emitted),
        )
        if count
    ]
    if modes:
        line.append(f" ({', '.join(modes)})")
    line.append(" · ")
    line.append(f"{events.rejected:,} rejected", style="red bold" if events.rejected else "")
    names = sorted(events.by_name.items(), key=lambda item: (-item[1], item[0]))
    if not names:
        return line
    return Group(line, Text(", ".join(f"{name} {count:,}" for name, count in names), style="dim"))


def _dlq(dlq: DlqCounts) -> RenderableType:
    line = Text()
    if dlq.pending:
        line.append(f"{dlq.pending:,} pending", style="yellow bold")
        reasons = ", ".join(f"{count} {reason}" for reason, count in dlq.pending_by_reason.items())
        line.append(f" ({reasons})")
    else:
        line.append("nothing pending", style="green")
    line.append(f" · {dlq.entered:,} entered and {dlq.resolved:,} resolved in the window")
    return line


def _alerts(alerts: list[Alert]) -> RenderableType:
    if not alerts:
        return Text("no alerts", style="green")
    # two columns, so that a long message or hint wraps under itself, not under the severity
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column()
    for alert in alerts:
        head = Text(alert.code, style="bold")
        head.append(f"  {alert.message}")
        table.add_row(Text(alert.severity, style=_SEVERITY_STYLES[alert.severity]), head)
        measured = _measure(alert.metric, alert.observed)
        limit = _measure(alert.metric, alert.threshold)
        table.add_row("", Text(f"observed {measured} > threshold {limit}", style="dim"))
        for task in alert.tasks:
            table.add_row("", Text(f"task {task}", style="dim"))
        if alert.more_tasks:
            table.add_row("", Text(f"and {alert.more_tasks} more tasks", style="dim"))
        table.add_row("", Text(f"hint: {alert.hint}", style="italic"))
    return table


def _measure(metric: str, value: float) -> str:
    return percent(value) if metric.endswith("_rate") else f"{value:,.4g}"
