"""Code generation for every corpus template, in one process.

Usage: python benchmarks/bench_generate.py [CORPUS_DIR ...] [--rounds N]

Each round starts a fresh Python process that imports tasker-ctl and generates the full
scaffold (models, handlers, tests, conftest) of every template, in memory; the round's time
includes the imports, as a user's single run would. The goal is under 5 s per round. The bare
interpreter start is measured in the same script for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "tasker-core"
GOAL_SECONDS = 5.0

_ROUND = """
import sys, time
start = time.perf_counter()
from pathlib import Path
from tasker_ctl.codegen import generate_scaffold
count = 0
for name in sys.argv[1:]:
    generate_scaffold(name, Path("/nonexistent/package"))
    count += 1
print(count, time.perf_counter() - start)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="*", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    roots = options.roots or [
        DEFAULT_CORPUS / "tests" / "fixtures" / "task_templates",
        DEFAULT_CORPUS / "config" / "tasks",
    ]
    files = [str(path) for root in roots if root.is_dir() for path in sorted(root.rglob("*.yaml"))]
    if not files:
        raise SystemExit(f"no templates found under {', '.join(map(str, roots))}")
    totals, internal, bare = [], [], []
    for _ in range(options.rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _ROUND, *files], check=True, capture_output=True, text=True
        )
        totals.append(time.perf_counter() - start)
        internal.append(float(done.stdout.split()[1]))
    total = statistics.median(totals)
    print(f"templates:                      {len(files)}")
    print(f"python -c pass (median):        {statistics.median(bare):6.2f} s")
    print(
        f"generation, in-process (median): {statistics.median(internal):6.2f} s "
        f"({statistics.median(internal) / len(files) * 1000:.1f} ms/template)"
    )
    print(
        f"whole process (median):         {total:6.2f} s  "
        f"(goal < {GOAL_SECONDS:.0f} s: {'met' if total < GOAL_SECONDS else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
