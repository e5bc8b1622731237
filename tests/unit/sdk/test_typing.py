"""Typed handler code written against the SDK passes ``mypy --strict``.

Generated handler stubs rely on this: the decorators must keep each function's signature.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

TYPED_HANDLERS = """
from __future__ import annotations

from pydantic import BaseModel, Field

from tasker_ctl.sdk import StepContext, StepHandler, StepHandlerResult
from tasker_ctl.sdk.batch_processing import Batchable
from tasker_ctl.sdk.errors import PermanentError
from tasker_ctl.sdk.step_handler.functional import (
    BatchConfig,
    Decision,
    batch_analyzer,
    batch_worker,
    decision_handler,
    depends_on,
    handler_class,
    inputs,
    step_handler,
)
from tasker_ctl.sdk.testing import make_context, run_handler
from tasker_ctl.sdk.types import BatchWorkerContext


class OrderInput(BaseModel):
    order_id: str = Field(alias="orderId")


class CartResult(BaseModel):
    total: float


@step_handler("orders.validate")
@inputs(OrderInput)
@depends_on(cart=("fetch_cart", CartResult))
def validate(inputs: OrderInput, cart: CartResult | None, context: StepContext) -> CartResult:
    if cart is None:
        raise PermanentError("no cart", error_code="NO_CART")
    return CartResult(total=cart.total)


@decision_handler("orders.route")
@depends_on(cart=("fetch_cart", CartResult))
def route(cart: CartResult | None, _context: StepContext) -> Decision:
    if cart is not None and cart.total > 100:
        return Decision.route(["review"], result=cart, tier="high")
    return Decision.skip("small order", result={"checked": True})


@batch_analyzer("orders.analyze", worker_template="orders.worker")
@inputs("row_count")
def analyze(row_count: int) -> BatchConfig:
    return BatchConfig(total_items=row_count, batch_size=100)


@batch_worker("orders.worker")
async def work(batch_context: BatchWorkerContext | None) -> dict[str, int]:
    return {"end": batch_context.end_cursor if batch_context else 0}


class Totals(StepHandler, Batchable):
    handler_name = "orders.Totals"

    async def call(self, context: StepContext) -> StepHandlerResult:
        return self.batch_worker_success(items_processed=len(context.dependency_results))


def exercise() -> float:
    cls: type[StepHandler] = handler_class(validate)
    result: StepHandlerResult = run_handler(validate, make_context(input_data={"orderId": "1"}))
    run_handler(cls, make_context())
    run_handler(Totals(), make_context())
    direct: CartResult = validate(OrderInput(orderId="1"), CartResult(total=1.0), make_context())
    return direct.total + (1.0 if result.is_success else 0.0)
"""

MISUSE = """
from tasker_ctl.sdk.step_handler.functional import inputs, step_handler


@step_handler("typed")
@inputs("n")
def double(n: int) -> int:
    return n * 2


double("not an int")
"""


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    module = tmp_path / "typed_module.py"
    module.write_text(textwrap.dedent(source))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            str(PROJECT_ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            str(module),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_typed_handlers_pass_mypy_strict(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    completed = _mypy(tmp_path, TYPED_HANDLERS)
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.slow
def test_decorators_keep_the_signature(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    completed = _mypy(tmp_path, MISUSE)
    assert completed.returncode == 1
    assert 'Argument 1 to "double" has incompatible type "str"; expected "int"' in completed.stdout
