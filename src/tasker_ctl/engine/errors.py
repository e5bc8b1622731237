"""Errors of the orchestrator: what its callers are expected to handle, and the few signals
that pass between the worker's own parts.

Every engine error class lives here, whatever part of the engine raises it, so that the CLI
and the reports import them from one public module (``tasker_ctl.engine.errors``). The whole
tree, with the codes, is drawn in ``tasker_ctl.errors``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tasker_ctl.errors import DatabaseError, ExitCode, TaskerError, UsageError

if TYPE_CHECKING:
    from datetime import datetime

    from tasker_ctl.storable import Unstorable


# -- creating and growing tasks -----------------------------------------------------------------


class InvalidContextError(TaskerError):
    """A task's context does not satisfy its template's input_schema; nothing was created."""

    code = "INVALID_CONTEXT"
    exit_code = ExitCode.USAGE

    def __init__(self, message: str, violations: list[str], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.violations = violations


class DuplicateTaskError(TaskerError):
    """A task with the same identity (template and context) already exists."""

    code = "DUPLICATE_TASK"
    exit_code = ExitCode.USAGE

    def __init__(self, message: str, task_uuid: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.task_uuid = task_uuid


class IdempotencyKeyConflictError(UsageError):
    """A submission's idempotency key names an existing task whose context differs: the key
    stands for one request, so a different request under it is refused, not merged."""

    code = "IDEMPOTENCY_KEY_CONFLICT"

    def __init__(self, message: str, task_uuid: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.task_uuid = task_uuid


class HandlerNotFoundError(TaskerError):
    """No handler is registered for a step's callable."""

    code = "HANDLER_NOT_FOUND"
    exit_code = ExitCode.USAGE


