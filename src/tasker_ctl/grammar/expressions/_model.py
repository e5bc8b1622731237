"""Limits of jq expression evaluation (its errors are ``grammar.errors.ExpressionError``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExpressionLimits:
    """Bounds on one evaluation; exceeding any of them is an :class:`ExpressionError`.

    ``timeout_ms`` covers the whole exchange with the evaluator process, serialising the
    input and parsing it included, so a large input needs a larger timeout. Starting an
    evaluator process is not counted.
    """

    timeout_ms: int = 100
    max_output_bytes: int = 1_048_576
    max_outputs: int = 10_000
    memory_mb: int = 256

    def __post_init__(self) -> None:
        for name in ("timeout_ms", "max_output_bytes", "max_outputs", "memory_mb"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ExpressionLimits.{name} must be positive")
