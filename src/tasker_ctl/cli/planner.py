"""``tasker-ctl planner eval SUITE --model MODEL``: a planner evaluated on a suite of planning
problems, tier by tier, with no database (docs/planner-eval.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tasker_ctl.errors import UsageError

TIER_CHOICES = (1, 2, 3)


def register(app: typer.Typer) -> None:
    planner_app = typer.Typer(
        help="Evaluate a planner (a model, or a recorded cassette) on planning problems.",
        no_args_is_help=True,
    )
    app.add_typer(planner_app, name="planner")

    @planner_app.command(
        name="eval",
        epilog="Exit codes: 0 evaluated (whatever the figures); 1 --min-valid set and a tier "
        "below it; 2 bad usage, an unreadable suite (EVAL_SUITE_INVALID), a planner that "
        "cannot be opened or a cassette that does not fit the suite.",
    )
    def evaluate_command(
        suite: Annotated[
            Path,
            typer.Argument(
                metavar="SUITE",
                help="The suite: a YAML file of problems (docs/planner-eval.md).",
                show_default=False,
                dir_okay=False,
            ),
        ],
        model: Annotated[
            str,
            typer.Option(
                "--model",
                "-m",
                metavar="MODEL",
                help="The planner: provider:model (openai:gpt-4.1-mini, anthropic:..., "
                "ollama:..., openai:MODEL@URL) or replay:CASSETTE (relative to the suite's "
                "folder when not found from here).",
                show_default=False,
            ),
        ],
        tiers: Annotated[
            str,
            typer.Option(
                "--tiers",
                metavar="LIST",
                help="The vocabulary tiers to ask at, comma-separated, in order: 1 names and "
                "one line each, 2 adds the allowed schemas, 3 everything.",
            ),
        ] = "1,2",
        repairs: Annotated[
            int,
            typer.Option(
                "--repairs",
                min=0,
                max=10,
                metavar="N",
                help="Repair requests after a refused answer, at most.",
            ),
        ] = 2,
        min_valid: Annotated[
            float | None,
            typer.Option(
                "--min-valid",
                min=0.0,
                max=100.0,
                metavar="PCT",
                help="Exit 1 when a tier's validity after repairs is below PCT percent.",
                show_default=False,
            ),
        ] = None,
        record: Annotated[
            Path | None,
            typer.Option(
                "--record",
                metavar="FILE",
                help="Record every answer in the cassette FILE, to replay later with "
                "--model replay:FILE (with the same --tiers and --repairs).",
                show_default=False,
                dir_okay=False,
            ),
        ] = None,
        json_output: Annotated[
            bool, typer.Option("--json", help="The report as JSON, with every problem.")
        ] = False,
    ) -> None:
        """Ask the planner every problem of SUITE at each tier: build the prompt as a planning
        step does, judge the answer in the nine stages, repair up to N times, then check the
        problem's expected properties. Reports validity, repairs, properties, findings by
        stage, tokens and cost per tier; the same suite and cassette give the same figures."""
        from tasker_ctl.planning.eval_suite import load_suite
        from tasker_ctl.planning.evaluation import evaluate
        from tasker_ctl.planning.planner import open_planner, parse_planner_spec
        from tasker_ctl.report import planner_eval_view

        chosen = _tiers(tiers)
        loaded = load_suite(suite)
        base_dir = None
        spec = parse_planner_spec(model)
        if spec.provider == "replay" and not Path(spec.model).exists():
            base_dir = suite.parent
        planner = open_planner(model, record=record, base_dir=base_dir)
        report = evaluate(loaded, planner, tiers=chosen, repairs=repairs, suite_name=str(suite))
        if json_output:
            sys.stdout.write(planner_eval_view.render_json(report))
        else:
            planner_eval_view.render_text(report, sys.stdout)
        if min_valid is not None and any(
            figures.valid_after_repairs_pct < min_valid for figures in report.figures
        ):
            raise typer.Exit(1)


def _tiers(text: str) -> tuple[int, ...]:
    """``1,2,3`` -> (1, 2, 3); each a known tier, none twice."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts or any(part not in {"1", "2", "3"} for part in parts):
        raise UsageError(
            f"--tiers '{text}' is not a list of tiers",
            hint="tiers are 1, 2 and 3, comma-separated: --tiers 1,2",
        )
    chosen = tuple(int(part) for part in parts)
    if len(set(chosen)) != len(chosen):
        raise UsageError(f"--tiers '{text}' names a tier twice", hint="--tiers 1,2,3")
    return chosen
