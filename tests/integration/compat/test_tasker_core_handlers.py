"""Tasker Core's own Python handler modules run unchanged on tasker-ctl's orchestrator.

The handler modules belong to Tasker Core (``crates/tasker-py/tests/handlers`` in its
repository), not to this project: point ``TASKER_CORE_PY_HANDLERS`` at that directory to run
these tests, e.g. ``TASKER_CORE_PY_HANDLERS=~/src/tasker-core/crates/tasker-py/tests/handlers``.
The expected values are those of Tasker Core's end-to-end tests (tests/e2e/python).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tasker_ctl.engine.runner import run_template
from tests.conftest import CORPUS_ROOT

# Read at import: the suite's autouse fixture clears TASKER_* variables before each test.
HANDLERS = os.environ.get("TASKER_CORE_PY_HANDLERS")
TEMPLATES = CORPUS_ROOT / "tests" / "fixtures" / "task_templates" / "python"

pytestmark = [
    pytest.mark.skipif(
        not HANDLERS,
        reason="set TASKER_CORE_PY_HANDLERS to Tasker Core's crates/tasker-py/tests/handlers",
    ),
    pytest.mark.skipif(not TEMPLATES.is_dir(), reason=f"shared corpus not found at {TEMPLATES}"),
]

# template -> (context, final task status, {step name prefix: (state, attempts, result value)})
CASES: dict[str, tuple[dict[str, Any], str, dict[str, tuple[str, int, Any]]]] = {
    "linear_workflow_handler_py.yaml": (
        {"even_number": 6},
        "complete",
        {
            "linear_step_1": ("complete", 1, 36),
            "linear_step_2": ("complete", 1, 46),
            "linear_step_3": ("complete", 1, 138),
            "linear_step_4": ("complete", 1, 69),
        },
    ),
    "diamond_workflow_handler_py.yaml": (
        {"even_number": 6},
        "complete",
        {
            "diamond_start": ("complete", 1, 36),
            "diamond_branch_b": ("complete", 1, 61),
            "diamond_branch_c": ("complete", 1, 72),
            "diamond_end": ("complete", 1, 66.5),
        },
    ),
    "success_only_py.yaml": (
        {"message": "Hello from Python E2E test"},
        "complete",
        {"success_step": ("complete", 1, None)},
    ),
    "permanent_error_only_py.yaml": (
        {"error_message": "Permanent failure from Python"},
        "blocked_by_failures",
        {"permanent_error_step": ("error", 1, None)},
    ),
    "retryable_error_only_py.yaml": (
        {"error_message": "Temporary failure from Python - will retry"},
        "blocked_by_failures",
        {"retryable_error_step": ("error", 3, None)},
    ),
}
STYLES = {"class": "", "decorator": "_dsl"}


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("template", sorted(CASES))
def test_tasker_core_handlers(template: str, style: str, database_url: str) -> None:
    context, status, expected = CASES[template]
    file = TEMPLATES / template.replace("_py.yaml", f"{STYLES[style]}_py.yaml")
    assert file.is_file(), file
    report = run_template(
        file,
        context=context,
        handlers=[str(Path(str(HANDLERS)))],
        database_url=database_url,
        timeout=60,
    )
    assert report.status == status, report
    assert len(report.steps) == len(expected)
    for step in report.steps:
        prefix = next(name for name in expected if step.name.startswith(name))
        state, attempts, value = expected[prefix]
        assert (step.name, step.state, step.attempts) == (step.name, state, attempts)
        if value is not None:
            assert step.result is not None
            assert step.result["result"] == value


# amount -> the steps that exist (a decision point creates the branches it routes to)
APPROVAL_ROUTES = {
    500: ("auto_approve",),
    2500: ("manager_approval",),
    10000: ("manager_approval", "finance_review"),
}


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("amount", sorted(APPROVAL_ROUTES))
def test_tasker_core_conditional_approval(amount: int, style: str, database_url: str) -> None:
    file = TEMPLATES / f"conditional_approval_handler{STYLES[style]}_py.yaml"
    report = run_template(
        file,
        context={"amount": amount, "requester": "e2e", "purpose": "routing test"},
        handlers=[str(Path(str(HANDLERS)))],
        database_url=database_url,
        timeout=60,
    )
    assert report.status == "complete", report
    branches = APPROVAL_ROUTES[amount]
    expected = ("validate_request", "routing_decision", *branches, "finalize_approval")
    names = [step.name for step in report.steps]
    assert sorted(names) == sorted(f"{name}{STYLES[style]}_py" for name in expected)
    assert all((step.state, step.attempts) == ("complete", 1) for step in report.steps)
    decision = next(step for step in report.steps if step.name.startswith("routing_decision"))
    assert decision.result is not None
    outcome = decision.result["decision_point_outcome"]
    assert outcome["type"] == "create_steps"
    assert sorted(outcome["step_names"]) == sorted(f"{b}{STYLES[style]}_py" for b in branches)
