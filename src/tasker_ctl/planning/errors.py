"""Errors of the model layer: choosing a planner, calling a model, replaying a cassette.

A planner's findings about a fragment are not errors (they are ``Finding``s); these classes are
for what stops a planning attempt before there is a fragment to judge. Each has a stable code;
``PlannerCallFailed`` also says whether trying again may help, and after how long.
"""

from __future__ import annotations

from tasker_ctl.errors import TaskerError, UsageError

INSTALL_PLANNING = "pip install 'tasker-ctl[planning]'"


class PlannerExtraMissing(UsageError):
    """A planner that calls a model is wanted, but the ``[planning]`` extra is not installed."""

    code = "PLANNING_EXTRA_MISSING"

    def __init__(self, missing: str) -> None:
        super().__init__(
            f"asking a model for a plan needs the planning extra ({missing} cannot be imported)",
            hint=f"install it: {INSTALL_PLANNING}; a replay:FILE planner needs no extra",
        )
        self.missing = missing


class PlannerModelInvalid(UsageError):
    """A planner spec (``--planner``, ``planning.model``, ``TASKER_PLANNER_MODEL``) that names
    no planner tasker-ctl can open."""

    code = "PLANNER_MODEL_INVALID"


class PlannerModelMissing(UsageError):
    """A planning step must run, and nothing names the model that plans it."""

    code = "PLANNER_MODEL_MISSING"


class PlannerCallFailed(TaskerError):
    """One call to a model failed. ``code`` is ``PLANNER_CALL_FAILED``, ``PLANNER_RATE_LIMITED``,
    ``PLANNER_TIMEOUT`` or ``PLANNER_ANSWER_TOO_LARGE``; ``retryable`` says whether the same
    call may succeed later, ``retry_after`` how many seconds the provider asked to wait."""

    code = "PLANNER_CALL_FAILED"

    def __init__(
        self,
        message: str,
        *,
        code: str = "PLANNER_CALL_FAILED",
        retryable: bool,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after


class PlanningPromptTooLarge(TaskerError):
    """A planning step's prompt exceeds ``planning.context.prompt_max_tokens`` at worst even with
    every reduction made (tier 2 schemas and examples left out, every context input a
    reference): its fixed parts (goal, instructions, tier 1 vocabulary, bounds, tool schema)
    alone do not fit."""

    code = "PLANNING_PROMPT_TOO_LARGE"

    def __init__(self, message: str, *, needed_tokens: int, max_tokens: int) -> None:
        super().__init__(
            message,
            hint="raise the planning step's planning.context.prompt_max_tokens, or shorten its "
            "goal, prompt or allowed vocabulary",
        )
        self.needed_tokens = needed_tokens
        self.max_tokens = max_tokens


class CassetteError(UsageError):
    """A cassette that cannot be replayed or written: ``CASSETTE_INVALID`` (with where),
    ``CASSETTE_EXHAUSTED`` (more calls than recorded answers) or ``CASSETTE_MISMATCH`` (the
    recorded call was for another fragment schema). Never retryable: replaying again gives the
    same answer."""

    code = "CASSETTE_INVALID"
    retryable = False

    def __init__(
        self, message: str, *, code: str = "CASSETTE_INVALID", hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code


class EvalSuiteError(UsageError):
    """A planner evaluation suite (``tasker-ctl planner eval``) that cannot be read: its file,
    a problem's template, context or expected properties; the message says where."""

    code = "EVAL_SUITE_INVALID"
