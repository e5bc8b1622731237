"""docs/planning.md stays true: every code the model layer raises, and the limits it states."""

from __future__ import annotations

import re
from pathlib import Path

import tasker_ctl.planning
from tasker_ctl.planning import context_summary, llm, prompt
from tasker_ctl.planning.cassette import CASSETTE_FORMAT

PACKAGE = Path(tasker_ctl.planning.__file__).parent
DOC = (Path(__file__).resolve().parents[3] / "docs" / "planning.md").read_text(encoding="utf-8")
MODULES = ("errors.py", "llm.py", "cassette.py", "planner.py")


def test_every_code_of_the_model_layer_is_documented() -> None:
    codes = set()
    for name in MODULES:
        source = (PACKAGE / name).read_text(encoding="utf-8")
        codes |= set(re.findall(r'code(?:: str)? ?= ?"([A-Z_]+)"', source))
    assert len(codes) >= 10
    assert sorted(code for code in codes if f"`{code}`" not in DOC) == []


def _kib(size: int) -> str:
    return f"{size // 1024} KB" if size < 1024 * 1024 else f"{size // (1024 * 1024)} MiB"


def test_the_limits_stated_are_the_code_s() -> None:
    stated = [
        _kib(context_summary.VERBATIM_LIMIT),
        _kib(context_summary.SUMMARY_LIMIT),
        _kib(prompt.TIER2_LIMIT),
        _kib(llm.MAX_BODY_BYTES),
        _kib(llm.MAX_ANSWER_BYTES),
        f"at most {prompt.MAX_REPAIR_FINDINGS} findings",
        f"{prompt.REPAIR_GROWTH} times the first",
        f"`{prompt.PROMPT_VERSION}`",
        f"format: {CASSETTE_FORMAT}",
    ]
    assert [text for text in stated if text not in DOC] == []
