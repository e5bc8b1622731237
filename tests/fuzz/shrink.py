"""Shrinking a failing case: drop lines of its mutated file while it fails the same way.

Delta debugging over lines (ddmin), bounded by a time budget, on a copy of the case: the
reproducer keeps whatever still shows the failure's signature.
"""

from __future__ import annotations

import shutil
import time

from tests.fuzz.cases import Case
from tests.fuzz.runner import Limits, Outcome, Run, execute


def shrink_case(case: Case, failure: Outcome, limits: Limits, budget_s: float) -> bytes:
    """The smallest text of the case's mutated file found within ``budget_s`` seconds."""
    name = next(iter(case.files))
    lines = case.files[name].splitlines(keepends=True)
    directory = failure.run.directory.with_name(failure.run.directory.name + ".shrink")
    shutil.rmtree(directory, ignore_errors=True)
    case.write(directory)
    deadline = time.monotonic() + budget_s
    run = Run(case.case_id, failure.run.command, directory, "fork")

    def still_fails(candidate: list[bytes]) -> bool:
        (directory / name).write_bytes(b"".join(candidate))
        outcome = next(execute([run], jobs=1, limits=limits))
        return outcome.signature == failure.signature

    granularity = 2
    while len(lines) >= 2 and time.monotonic() < deadline:
        chunk = -(-len(lines) // granularity)
        for start in range(0, len(lines), chunk):
            candidate = lines[:start] + lines[start + chunk :]
            if candidate and time.monotonic() < deadline and still_fails(candidate):
                lines = candidate
                granularity = max(granularity - 1, 2)
                break
        else:
            if granularity >= len(lines):
                break
            granularity = min(len(lines), granularity * 2)
    shutil.rmtree(directory, ignore_errors=True)
    return b"".join(lines)
