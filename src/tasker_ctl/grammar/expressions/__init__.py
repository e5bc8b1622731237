"""jq expressions of the action grammar, evaluated in a sandbox.

Expressions read an envelope ``{context, deps, prev, step}`` of plain JSON. The sandbox
denies everything that would make a result depend on more than that input (clock,
environment, further inputs, modules, diagnostics channels), bounds time, memory and output,
and runs jq in helper processes so that a runaway expression can be stopped.
:func:`check_syntax` validates without evaluating; :func:`referenced_paths` tells which
envelope paths an expression reads.
"""

from __future__ import annotations

from typing import Any

from tasker_ctl.grammar.errors import ExpressionError, ExpressionErrorKind
from tasker_ctl.grammar.expressions._model import ExpressionLimits
from tasker_ctl.grammar.expressions._paths import PathRef, referenced_paths
from tasker_ctl.grammar.expressions._sandbox import run, shutdown_sandboxes
from tasker_ctl.grammar.expressions._syntax import check_syntax

__all__ = [
    "ExpressionError",
    "ExpressionErrorKind",
    "ExpressionLimits",
    "PathRef",
    "check_syntax",
    "evaluate",
    "evaluate_all",
    "is_truthy",
    "referenced_paths",
    "shutdown_sandboxes",
]


def evaluate(expression: str, value: Any, limits: ExpressionLimits | None = None) -> Any:
    """The first output of ``expression`` applied to ``value``; later outputs are not
    computed. Raises :class:`ExpressionError` (EMPTY_OUTPUT when there is no output)."""
    outputs = run(expression, value, limits, first=True)
    if not outputs:
        raise ExpressionError(
            ExpressionErrorKind.EMPTY_OUTPUT,
            "the expression produced no output",
            hint="an expression that must yield a value cannot end in empty or a failed select",
        )
    return outputs[0]


def evaluate_all(expression: str, value: Any, limits: ExpressionLimits | None = None) -> list[Any]:
    """Every output of ``expression`` applied to ``value``, in order (possibly none)."""
    return run(expression, value, limits, first=False)


def is_truthy(value: Any) -> bool:
    """jq's truthiness: only null and false are false (0, "" and [] are true)."""
    return value is not None and value is not False
