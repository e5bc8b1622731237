"""Prices: the template's override first, then genai-prices; costs as exact decimals."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tasker_ctl.planning.pricing import Price, cost, find_price, prices_version


@dataclass(frozen=True)
class Override:
    input_usd_per_million: float
    output_usd_per_million: float


def test_an_override_wins_and_keeps_its_decimal_digits() -> None:
    price = find_price("openai", "gpt-4.1-mini", Override(0.1, 0.3))
    assert price == Price(Decimal("0.1"), Decimal("0.3"), "override")


def test_a_known_model_is_priced_from_genai_prices() -> None:
    price = find_price("openai", "gpt-4.1-mini", None)
    assert price is not None
    assert (price.input_per_million, price.output_per_million) == (Decimal("0.4"), Decimal("1.6"))
    assert price.source == f"genai-prices {prices_version()}"


def test_a_tiered_price_takes_its_first_tier() -> None:
    price = find_price("anthropic", "claude-sonnet-4-5", None)
    assert price is not None
    assert price.input_per_million == Decimal("3")


def test_unknown_models_and_local_ones_have_no_price() -> None:
    assert find_price("openai", "no-such-model-anywhere", None) is None
    assert find_price("ollama", "llama3.2", None) is None
    assert find_price("replay", "x.yaml", None) is None


def test_cost_is_exact() -> None:
    price = Price(Decimal("0.1"), Decimal("0.2"), "override")
    # floats would give 3.0000000000000004e-07
    assert cost(price, 1, 1) == Decimal("0.0000003")
    assert cost(price, 1_000_000, 500_000) == Decimal("0.2")
