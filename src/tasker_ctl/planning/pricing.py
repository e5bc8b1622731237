"""What a model call costs: the template's price override, else genai-prices' table.

Prices are exact ``Decimal`` US dollars per million tokens, and so are costs: the budget ledger
adds them up, and a float's rounding would make 0.1 + 0.2 exceed a 0.3 budget. genai-prices
(part of the ``[planning]`` extra) is imported only when a price is looked up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

OVERRIDE_SOURCE = "override"
MILLION = Decimal(1_000_000)
# tasker-ctl's provider names -> genai-prices' (an Ollama model runs on the operator's machine:
# no price unless the template gives one)
_PRICED_PROVIDERS = {"openai": "openai", "anthropic": "anthropic"}


class PriceOverride(Protocol):
    """The template's ``planning.price``: what the operator pays, whatever the table says."""

    @property
    def input_usd_per_million(self) -> Any: ...

    @property
    def output_usd_per_million(self) -> Any: ...


@dataclass(frozen=True)
class Price:
    """US dollars per million input and output tokens, and where the figures came from
    (``override`` or ``genai-prices <version>``)."""

    input_per_million: Decimal
    output_per_million: Decimal
    source: str


def _decimal(value: Any) -> Decimal:
    # str() first: Decimal(0.1) would keep the float's binary error
    return value if isinstance(value, Decimal) else Decimal(str(value))


def find_price(provider: str, model: str, override: PriceOverride | None) -> Price | None:
    """The price of ``model`` at ``provider``: the override when given, else genai-prices'
    entry; None when neither knows the model (or genai-prices is not installed)."""
    if override is not None:
        return Price(
            _decimal(override.input_usd_per_million),
            _decimal(override.output_usd_per_million),
            OVERRIDE_SOURCE,
        )
    provider_id = _PRICED_PROVIDERS.get(provider)
    if provider_id is None:
        return None
    try:
        import genai_prices
    except ImportError:
        return None
    try:
        calculation = genai_prices.calc_price(
            genai_prices.Usage(input_tokens=0, output_tokens=0),
            model_ref=model,
            provider_id=provider_id,
        )
    except LookupError:
        return None
    model_price = calculation.model_price
    input_price = _base(model_price.input_mtok)
    output_price = _base(model_price.output_mtok)
    if input_price is None or output_price is None:
        return None
    return Price(input_price, output_price, f"genai-prices {prices_version()}")


def _base(value: Any) -> Decimal | None:
    """A flat price as is; a tiered one's first tier (planning requests stay far below the
    next threshold, 200k tokens for the models that have one)."""
    if value is None:
        return None
    if isinstance(value, Decimal | int | float):
        return _decimal(value)
    base = getattr(value, "base", None)
    return None if base is None else _decimal(base)


def cost(price: Price, tokens_in: int, tokens_out: int) -> Decimal:
    """The exact cost in US dollars of a call with these token counts."""
    return (
        price.input_per_million * Decimal(tokens_in)
        + price.output_per_million * Decimal(tokens_out)
    ) / MILLION


def prices_version() -> str:
    """The version of genai-prices' table in use, or ``override`` when it is not installed."""
    from importlib import metadata

    try:
        return metadata.version("genai-prices")
    except metadata.PackageNotFoundError:
        return OVERRIDE_SOURCE
