"""Limits and errors of jq expression evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tasker_ctl.grammar.errors import GrammarError


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


class ExpressionErrorKind(StrEnum):
    SYNTAX = "syntax"
    FORBIDDEN = "forbidden"
    EVALUATION = "evaluation"
    TIMEOUT = "timeout"
    OUTPUT_TOO_LARGE = "output_too_large"
    TOO_MANY_OUTPUTS = "too_many_outputs"
    EMPTY_OUTPUT = "empty_output"


class ExpressionError(GrammarError):
    """A jq expression could not be compiled or evaluated.

    ``line`` and ``column`` are 1-based positions in the expression as its author wrote it,
    when jq (or the sandbox) could tell where the problem is.
    """

    code = "EXPRESSION_ERROR"

    def __init__(
        self,
        kind: ExpressionErrorKind,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind
        self.line = line
        self.column = column

    def __repr__(self) -> str:
        where = f", line={self.line}, column={self.column}" if self.line is not None else ""
        return f"ExpressionError({self.kind.value!r}, {self.message!r}{where})"
