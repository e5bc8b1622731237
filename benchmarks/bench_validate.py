"""Validation throughput against bare YAML parsing of the same files, in one process.

Usage: python benchmarks/bench_validate.py [CORPUS_DIR ...] [--repeat N]

Both sides read every file from disk. The baseline parses it with ruamel.yaml's safe loader
(the C loader when ruamel.yaml.clib is installed, as it is with tasker-ctl); the measured side
runs the full validation (parse with positions, model check, every rule). The goal is a ratio
of at most 3x. Times are medians over ``--repeat`` rounds after one warm-up round, taken in the
same process so that machine noise affects both sides alike.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "tasker-core"
GOAL_RATIO = 3.0


def template_files(roots: list[Path]) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        files.extend(sorted(root.rglob("*.yaml")) + sorted(root.rglob("*.yml")))
    return files


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    action()  # warm-up: imports, caches
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    roots = options.roots or [
        DEFAULT_CORPUS / "tests" / "fixtures" / "task_templates",
        DEFAULT_CORPUS / "config" / "tasks",
    ]
    files = template_files([root for root in roots if root.is_dir()])
    if not files:
        raise SystemExit(f"no templates found under {', '.join(map(str, roots))}")

    from ruamel.yaml import YAML

    from tasker_ctl.template import validate_file

    yaml = YAML(typ="safe")

    def parse_all() -> None:
        for file in files:
            yaml.load(file.read_bytes())

    def validate_all() -> None:
        for file in files:
            validate_file(file)

    parse = median_seconds(parse_all, options.repeat)
    validate = median_seconds(validate_all, options.repeat)
    ratio = validate / parse
    print(f"files:                 {len(files)}")
    print(
        f"bare parse (median):   {parse * 1000:8.1f} ms  ({parse / len(files) * 1000:.2f} ms/file)"
    )
    print(
        f"validation (median):   {validate * 1000:8.1f} ms  "
        f"({validate / len(files) * 1000:.2f} ms/file)"
    )
    print(
        f"ratio:                 {ratio:8.2f}x  (goal <= {GOAL_RATIO:.0f}x: "
        f"{'met' if ratio <= GOAL_RATIO else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
