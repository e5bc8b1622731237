"""Cold start of ``tasker-ctl --version`` against a bare Python interpreter start.

Usage: python benchmarks/bench_startup.py [--repeat N]

Each run is a fresh process. The bare ``python -c pass`` start is measured in the same script,
interleaved with the command, so that the difference is what tasker-ctl itself costs. The goal
is a median under 250 ms for the command.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

GOAL_MS = 250.0


def run_once(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    options = parser.parse_args()
    executable = shutil.which("tasker-ctl")
    command = (
        [executable, "--version"]
        if executable
        else [sys.executable, "-m", "tasker_ctl", "--version"]
    )
    bare = [sys.executable, "-c", "pass"]
    run_once(command)  # warm the file-system cache
    tool, baseline = [], []
    for _ in range(options.repeat):
        baseline.append(run_once(bare))
        tool.append(run_once(command))
    tool_ms, bare_ms = statistics.median(tool), statistics.median(baseline)
    print(f"python -c pass (median):        {bare_ms:7.1f} ms")
    print(
        f"tasker-ctl --version (median):  {tool_ms:7.1f} ms  "
        f"(goal < {GOAL_MS:.0f} ms: {'met' if tool_ms < GOAL_MS else 'NOT met'})"
    )
    print(
        f"tasker-ctl's own cost:          {tool_ms - bare_ms:7.1f} ms  "
        f"({tool_ms / bare_ms:.2f}x bare)"
    )


if __name__ == "__main__":
    main()
