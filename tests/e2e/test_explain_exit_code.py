"""``tasker-ctl composition explain``: a simulation that fails exits 1, one that completes 0."""

from __future__ import annotations

import json

from tests.conftest import PROJECT_ROOT
from tests.e2e.conftest import RunCli, assert_no_traceback

ORDERS = str(PROJECT_ROOT / "examples/grammar/orders.yaml")
CONTEXT = json.dumps({"order_id": "A1", "discount_pct": 10})


def explain(invoke_cli: RunCli, lines: object, *extra: str) -> tuple[int, str, str]:
    deps = json.dumps({"load_order": {"order_id": "A1", "lines": lines}})
    result = invoke_cli(
        "composition",
        "explain",
        ORDERS,
        "--step",
        "price_order",
        "--sample-context",
        CONTEXT,
        "--sample-deps",
        deps,
        *extra,
    )
    assert_no_traceback(result)
    return result.returncode, result.stdout, result.stderr


def test_a_failing_simulation_exits_1(run_cli: RunCli) -> None:
    code, out, err = explain(run_cli, "not a list", "--json")
    assert code == 1
    trace = json.loads(out)
    assert trace["failure"]["kind"] == "output_validation"
    assert "simulation failed at invocation 0: output_validation: " in err
    code, out, err = explain(run_cli, "not a list")
    assert code == 1
    assert "[0] transform  failed" in out
    assert "must be of type array" in err


def test_a_completed_simulation_exits_0(invoke_cli: RunCli) -> None:
    code, out, _ = explain(invoke_cli, [{"sku": "x", "quantity": "2", "unit_price": 5}], "--json")
    assert code == 0
    assert json.loads(out)["failure"] is None
