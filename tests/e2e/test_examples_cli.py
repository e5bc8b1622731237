"""The README's approval and CSV-import examples, run as a user runs them."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_run_cli import RunCli, env, run

__all__ = ["env"]  # the fixture: a fresh database for each test


@pytest.mark.parametrize(
    ("amount", "reviews", "status"),
    [
        (250.0, ["auto_approve"], "approved"),
        (2400.0, ["manager_review"], "approved"),
        (7250.0, ["manager_review", "finance_review"], "approved"),
    ],
)
def test_approval_example_routes_by_amount(
    invoke_cli: RunCli, env: dict[str, str], amount: float, reviews: list[str], status: str
) -> None:
    context = {"amount": amount, "employee_id": "e-1042", "purpose": "conference travel"}
    result = run(
        invoke_cli,
        env,
        "run",
        "examples/approval/approval.yaml",
        "--context",
        json.dumps(context),
        "--handlers",
        "examples/approval/approval_handlers.py",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    steps = {step["name"]: step for step in json.loads(result.stdout)["steps"]}
    assert set(steps) == {"validate_request", "route_by_amount", *reviews, "finalize_approval"}
    assert {steps[name]["created_by"] for name in reviews} == {"decision_point"}
    final = steps["finalize_approval"]["result"]
    assert final["status"] == status
    assert len(final["reviewers"]) == len(reviews)


def test_csv_import_example_imports_in_batches(invoke_cli: RunCli, env: dict[str, str]) -> None:
    result = run(
        invoke_cli,
        env,
        "run",
        "examples/csv_import/csv_import.yaml",
        "--context",
        "@examples/csv_import/context.json",
        "--handlers",
        "examples/csv_import/csv_import_handlers.py",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    steps = {step["name"]: step for step in json.loads(result.stdout)["steps"]}
    workers = sorted(name for name in steps if name.startswith("import_rows_"))
    assert workers == ["import_rows_001", "import_rows_002", "import_rows_003", "import_rows_004"]
    assert all(steps[name]["attempts"] == 1 for name in workers)
    assert steps["summarize_import"]["result"] == {
        "imported": 98,
        "rejected": 2,
        "inventory_value": 106963.76,
        "workers": 4,
    }
