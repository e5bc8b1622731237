"""Handlers of examples/grammar/orders.yaml; the middle step is a composition, not code."""

from __future__ import annotations

from tasker_ctl.sdk.step_handler.functional import depends_on, inputs, step_handler


@step_handler("examples.grammar.load_order")
@inputs("order_id")
def load_order(order_id):
    # quantities come as strings, as from a form: the composition's validate coerces them
    return {
        "order_id": order_id,
        "lines": [
            {"sku": "KB-01", "quantity": "2", "unit_price": 45.0},
            {"sku": "MS-07", "quantity": "1", "unit_price": 30.0},
        ],
    }


@step_handler("examples.grammar.confirm")
@depends_on(priced="price_order")
def confirm(priced):
    return {"confirmed": priced["order_id"], "charged": priced["total"]}