class DependencyCycleError(TaskerError):
    """The template's steps depend on each other in a cycle: such a task could never finish."""

    code = "CYCLE_DETECTED"
    exit_code = ExitCode.USAGE

    def __init__(self, message: str, cycles: list[list[str]], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.cycles = cycles


class ChainLimitError(TaskerError):
    """Creating a task would pass a limit of the delegation chain it joins (the chain root's
    ``chain_limits``); nothing was created."""

    code = "CHAIN_LIMIT_EXCEEDED"
    exit_code = ExitCode.USAGE

    def __init__(
        self, message: str, chain_root: str, limit: str, observed: str, *, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.chain_root = chain_root
        self.limit = limit
        self.observed = observed


class ChainDepthExceededError(ChainLimitError):
    """The new task would sit deeper below the chain's root than its ``max_depth``."""

    code = "CHAIN_DEPTH_EXCEEDED"


class ChainTasksExceededError(ChainLimitError):
    """The chain already holds its ``max_tasks`` tasks."""

    code = "CHAIN_TASKS_EXCEEDED"


class ChainBudgetExhaustedError(ChainLimitError):
    """The chain's tasks have together spent its cost, token or call limit."""

    code = "CHAIN_BUDGET_EXHAUSTED"


class ChainLimitsInvalidError(UsageError):
    """Chain limits given to a submission are not numbers a chain block would accept."""

    code = "CHAIN_LIMITS_INVALID"


class ChainLimitsNotAtRootError(UsageError):
    """Chain limits were given for a task that joins a chain: only its root's limits hold."""

    code = "CHAIN_LIMITS_NOT_AT_ROOT"


class GrowthOutcomeError(ValueError):
    """A step's result asks the graph to grow in a way it cannot; ``code`` says why
    (``rules.decisions``, ``rules.batches``). The step fails with that code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class DecisionOutcomeError(GrowthOutcomeError):
    """A decision step's result cannot be acted on; ``code`` says why."""


class BatchOutcomeError(GrowthOutcomeError):
    """A batchable step's result cannot be acted on; ``code`` says why."""


class InvalidLedgerEntryError(UsageError):
    """A ledger entry names an unknown resource or kind, or a negative amount."""

    code = "INVALID_LEDGER_ENTRY"


# -- naming tasks, steps and windows ------------------------------------------------------------


class InvalidTaskReferenceError(UsageError):
    """A task named on the command line is neither a UUID, a UUID prefix, nor 'latest'."""

    code = "INVALID_TASK_REFERENCE"


class AmbiguousTaskReferenceError(UsageError):
    """A UUID prefix names more than one task."""

    code = "AMBIGUOUS_TASK_REFERENCE"


class TaskNotFoundError(UsageError, LookupError):
    """A task named on the command line does not exist in the database."""

    code = "TASK_NOT_FOUND"


class StepNotFoundError(UsageError, LookupError):
    """A command (an operator's repair, a gate decision, an inspection) names a step that its
    task does not have."""

    code = "STEP_NOT_FOUND"


class UnknownTaskStatusError(UsageError):
    """``task list --status`` names a state that tasks do not have."""

    code = "UNKNOWN_TASK_STATUS"


class InvalidSinceError(UsageError):
    """``--since`` is neither a duration (``90m``, ``24h``, ``7d``) nor an ISO-8601 time."""

    code = "INVALID_SINCE"


class InvalidCursorError(UsageError):
    """``task list --after`` is not a cursor a listing printed."""

    code = "INVALID_CURSOR"


class InvalidTemplateFilterError(UsageError):
    """``task list --template`` is not ``NAME``, ``NAMESPACE/NAME`` or
    ``NAMESPACE/NAME@VERSION``."""

    code = "INVALID_TEMPLATE_FILTER"


class InvalidNamespaceError(UsageError):
    """``--namespace`` is blank."""

    code = "INVALID_NAMESPACE"


class InvalidLimitError(UsageError):
    """A listing was asked for with a limit below 1."""

    code = "INVALID_LIMIT"


# -- operator repairs and gates -----------------------------------------------------------------


class TaskFinishedError(UsageError):
    """An operator command would change a task that has already finished (a terminal state)."""

    code = "TASK_ALREADY_FINISHED"


class StepStateError(UsageError):
    """An operator command cannot act on a step in its current state."""

    code = "STEP_STATE_INVALID"


class StepRunningError(StepStateError):
    """A step has an attempt running; settling it by hand needs ``--force``."""

    code = "STEP_RUNNING"


class StepWaitingForParentsError(StepStateError):
    """A step cannot be settled by hand before all its parents have finished."""

    code = "STEP_WAITING_FOR_PARENTS"


class MissingReasonError(UsageError):
    """An operator command was given no reason (``--reason``) for its change."""

    code = "REASON_REQUIRED"


class ResultJsonError(UsageError):
    """A manual step result is not JSON, or not a JSON object."""

    code = "INVALID_RESULT_JSON"


class ResultSchemaViolationError(UsageError):
    """A manual step result breaks its step's ``result_schema``; nothing was changed."""

    code = "RESULT_SCHEMA_VIOLATION"

    def __init__(self, message: str, violations: list[str], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.violations = violations


class ManualResultError(UsageError):
    """A manual step result cannot be acted on (a decision step's outcome names steps it may
    not create, say); ``code`` is the engine's code for the problem."""

    code = "MANUAL_RESULT_INVALID"

    def __init__(self, message: str, code: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


class ManualCompletionUnsupportedError(UsageError):
    """A step cannot be completed by hand: its template definition is gone, or its kind of
    result would have to grow the task in ways only its handler's run does."""

    code = "MANUAL_COMPLETION_UNSUPPORTED"


class FragmentRejectedError(TaskerError):
    """A fragment an operator supplied for a planning step has validation errors; nothing
    was changed. ``findings`` holds every one (code, stage, path, message, hint)."""

    code = "FRAGMENT_REJECTED"
    exit_code = ExitCode.FINDINGS

    def __init__(
        self, message: str, findings: list[dict[str, Any]], *, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.findings = findings


class NotAwaitingApprovalError(UsageError):
    """The step named does not wait at a gate."""

    code = "NOT_AWAITING_APPROVAL"


class ApproverNotAllowedError(UsageError):
    """The gate names who may decide, and the actor is not among them."""

    code = "APPROVER_NOT_ALLOWED"


# -- the dead-letter queue and staleness sweeps -------------------------------------------------


class InvalidDlqEntryIdError(UsageError):
    """A DLQ entry was named by something that is not a UUID."""

    code = "INVALID_DLQ_ENTRY_UUID"


class DlqEntryNotFoundError(UsageError, LookupError):
    """No DLQ entry has the UUID given."""

    code = "DLQ_ENTRY_NOT_FOUND"


class InvalidResolutionStatusError(UsageError):
    """A resolution status (or a status filter) is not one of the DLQ's statuses."""

    code = "INVALID_RESOLUTION_STATUS"


class ResolutionNotesRequiredError(UsageError):
    """A resolution was given no notes: the record must say what was done and why."""

    code = "RESOLUTION_NOTES_REQUIRED"


class InvalidResolverError(UsageError):
    """The name recorded as the resolver is empty or longer than the column holds."""

    code = "INVALID_RESOLVER"


class DlqEntryAlreadyResolvedError(TaskerError):
    """The entry was resolved before: a resolution is recorded once and never overwritten."""

    code = "DLQ_ENTRY_ALREADY_RESOLVED"
    exit_code = ExitCode.FINDINGS

    def __init__(
        self,
        message: str,
        *,
        status: str,
        resolved_by: str | None,
        resolved_at: datetime | None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.resolved_by = resolved_by
        self.resolved_at = resolved_at


class InvalidSweepOptionError(UsageError):
    """A staleness sweep was asked for with a limit, interval or threshold that cannot work."""

    code = "INVALID_SWEEP_OPTION"


# -- workers ------------------------------------------------------------------------------------


class HandlerLoadError(UsageError):
    """A ``--handlers`` entry could not be imported."""

    code = "HANDLERS_NOT_LOADED"


class WorkerThreadDiedError(TaskerError):
    """A worker thread ended with an exception the engine does not expect (a bug): the
    process ends with a non-zero exit code so that a supervisor restarts it."""

    code = "WORKER_THREAD_DIED"
    exit_code = ExitCode.INTERNAL


class WorkerProcessDiedError(TaskerError):
    """A worker process of ``run --processes`` ended with a non-zero exit code; its own error
    was printed by it."""

    code = "WORKER_PROCESS_DIED"
    exit_code = ExitCode.INTERNAL


class ReconnectAbandoned(Exception):
    """The waiter gave up on reconnecting because it no longer needs the database (it was
    asked to stop and holds nothing to record); ``error`` is the lost connection's
    (``store.reconnect``)."""

    def __init__(self, error: DatabaseError) -> None:
        super().__init__(str(error))
        self.error = error


# Signals between the worker's parts below: each ends as the attempt's recorded failure (a
# timeout, handler_aborted, result_not_storable), never as an error a command reports.


class StepTimeoutError(Exception):
    """The handler ran past the step's ``timeout_seconds`` (kept apart from ``TimeoutError``
    that a handler raises itself, which is the handler's own failure)."""


class PlanningFailure(Exception):
    """Why a planning step's attempt ends without a fragment (no valid answer, a budget that
    cannot cover the next call, a failed model call): a coded failure, recorded as the
    step's (``worker/planning_answers.failure_result``)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        findings: Sequence[Any] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.findings = list(findings)
        self.hint = hint


class AwaitingReplan(Exception):
    """A planning step's replan waits for an approver: the step parks with ``gate`` (a
    ``GateWait``) until ``task approve|reject`` decides (``worker/planning_replans.py``)."""

    def __init__(self, gate: Any) -> None:
        super().__init__("waiting for a replan's approval")
        self.gate = gate


class HandlerDeadlineExceeded(Exception):
    """The handler ran past its timeout; its handler process was killed."""


class HandlerAbortedError(Exception):
    """A handler raised a ``BaseException`` on the thread it ran on (carried to the caller's
    thread as an ordinary exception, so that only the executor decides what it means)."""

    def __init__(self, aborted: BaseException) -> None:
        super().__init__(type(aborted).__name__)
        self.aborted = aborted


class NotStorableError(Exception):
    """A value the attempt produced on its way (a composition's checkpoint) cannot be stored:
    the attempt fails as ``worker.stored_outcome.not_storable`` says for ``step_name`` and
    ``problem``."""

    def __init__(self, step_name: str, problem: Unstorable) -> None:
        super().__init__(str(problem))
        self.step_name = step_name
        self.problem = problem
