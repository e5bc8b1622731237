"""``python -m tests.fuzz``: the full fuzz run, one case, or a replay of reproducers.

    python -m tests.fuzz --cases 10000 --seed 1 --jobs 2            # the full run
    python -m tests.fuzz --seed 1 --case template-123                # one case again
    python -m tests.fuzz --replay OUT/reproducers                    # are they fixed?

Exit status: 0 no failure, 1 failures (listed, with their reproducers), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from tests.fuzz.cases import Command
from tests.fuzz.preload import preload
from tests.fuzz.runner import Limits, Run, execute


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fuzz", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--cases", type=int, default=10_000, help="mutated templates (10,000)")
    parser.add_argument("--compositions", type=int, help="mutated compositions (cases / 10)")
    parser.add_argument("--contexts", type=int, help="mutated contexts (cases / 10)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time")
    parser.add_argument("--out", type=Path, help="where figures, reproducers and cases go")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="CPU seconds a run may take (10)"
    )
    parser.add_argument(
        "--wall-factor",
        type=float,
        default=2.0,
        help="kill a run past timeout x this in wall time (2; 1: judge wall time strictly)",
    )
    parser.add_argument("--memory-mb", type=int, default=500, help="peak RSS a run may reach")
    parser.add_argument(
        "--process-every",
        type=int,
        default=50,
        help="every Nth case also runs as a real tasker-ctl process (0: none)",
    )
    parser.add_argument(
        "--shrink-seconds", type=float, default=60.0, help="per failure signature (0: no shrink)"
    )
    parser.add_argument("--case", action="append", default=[], help="run only this case (repeat)")
    parser.add_argument("--keep-cases", action="store_true", help="keep passing cases' files")
    parser.add_argument("--replay", type=Path, help="rerun the reproducers in this directory")
    return parser.parse_args(argv)


def replay(directory: Path, limits: Limits) -> int:
    """Rerun every reproducer under ``directory``; 1 when one still fails."""
    still = 0
    for case_file in sorted(directory.glob("*/case.json")):
        description = json.loads(case_file.read_text())
        command = description["command"]
        scratch = Path(tempfile.mkdtemp(prefix="tasker-fuzz-replay-"))
        shutil.copytree(case_file.parent, scratch, dirs_exist_ok=True)
        (scratch / "tmp").mkdir(exist_ok=True)
        run = Run(
            description["case"],
            Command(command["name"], tuple(command["argv"]), command["op"]),
            scratch,
            description.get("mode", "fork"),
        )
        outcome = next(execute([run], jobs=1, limits=limits))
        if outcome.failed:
            still += 1
            print(f"still fails  {case_file.parent.name}: {outcome.signature}")
        else:
            print(f"passes now   {case_file.parent.name}: exit {outcome.exit_code}")
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if still else 0


def main(argv: list[str] | None = None) -> int:
    from tests.fuzz.campaign import Plan, run_campaign

    arguments = _arguments(argv)
    limits = Limits(
        seconds=arguments.timeout,
        wall_factor=arguments.wall_factor,
        memory_mb=arguments.memory_mb,
    )
    preload()
    if arguments.replay is not None:
        return replay(arguments.replay, limits)
    out = arguments.out or Path(tempfile.mkdtemp(prefix=f"tasker-fuzz-{arguments.seed}-"))
    plan = Plan(
        templates=arguments.cases,
        compositions=arguments.compositions
        if arguments.compositions is not None
        else arguments.cases // 10,
        contexts=arguments.contexts if arguments.contexts is not None else arguments.cases // 10,
        seed=arguments.seed,
        jobs=arguments.jobs,
        out=out.resolve(),
        limits=limits,
        process_every=arguments.process_every,
        shrink_seconds=arguments.shrink_seconds,
        only=tuple(arguments.case),
        keep_cases=arguments.keep_cases,
    )
    summary = run_campaign(plan, progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(summary.render())
    print(f"figures: {out / 'summary.json'}; reproducers: {out / 'reproducers'}")
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
