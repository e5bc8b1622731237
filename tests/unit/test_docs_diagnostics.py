"""docs/diagnostics.md is generated from the code catalogue and must not drift from it."""

from __future__ import annotations

from tasker_ctl.template import codes
from tests.conftest import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "diagnostics.md"
REGENERATE = "python -m tasker_ctl.template.codes > docs/diagnostics.md"


def test_diagnostics_page_matches_the_catalogue() -> None:
    assert DOC.is_file(), f"{DOC} is missing; generate it with: {REGENERATE}"
    assert DOC.read_text(encoding="utf-8") == codes.render_markdown(), (
        f"docs/diagnostics.md is out of date with codes.CATALOGUE; regenerate it with: {REGENERATE}"
    )


def test_every_code_is_documented_once() -> None:
    page = codes.render_markdown()
    for info in codes.CATALOGUE:
        assert page.count(f"| `{info.code}` |") == 1, info.code


def test_codes_are_unique_and_upper_snake_case() -> None:
    names = [info.code for info in codes.CATALOGUE]
    assert len(names) == len(set(names))
    assert all(name.replace("_", "").isalpha() and name.isupper() for name in names)
