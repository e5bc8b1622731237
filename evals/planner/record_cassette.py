"""Write the shipped suite and record its cassette through the real client path.

    python evals/planner/record_cassette.py

``suite.yaml`` is written from ``cases.py``. Then every scripted answer (``problems.py``: a
sound fragment, sometimes after realistic mistakes) is first checked to be refused or accepted
as the script means it, and served by the tests' loopback OpenAI-compatible server
(``tests/openai_server.py``) to ``tasker-ctl planner eval`` run as a process of its own with
``--model openai:gpt-4.1-mini@<server> --record cassette.yaml``: the requests, the answers
and the usage go through the same client, recorder and pricing as a real model's. The usage
each answer reports is an estimate (a token for every four bytes of the request and the
answer), so that the figures look like a real run's; the latency is the loopback call's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT)]

from cases import CASES  # noqa: E402
from problems import text_of  # noqa: E402

from tasker_ctl.planning.eval_suite import load_suite  # noqa: E402
from tasker_ctl.planning.validator import check_answer  # noqa: E402

TIERS = (1, 2)
REPAIRS = 2
MODEL = "gpt-4.1-mini"
SUITE = HERE / "suite.yaml"
CASSETTE = HERE / "cassette.yaml"
HEADER = """\
# The shipped planner evaluation suite (docs/planner-eval.md). Written by
# record_cassette.py from cases.py: edit the cases there and run it again.
"""


def write_suite() -> None:
    from io import StringIO

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = None
    yaml.width = 100
    buffer = StringIO()
    yaml.dump(
        {
            "format": "tasker-planner-eval",
            "version": 1,
            "description": "Fragments for four templates: every fragment feature and pattern",
            "problems": [case.problem() for case in CASES],
        },
        buffer,
    )
    SUITE.write_text(HEADER + buffer.getvalue(), encoding="utf-8")


def scripted_entries() -> list[dict[str, object]]:
    """The server's script: each answer checked to be refused (a mistake) or accepted (the
    last), with a usage estimated from the request it answers."""
    from tasker_ctl.planning.evaluation import problem_prompt

    suite = {loaded.id: loaded for loaded in load_suite(SUITE).problems}
    entries: list[dict[str, object]] = []
    for tier in TIERS:
        for case in CASES:
            loaded = suite[case.id]
            size = problem_prompt(loaded, tier).request.size
            script = case.script(tier)[: REPAIRS + 1]
            for number, answer in enumerate(script, start=1):
                text = text_of(answer)
                accepted = check_answer(text, loaded.frame).accepted
                last = number == len(script)
                if accepted != (last and len(script) <= REPAIRS + 1 and _ends_sound(case, tier)):
                    raise SystemExit(
                        f"{case.id} tier {tier} answer {number}: accepted={accepted}, "
                        "not what the script means"
                    )
                request_tokens = (size + (size // 5 if number > 1 else 0)) // 4
                usage = {
                    "prompt_tokens": request_tokens,
                    "completion_tokens": len(text.encode()) // 4 + 12,
                    "total_tokens": request_tokens + len(text.encode()) // 4 + 12,
                }
                key = "tool_arguments" if isinstance(answer, dict) else "text"
                entries.append({key: text, "usage": usage, "model": MODEL})
    return entries


def _ends_sound(case: object, tier: int) -> bool:
    mistakes = case.tier1 if tier == 1 else case.tier2  # type: ignore[attr-defined]
    return len(mistakes) <= REPAIRS


def record(target: Path) -> None:
    from tests.openai_server import OpenAIServer

    entries = scripted_entries()
    target.unlink(missing_ok=True)
    with OpenAIServer(entries) as server:
        arguments = ["planner", "eval", str(SUITE), "--model", server.spec(MODEL)]
        arguments += ["--tiers", ",".join(map(str, TIERS)), "--repairs", str(REPAIRS)]
        arguments += ["--record", str(target), "--json"]
        command = [sys.executable, "-m", "tasker_ctl", *arguments]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        left = len(server._script)
    if result.returncode != 0 or left:
        raise SystemExit(
            f"recording failed (exit {result.returncode}, {left} answers left):\n{result.stderr}"
        )
    report = json.loads(result.stdout)
    for figures in report["figures"]:
        print(
            f"tier {figures['tier']}: {figures['valid_first_try_pct']} % first try, "
            f"{figures['valid_after_repairs_pct']} % after repairs"
        )


def main() -> None:
    write_suite()
    record(CASSETTE)


if __name__ == "__main__":
    main()
