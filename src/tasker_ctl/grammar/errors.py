"""Errors of the action grammar: raised while a composition runs, while its expressions are
evaluated or its files and vocabulary are read. Design-time problems are findings, not errors.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tasker_ctl.errors import TaskerError, UsageError


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


class ApprovalPending(GatePending):
    """A gate waiting for its decision, with what the approver should be shown."""

    def __init__(
        self,
        prompt: str,
        *,
        approvers: list[str] | None = None,
        summary: Any = None,
        invocation_index: int | None = None,
    ) -> None:
        super().__init__(prompt, approvers=approvers)
        self.summary = summary
        self.invocation_index = invocation_index


class PatternError(GrammarError):
    """A pattern reference cannot be expanded: the pattern is unknown or its config is wrong."""

    code = "PATTERN_INVALID"


class UnknownVocabularyError(GrammarError):
    """A vocabulary was asked for a capability or pattern the grammar does not have."""

    code = "UNKNOWN_VOCABULARY"


class CompositionFileError(UsageError):
    """A composition file cannot be used (unparsable, not a composition, no such step)."""

    code = "COMPOSITION_FILE_INVALID"


class FixtureFileError(UsageError):
    """A simulation fixture file cannot be used."""

    code = "FIXTURE_INVALID"


# -- jq expressions -----------------------------------------------------------------------------


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


# The evaluator's own signals below never reach a user: the sandbox turns them into an
# ExpressionError, and path analysis into "reads everything".


class ParseError(Exception):
    """The expression parser cannot read the tokens (``expressions._parser``)."""


class BudgetExceeded(Exception):
    """Path analysis passed its step budget (``expressions._analyzer``)."""


class DeadlineExceeded(Exception):
    """The exchange with an evaluator process did not complete before its deadline."""


class WorkerStopped(Exception):
    """The evaluator process exited or closed its pipes; ``str()`` says how, for the author."""


# -- acquire's connection guards ------------------------------------------------------------------


class BodyTooLarge(Exception):
    """A response body passes the cap: ``what`` says how it was known (announced, sent,
    inflated). ``http`` turns it into an ``InvocationError``."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class BodyUndecodable(Exception):
    """A response body's content coding is unknown, or the body does not decode."""
