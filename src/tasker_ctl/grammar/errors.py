"""Errors raised while a composition runs. Design-time problems are findings, not errors."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tasker_ctl.errors import TaskerError


class FailureKind(StrEnum):
    """Why an invocation failed; stored with the step's error so an operator can tell."""

    CONFIG_VALIDATION = "config_validation"
    INPUT_VALIDATION = "input_validation"
    OUTPUT_VALIDATION = "output_validation"
    EXPRESSION_EVALUATION = "expression_evaluation"
    TIMEOUT = "timeout"
    RESOURCE_NOT_FOUND = "resource_not_found"
    RESOURCE_UNAVAILABLE = "resource_unavailable"
    CONFLICT = "conflict"
    EXECUTION = "execution"
    GATE_REJECTED = "gate_rejected"


# failures a retry of the step may cure (the world outside changed); the rest are permanent
RETRYABLE_KINDS = frozenset(
    {FailureKind.TIMEOUT, FailureKind.RESOURCE_UNAVAILABLE, FailureKind.EXPRESSION_EVALUATION}
)


class GrammarError(TaskerError):
    """Base of the grammar's run-time errors."""

    code = "GRAMMAR_ERROR"


class InvocationError(GrammarError):
    """One capability invocation failed. ``kind`` says why; ``retryable`` whether trying the
    step again may help."""

    code = "INVOCATION_FAILED"

    def __init__(
        self,
        kind: FailureKind,
        message: str,
        *,
        hint: str | None = None,
        retryable: bool | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind
        self.retryable = kind in RETRYABLE_KINDS if retryable is None else retryable
        self.details = details or {}


class GatePending(GrammarError):
    """A gate has no decision yet: the step waits for ``tasker-ctl task approve|reject``."""

    code = "GATE_PENDING"

    def __init__(self, prompt: str, *, approvers: list[str] | None = None) -> None:
        super().__init__(f"waiting for approval: {prompt}")
        self.prompt = prompt
        self.approvers = approvers or []
