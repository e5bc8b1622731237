"""A decision step whose result_schema can never hold its outcome is refused before a run starts:
every run would otherwise fail with RESULT_SCHEMA_VIOLATION."""

from __future__ import annotations

import json

from tests.conftest import FIXTURES
from tests.e2e.conftest import RunCli, assert_no_traceback

EXCLUDING = FIXTURES / "templates" / "invalid" / "RESULT_SCHEMA_EXCLUDES_OUTCOME.yaml"


def test_run_refuses_a_decision_whose_result_schema_excludes_its_outcome(
    invoke_cli: RunCli,
) -> None:
    result = invoke_cli("run", str(EXCLUDING))
    assert_no_traceback(result)
    assert result.returncode == 1
    assert "RESULT_SCHEMA_EXCLUDES_OUTCOME" in result.stdout + result.stderr


def test_validate_reports_it_at_the_keyword_at_fault(invoke_cli: RunCli) -> None:
    result = invoke_cli("validate", "--format", "json", str(EXCLUDING))
    assert result.returncode == 1
    [file] = json.loads(result.stdout)["files"]
    [finding] = [f for f in file["findings"] if f["code"] == "RESULT_SCHEMA_EXCLUDES_OUTCOME"]
    assert (finding["line"], finding["column"]) == (18, 29)
    assert finding["path"] == "$.steps[1].result_schema.additionalProperties"
    assert finding["step"] == "route"
