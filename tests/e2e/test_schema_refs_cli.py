"""``validate``, ``generate`` and ``run`` on templates whose schemas refer outside themselves:
a coded finding or error naming the ``$ref``, zero requests to the referenced server, and never
the content of a referenced file in any output.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.counting_server import CountingServer, counting_server
from tests.e2e.conftest import RunCli, assert_no_traceback

pytestmark = pytest.mark.slow

SECRET = "TOPSECRET-0b9e44"

TEMPLATE = """\
name: refs
namespace_name: tests
version: "1.0.0"
input_schema:
  type: object
  properties:
    order: {{$ref: "{server}/order.json"}}
    # a property named like a data keyword holds a schema all the same
    default: {{$ref: "secret.json"}}
steps:
  - name: price
    handler: {{callable: tests.price}}
    result_schema:
      type: object
      properties:
        total: {{$ref: "file://{secret_txt}"}}
        missing: {{$ref: "#/$defs/nowhere"}}
  - name: check
    dependencies: [price]
    handler: {{callable: "grammar:check"}}
    composition:
      outcome:
        description: the priced order
        output_schema:
          type: object
          properties:
            total: {{$ref: "{server}/outcome.json"}}
      invocations:
        - capability: validate
          config:
            schema:
              type: object
              properties:
                total: {{$ref: "{server}/validate.json"}}
        - capability: transform
          config:
            filter: "."
            output:
              type: object
              properties:
                total: {{$ref: "file://{secret_json}"}}
"""

HANDLERS = """\
from tasker_ctl.sdk.step_handler.functional import step_handler


@step_handler("tests.price")
def price():
    return {"total": 1}
"""

# where validate reports each reference: (line, code)
EXPECTED = [
    (7, "EXTERNAL_SCHEMA_REF"),
    (9, "EXTERNAL_SCHEMA_REF"),
    (16, "EXTERNAL_SCHEMA_REF"),
    (17, "UNRESOLVED_SCHEMA_REF"),
    (27, "EXTERNAL_SCHEMA_REF"),
    (34, "EXTERNAL_SCHEMA_REF"),
    (41, "EXTERNAL_SCHEMA_REF"),
]


@pytest.fixture
def server() -> Iterator[CountingServer]:
    with counting_server() as running:
        yield running


@pytest.fixture
def project(tmp_path: Path, server: CountingServer) -> Path:
    """The template, its handlers and three secret files; commands run in this directory."""
    (tmp_path / "secret.json").write_text(json.dumps({"const": SECRET}), encoding="utf-8")
    (tmp_path / "secret_string.json").write_text(json.dumps(SECRET), encoding="utf-8")
    (tmp_path / "secret.txt").write_text(f"{SECRET}\n", encoding="utf-8")
    (tmp_path / "refs.yaml").write_text(
        TEMPLATE.format(
            server=server.url,
            secret_txt=tmp_path / "secret.txt",
            secret_json=tmp_path / "secret_string.json",
        ),
        encoding="utf-8",
    )
    (tmp_path / "refs_handlers.py").write_text(HANDLERS, encoding="utf-8")
    return tmp_path


def _clean(result: subprocess.CompletedProcess[str], project: Path) -> None:
    assert_no_traceback(result)
    output = result.stdout + result.stderr
    assert SECRET not in output
    for path in project.rglob("*"):
        if path.is_file() and not path.name.startswith("secret"):
            assert SECRET not in path.read_text(encoding="utf-8", errors="replace"), path


def test_validate_flags_every_outside_reference(
    invoke_cli: RunCli, project: Path, server: CountingServer
) -> None:
    result = invoke_cli("validate", "refs.yaml", "--format", "json", cwd=project)
    _clean(result, project)
    assert result.returncode == 1, result.stdout + result.stderr
    findings = json.loads(result.stdout)["files"][0]["findings"]
    flagged = sorted(
        (finding["line"], finding["code"])
        for finding in findings
        if finding["code"] in ("EXTERNAL_SCHEMA_REF", "UNRESOLVED_SCHEMA_REF")
    )
    assert flagged == EXPECTED
    for finding in findings:
        if finding["code"] == "EXTERNAL_SCHEMA_REF":
            assert finding["severity"] == "error"
            assert "#/$defs/NAME" in finding["hint"]
            assert "$ref" in finding["path"]
    assert server.count == 0


@pytest.mark.parametrize("command", [("models",), ("scaffold", "--output", "pkg")])
def test_generate_refuses_and_fetches_nothing(
    invoke_cli: RunCli, project: Path, server: CountingServer, command: tuple[str, ...]
) -> None:
    result = invoke_cli("generate", command[0], "refs.yaml", *command[1:], cwd=project)
    _clean(result, project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "EXTERNAL_SCHEMA_REF" in result.stdout + result.stderr
    assert server.count == 0


def test_generate_never_reads_a_file_a_reference_names(
    invoke_cli: RunCli, project: Path, server: CountingServer
) -> None:
    # only the reference that generation used to follow: a relative path, read from the
    # working directory, under a property called 'default'
    (project / "refs.yaml").write_text(
        'name: refs\nnamespace_name: tests\nversion: "1.0.0"\n'
        "input_schema:\n  type: object\n  properties:\n"
        '    default: {$ref: "secret.json"}\n'
        "steps:\n  - name: price\n    handler: {callable: tests.price}\n",
        encoding="utf-8",
    )
    result = invoke_cli("generate", "models", "refs.yaml", cwd=project)
    _clean(result, project)
    assert result.returncode == 1, result.stdout
    assert "secret.json" in result.stdout + result.stderr


def test_run_refuses_before_anything_runs(
    invoke_cli: RunCli, project: Path, server: CountingServer, fresh_database_url: str
) -> None:
    result = invoke_cli(
        "run",
        "refs.yaml",
        "--context",
        '{"order": {}}',
        "--handlers",
        "refs_handlers.py",
        cwd=project,
        env={"TASKER_DATABASE_URL": fresh_database_url},
    )
    _clean(result, project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "error[TEMPLATE_INVALID]" in result.stderr
    assert "EXTERNAL_SCHEMA_REF" in result.stderr
    assert server.count == 0
