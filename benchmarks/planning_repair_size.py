"""The size of a planning step's repair requests against its first request.

A planning step that gets an invalid fragment asks again with the original request, the last
answer (cut) and its findings; never the history. With a 40 KB invalid answer and 20 findings
at every attempt, the request of attempt n (n = 2..4) must stay within 1.25 times attempt 1's.
The figures are sizes in UTF-8 bytes (system prompt + user message + tool schema), not times,
so they do not depend on the machine.

Run from the project root: ``python benchmarks/planning_repair_size.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.unit.planning.prompt_template import (
    research_prompt,
    research_template,
)

from tasker_ctl.planning.findings import fragment_finding
from tasker_ctl.planning.prompt import REPAIR_GROWTH, repair_request

ANSWER_BYTES = 40 * 1024
FINDINGS = 20


def main() -> int:
    findings = [
        fragment_finding(
            "FRAGMENT_SCHEMA_INVALID",
            f"value {index} is not of the type the schema wants: " + "detail " * 20,
            source="answer",
            path=("steps", index, "inputs"),
            hint="see the tool schema",
        )
        for index in range(FINDINGS)
    ]
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for dynamic in (False, True):
            first = research_prompt(research_template(Path(folder), dynamic=dynamic))
            size = first.request.size
            print(f"dynamic composition {'allowed' if dynamic else 'not allowed'}:")
            print(
                f"  attempt 1: {size:>7} bytes (worst-case tokens "
                f"{first.request.worst_case_input_tokens()})"
            )
            for attempt in range(2, 5):
                start = f'{{"attempt": {attempt}, "steps": ['
                answer = start + "x" * (ANSWER_BYTES - len(start))
                repair = repair_request(first, answer, findings)
                ratio = repair.size / size
                worst = max(worst, ratio)
                print(f"  attempt {attempt}: {repair.size:>7} bytes  {ratio:.3f}x")
    verdict = "met" if worst <= REPAIR_GROWTH else "MISSED"
    print(f"worst ratio {worst:.3f}x; goal <= {REPAIR_GROWTH}x: {verdict}")
    return 0 if worst <= REPAIR_GROWTH else 1


if __name__ == "__main__":
    raise SystemExit(main())
