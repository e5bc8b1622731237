"""The fragment codes: each one reported is catalogued with its stage, and docs/fragments.md
lists them all with the same stage and severity."""

from __future__ import annotations

import re
from pathlib import Path

from tasker_ctl.planning import FRAGMENT_CODES
from tasker_ctl.planning.findings import _CODE_OF_TYPE
from tasker_ctl.template.source import parse_document
from tests.unit.planning.examples import EXAMPLES

ROOT = Path(__file__).parents[3]
DOCS = ROOT / "docs" / "fragments.md"
PLANNING = ROOT / "src" / "tasker_ctl" / "planning"


def test_stage_one_codes_are_those_of_the_parse() -> None:
    stage_one = {code for code, info in FRAGMENT_CODES.items() if info.stage == 1}
    # and FRAGMENT_NOT_JSON, check_answer's when a planner's answer does not decode
    parsed = set(_CODE_OF_TYPE.values()) | {"FRAGMENT_SCHEMA_INVALID", "FRAGMENT_NOT_JSON"}
    assert parsed == stage_one


def test_every_code_the_stages_name_is_catalogued_and_every_catalogued_code_is_used() -> None:
    named: set[str] = set()
    for module in PLANNING.glob("*.py"):
        if module.name == "findings.py":
            continue
        named |= set(re.findall(r'"(FRAGMENT_[A-Z_]+)"', module.read_text(encoding="utf-8")))
    later = {code for code, info in FRAGMENT_CODES.items() if info.stage > 1}
    assert named - set(FRAGMENT_CODES) - {"FRAGMENT_CODES"} == set()
    assert later - named == set()
    assert all(re.fullmatch(r"FRAGMENT_[A-Z_]+", code) for code in FRAGMENT_CODES)
    assert all(1 <= info.stage <= 9 for info in FRAGMENT_CODES.values())
    assert {info.stage for info in FRAGMENT_CODES.values()} == set(range(1, 10))


def test_the_docs_list_exactly_the_catalogued_codes_with_their_stage_and_severity() -> None:
    text = DOCS.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(FRAGMENT_[A-Z_]+)` \| (\d) \| (error|warning) \|", text, re.MULTILINE)
    documented = {code: (int(stage), severity) for code, stage, severity in rows}
    assert documented == {
        code: (info.stage, info.severity.value) for code, info in FRAGMENT_CODES.items()
    }


def test_the_docs_example_is_the_first_test_example() -> None:
    text = DOCS.read_text(encoding="utf-8")
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    document = parse_document(block, path=DOCS, display_path="docs/fragments.md")
    assert document.problems == []
    assert document.data == EXAMPLES[0]
