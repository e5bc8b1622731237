"""Generated models: enum defaults that type-check, and what format: email requires."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tasker_ctl.codegen import generate_models, write_files
from tasker_ctl.codegen.models import EMAIL_REQUIREMENT

# Enums with defaults: a plain one, a nullable one, two behind $ref (one with the default on
# the definition, one on the reference), an integer one, one inside a nested object and an
# array of enum items; and a required enum whose default is dropped.
ENUMS = """\
name: enums
namespace_name: tests
version: 1.0.0
input_schema:
  type: object
  required: [mode]
  $defs:
    Level: {type: string, enum: [low, high], default: low}
    Color: {type: string, enum: [red, green]}
  properties:
    priority: {type: string, enum: [standard, express], default: standard}
    maybe: {type: [string, "null"], enum: [a, b, null], default: b}
    nothing: {enum: [x, y, null], default: null}
    level: {$ref: "#/$defs/Level"}
    level_again: {$ref: "#/$defs/Level", default: high}
    color: {anyOf: [{$ref: "#/$defs/Color"}, {type: "null"}], default: green}
    code: {type: integer, enum: [1, 2, 3], default: 2}
    tags: {type: array, items: {type: string, enum: [p, q]}, default: [q]}
    nested:
      type: object
      properties: {switch: {type: string, enum: ["on", "off"], default: "off"}}
    mode: {type: string, enum: [fast, slow], default: slow}
steps:
  - name: only
    handler: {callable: tests.only}
    result_schema: {type: object, properties: {n: {type: integer}}}
"""

EMAIL = """\
name: mail
namespace_name: tests
version: 1.0.0
input_schema:
  type: object
  required: [to]
  properties: {to: {type: string, format: email}}
steps:
  - name: only
    handler: {callable: tests.only}
"""


def _package(tmp_path: Path, text: str, name: str) -> Path:
    template = tmp_path / f"{name}.yaml"
    template.write_text(text, encoding="utf-8")
    package = tmp_path / name
    write_files(generate_models(template).files, package)
    (package / "__init__.py").write_text("", encoding="utf-8")
    return package


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_enum_defaults_are_written_as_members(tmp_path: Path) -> None:
    source = (_package(tmp_path, ENUMS, "enums") / "models.py").read_text(encoding="utf-8")
    assert "priority: EnumsInputPriority | None = EnumsInputPriority.STANDARD\n" in source
    assert "maybe: EnumsInputMaybe | None = EnumsInputMaybe.B\n" in source
    assert "level: Level | None = Level.LOW\n" in source
    assert "level_again: Level | None = Level.HIGH\n" in source
    assert "color: Color | None = Color.GREEN\n" in source
    assert "code: EnumsInputCode | None = EnumsInputCode.INTEGER_2\n" in source
    assert "tags: list[EnumsInputTag] | None = [EnumsInputTag.Q]\n" in source
    # no enum field keeps a plain default (a string or a number)
    assert re.search(r"^    \w+: \w+ \| None = [\"\d]", source, flags=re.MULTILINE) is None


def test_enum_defaults_are_defined_before_use(tmp_path: Path) -> None:
    """A member default is evaluated when the model's class is made: enums come first."""
    _package(tmp_path, ENUMS, "enums")
    result = _python(
        "from enums.models import EnumsInput\n"
        "value = EnumsInput.model_validate({'mode': 'fast'})\n"
        "print(value.model_dump(mode='json'))\n",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "{'priority': 'standard', 'maybe': 'b', 'nothing': None, 'level': 'low', "
        "'level_again': 'high', 'color': 'green', 'code': 2, 'tags': ['q'], 'nested': None, "
        "'mode': 'fast'}"
    )


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_enum_defaults_pass_mypy_strict(tmp_path: Path) -> None:
    package = _package(tmp_path, ENUMS, "enums")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(package)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_email_formats_say_what_they_require(tmp_path: Path) -> None:
    with_email = (_package(tmp_path, EMAIL, "mail") / "models.py").read_text(encoding="utf-8")
    without = (_package(tmp_path, ENUMS, "enums") / "models.py").read_text(encoding="utf-8")
    assert "pip install 'pydantic[email]'" in EMAIL_REQUIREMENT
    header = with_email.split("\n\n", 1)[0]
    assert header.endswith(EMAIL_REQUIREMENT)
    assert EMAIL_REQUIREMENT not in without


def test_email_models_work_with_email_validator(tmp_path: Path) -> None:
    if importlib.util.find_spec("email_validator") is None:
        pytest.skip("email-validator is not installed")
    _package(tmp_path, EMAIL, "mail")
    result = _python(
        "from mail.models import MailInput\n"
        "print(MailInput.model_validate({'to': 'ada@example.com'}).to)\n",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ada@example.com"


def test_email_models_without_email_validator_name_the_extra(tmp_path: Path) -> None:
    _package(tmp_path, EMAIL, "mail")
    result = _python(
        "import sys\n"
        "sys.modules['email_validator'] = None  # as if it were not installed\n"
        "import mail.models\n",
        tmp_path,
    )
    assert result.returncode != 0
    assert "pip install 'pydantic[email]'" in result.stderr
