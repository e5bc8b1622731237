"""``tasker-ctl planner eval``: a planner's figures per tier, as a table or as JSON.

The text shows one column per tier (problems, validity first try and after repairs, repair
rounds, properties, findings by stage, tokens, cost), then the problems that were not valid or
missed a property, then the calibration: the smallest tier with more than 90 % valid answers.
Latency is printed last, on a line of its own, marked as not part of the figures.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.table import Table

from tasker_ctl.report.json_output import this_tool

if TYPE_CHECKING:
    from tasker_ctl.planning.evaluation import EvalReport, ProblemFigures

FORMAT_VERSION = 1
WIDTH = 120


def render_json(report: EvalReport) -> str:
    document: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "tool": this_tool().model_dump(mode="json"),
        **report.model_dump(mode="json"),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_text(report: EvalReport, out: TextIO) -> None:
    # a fixed width: the same report prints the same text wherever it is run
    console = Console(file=out, highlight=False, soft_wrap=True, width=WIDTH)
    count = report.figures[0].problems if report.figures else 0
    console.print(
        f"planner {report.planner} on {report.suite}: {count} problems, up to "
        f"{report.repairs} repair(s) each",
        markup=False,
    )
    table = Table(box=None, pad_edge=False, show_edge=False, padding=(0, 2))
    table.add_column("")
    for figures in report.figures:
        table.add_column(f"tier {figures.tier}", justify="right")
    rows: list[tuple[str, list[str]]] = [
        ("problems", [str(f.problems) for f in report.figures]),
        (
            "valid first try",
            [f"{f.valid_first_try_pct:.1f} % ({f.valid_first_try})" for f in report.figures],
        ),
        (
            f"valid after <= {report.repairs} repairs",
            [
                f"{f.valid_after_repairs_pct:.1f} % ({f.valid_after_repairs})"
                for f in report.figures
            ],
        ),
        ("mean repair rounds", [f"{f.mean_repair_rounds:.2f}" for f in report.figures]),
        (
            "properties passed",
            [f"{f.property_pass_pct:.1f} % ({f.properties_passed})" for f in report.figures],
        ),
        ("failed calls", [str(f.call_errors) for f in report.figures]),
    ]
    for stage in (str(number) for number in range(1, 10)):
        rows.append(
            (f"findings, stage {stage}", [str(f.findings_by_stage[stage]) for f in report.figures])
        )
    rows += [
        ("tokens in", [str(f.tokens_in) for f in report.figures]),
        ("tokens out", [str(f.tokens_out) for f in report.figures]),
        ("cost (USD)", [f.cost_usd for f in report.figures]),
    ]
    for label, cells in rows:
        table.add_row(label, *cells)
    console.print(table)
    misses = [p for p in report.problems if not p.properties_passed]
    if misses:
        console.print("")
        console.print("not valid, or a property missed:", markup=False)
        for problem in misses:
            console.print(f"  tier {problem.tier} {problem.id}: {_why(problem)}", markup=False)
    console.print("")
    if report.calibrated_tier is None:
        console.print("calibration: no tier reached more than 90 % valid", markup=False)
    else:
        console.print(
            f"calibration: tier {report.calibrated_tier} is the least detail with more than "
            "90 % valid",
            markup=False,
        )
    latency = ", ".join(
        f"tier {tier} {ms} ms" for tier, ms in report.timing.latency_ms_by_tier.items()
    )
    console.print(f"latency (not a figure: it varies from run to run): {latency}", markup=False)


def _why(problem: ProblemFigures) -> str:
    if problem.error is not None:
        return f"call failed ({problem.error})"
    if not problem.valid:
        last = problem.attempts[-1].codes if problem.attempts else []
        return f"no valid fragment after {len(problem.attempts)} answer(s); last: " + (
            ", ".join(sorted(set(last))) or "no finding"
        )
    missed = [verdict for verdict in problem.properties if not verdict.passed]
    return "; ".join(f"{verdict.name} ({verdict.detail})" for verdict in missed)
