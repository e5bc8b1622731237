"""Tasks brought to rest each way, from the shipped examples: completed, blocked by a failed
step, and waiting at a gate. Tests that need a task in each state run these."""

from __future__ import annotations

import uuid
from pathlib import Path

from tasker_ctl.engine import run_template
from tasker_ctl.engine.views.task_report import TaskReport
from tests.integration.engine.test_gates import HANDLERS as GATE_HANDLERS
from tests.integration.engine.test_gates import TEMPLATE as GATE_TEMPLATE

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# the step the approval example fails at, and the gate of the refund template
FAILED_STEP = "validate_request"
GATE_STEP = "approve_refund"


def finished_linear(database_url: str, even_number: int) -> TaskReport:
    """The linear example, run to completion (``even_number`` makes each task its own)."""
    return run_template(
        EXAMPLES / "linear/linear.yaml",
        context={"even_number": even_number},
        handlers=[str(EXAMPLES / "linear/linear_handlers.py")],
        database_url=database_url,
        timeout=60,
    )


def blocked_approval(database_url: str) -> TaskReport:
    """The approval example with an amount its validation refuses: blocked by a failure."""
    return run_template(
        EXAMPLES / "approval/approval.yaml",
        context={"amount": 250000, "employee_id": "e-7", "purpose": "a yacht"},
        handlers=[str(EXAMPLES / "approval/approval_handlers.py")],
        database_url=database_url,
        timeout=60,
    )


def gated_refund(database_url: str, folder: Path) -> TaskReport:
    """A refund that waits at its gate (its template and handlers written into ``folder``)."""
    return run_written(database_url, folder, "refund", GATE_TEMPLATE, GATE_HANDLERS)


def run_written(
    database_url: str, folder: Path, name: str, template: str, handlers: str
) -> TaskReport:
    """Write ``template`` and ``handlers`` into ``folder`` and run the template. The handlers'
    module has a name of its own, so that runs in one process do not share it."""
    (folder / f"{name}.yaml").write_text(template, encoding="utf-8")
    module = folder / f"{name}_handlers_{uuid.uuid4().hex[:8]}.py"
    module.write_text(handlers, encoding="utf-8")
    return run_template(
        folder / f"{name}.yaml",
        context={},
        handlers=[str(module)],
        database_url=database_url,
        timeout=60,
    )
