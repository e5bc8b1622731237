"""What installing tasker-ctl brings along: no test library, so that it installs beside a
project's own (a current hypothesis, say), and no extra it does not use itself."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import PROJECT_ROOT
from tests.entry_point import run_entry_point

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SOURCE = PROJECT_ROOT / "src" / "tasker_ctl"
TEST_LIBRARIES = {
    "hypothesis",
    "hypothesis-jsonschema",
    "pytest",
    "coverage",
    "mypy",
    "ruff",
    "pre-commit",
    "faker",
    "freezegun",
    "tox",
    "nox",
}
# modules no code of tasker-ctl imports: test libraries, and email-validator, which only
# generated models that use format: email need (they say so in their header)
UNIMPORTED = {"hypothesis", "hypothesis_jsonschema", "email_validator", "faker", "freezegun"}


def _requirements(listed: list[str]) -> list[Requirement]:
    return [Requirement(text) for text in listed]


def _is_test_library(requirement: Requirement) -> bool:
    name = canonicalize_name(requirement.name)
    return name in TEST_LIBRARIES or name.startswith(("pytest-", "types-"))


def test_no_test_library_is_a_runtime_dependency() -> None:
    runtime = _requirements(PYPROJECT["project"]["dependencies"])
    assert [str(r) for r in runtime if _is_test_library(r)] == []


def test_pydantic_is_required_without_its_email_extra() -> None:
    runtime = {
        str(canonicalize_name(r.name)): r
        for r in _requirements(PYPROJECT["project"]["dependencies"])
    }
    assert runtime["pydantic"].extras == set()
    assert "email-validator" not in runtime


def test_hypothesis_is_a_test_dependency_without_an_upper_bound() -> None:
    test_extra = {
        str(canonicalize_name(r.name)): r
        for r in _requirements(PYPROJECT["project"]["optional-dependencies"]["test"])
    }
    hypothesis = test_extra["hypothesis"]
    assert [s.operator for s in hypothesis.specifier if s.operator not in (">=", ">")] == []
    assert "hypothesis-jsonschema" not in test_extra


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_no_module_of_tasker_ctl_imports_a_test_library_or_email_validator() -> None:
    offending = {
        str(path.relative_to(SOURCE)): sorted(_imported_modules(path) & UNIMPORTED)
        for path in sorted(SOURCE.rglob("*.py"))
    }
    assert {path: names for path, names in offending.items() if names} == {}


# a template whose example values need more than the first value built: a negative lookahead
# over the first choices, a oneOf whose first values meet both branches, not, if/then/else
HARD_TEMPLATE = """\
name: hard
namespace_name: tests
version: 1.0.0
input_schema:
  type: object
  required: [code, label, level]
  properties:
    code: {type: string, pattern: '^(?!a)[a-c]$'}
    label:
      oneOf: [{type: string, maxLength: 20}, {type: string, minLength: 5}]
    level: {type: integer, minimum: 0, not: {const: 0}}
  if: {properties: {level: {maximum: 3}}}
  then: {required: [note], properties: {note: {type: string}}}
steps:
  - name: only
    handler: {callable: tests.only}
    result_schema: {type: object, required: [n], properties: {n: {type: integer}}}
"""


@pytest.mark.slow
def test_generate_imports_no_test_library(tmp_path: Path) -> None:
    template = tmp_path / "hard.yaml"
    template.write_text(HARD_TEMPLATE, encoding="utf-8")
    ran = run_entry_point(
        "generate", "scaffold", str(template), "-o", str(tmp_path / "pkg"),
        cwd=tmp_path, prelude="import tasker_ctl.codegen", timeout=300,
    )  # fmt: skip
    assert (ran.code, ran.loaded(UNIMPORTED)) == (0, []), ran.output
    generated = "".join(path.read_text(encoding="utf-8") for path in (tmp_path / "pkg").iterdir())
    assert '"code": "b"' in generated  # the example input past the negative lookahead
