"""The fragment codes: each one reported is catalogued, and docs/fragments.md lists them all."""

from __future__ import annotations

import re
from pathlib import Path

from tasker_ctl.planning import FRAGMENT_CODES
from tasker_ctl.planning.findings import _CODE_OF_TYPE
from tasker_ctl.template.source import parse_document
from tests.unit.planning.examples import EXAMPLES

DOCS = Path(__file__).parents[3] / "docs" / "fragments.md"


def test_every_code_reported_is_in_the_catalogue() -> None:
    assert set(_CODE_OF_TYPE.values()) | {"FRAGMENT_SCHEMA_INVALID"} == set(FRAGMENT_CODES)
    assert all(re.fullmatch(r"FRAGMENT_[A-Z_]+", code) for code in FRAGMENT_CODES)


def test_the_docs_list_exactly_the_catalogued_codes() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(FRAGMENT_[A-Z_]+)` \|", text, re.MULTILINE))
    assert documented == set(FRAGMENT_CODES)


def test_the_docs_example_is_the_first_test_example() -> None:
    text = DOCS.read_text(encoding="utf-8")
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    document = parse_document(block, path=DOCS, display_path="docs/fragments.md")
    assert document.problems == []
    assert document.data == EXAMPLES[0]
