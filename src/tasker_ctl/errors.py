"""The single exception hierarchy of tasker-ctl, with stable error codes and exit codes.

Validation findings are *collected* into reports (see ``tasker_ctl.template.diagnostics``);
exceptions are for conditions that stop an operation: bad command-line input, unreadable
paths, environment problems. The CLI maps every ``TaskerError`` to a message and an exit code
(2 unless the tree says otherwise; 1 is findings or a failed task, 3 an internal error).

Every exception class tasker-ctl defines lives in this module or in its package's own
``errors`` module, and is drawn below under its base, with its code. A name without a prefix
is defined here; ``engine.X`` is ``tasker_ctl.engine.errors.X``, and ``grammar.``,
``codegen.``, ``planning.``, ``mcp.``, ``telemetry.``, ``preload.`` and ``sdk.`` likewise.
"per raise": each raise gives the code (or exit code), the one shown is the default; "its
parent's code": the class shares its base's code on purpose. The classes without a code
(``-``) never reach a user as such: each becomes a finding, a step's failure, a retry or an
error with a code.
``sdk.TaskerError`` is a hierarchy of its own, the exceptions a handler raises (``retryable``
or ``permanent``). Only a private exception raised and caught inside one module (a leading
underscore) stays beside its use. ``tests/unit/test_error_tree.py`` fails when a class is
missing from the tree, or drawn under another base or with another code than it has.

    Exception
      TaskerError                                   TASKER_ERROR
        UsageError                                  USAGE_ERROR
          PathNotFoundError                         PATH_NOT_FOUND
          NoTemplatesFoundError                     NO_TEMPLATES_FOUND
          UnknownEnvironmentError                   UNKNOWN_ENVIRONMENT
          ConfirmationRequiredError                 CONFIRMATION_REQUIRED
          ContextJsonError                          INVALID_CONTEXT_JSON
          SampleJsonError                           INVALID_SAMPLE_JSON
          JsonInputError                            JSON_INVALID (code per raise)
          PolicyError                               POLICY_INVALID
          PlanningStepError                         PLANNING_STEP_INVALID
          FragmentFileError                         FRAGMENT_FILE_INVALID
          ProjectConfigError                        PROJECT_CONFIG_INVALID
          SettingError                              SETTING_INVALID
          SchemaUnusableError                       SCHEMA_UNUSABLE
            SchemaRefError                          SCHEMA_REF_UNRESOLVABLE
          TemplateSpecError                         TEMPLATE_SPEC_INVALID
          TemplateStepNotFoundError                 TEMPLATE_STEP_NOT_FOUND
          engine.InvalidLedgerEntryError            INVALID_LEDGER_ENTRY
          engine.InvalidTaskReferenceError          INVALID_TASK_REFERENCE
          engine.AmbiguousTaskReferenceError        AMBIGUOUS_TASK_REFERENCE
          engine.TaskNotFoundError                  TASK_NOT_FOUND (also LookupError)
          engine.StepNotFoundError                  STEP_NOT_FOUND (also LookupError)
          engine.UnknownTaskStatusError             UNKNOWN_TASK_STATUS
          engine.InvalidSinceError                  INVALID_SINCE
          engine.InvalidCursorError                 INVALID_CURSOR
          engine.InvalidTemplateFilterError         INVALID_TEMPLATE_FILTER
          engine.InvalidNamespaceError              INVALID_NAMESPACE
          engine.InvalidLimitError                  INVALID_LIMIT
          engine.TaskFinishedError                  TASK_ALREADY_FINISHED
          engine.StepStateError                     STEP_STATE_INVALID
            engine.StepRunningError                 STEP_RUNNING
            engine.StepWaitingForParentsError       STEP_WAITING_FOR_PARENTS
          engine.MissingReasonError                 REASON_REQUIRED
          engine.ResultJsonError                    INVALID_RESULT_JSON
          engine.ResultSchemaViolationError         RESULT_SCHEMA_VIOLATION
          engine.ManualResultError                  MANUAL_RESULT_INVALID (code per raise)
          engine.ManualCompletionUnsupportedError   MANUAL_COMPLETION_UNSUPPORTED
          engine.NotAwaitingApprovalError           NOT_AWAITING_APPROVAL
          engine.ApproverNotAllowedError            APPROVER_NOT_ALLOWED
          engine.InvalidDlqEntryIdError             INVALID_DLQ_ENTRY_UUID
          engine.DlqEntryNotFoundError              DLQ_ENTRY_NOT_FOUND (also LookupError)
          engine.InvalidResolutionStatusError       INVALID_RESOLUTION_STATUS
          engine.ResolutionNotesRequiredError       RESOLUTION_NOTES_REQUIRED
          engine.InvalidResolverError               INVALID_RESOLVER
          engine.InvalidSweepOptionError            INVALID_SWEEP_OPTION
          engine.HandlerLoadError                   HANDLERS_NOT_LOADED
          engine.ChainLimitsInvalidError            CHAIN_LIMITS_INVALID
          engine.ChainLimitsNotAtRootError          CHAIN_LIMITS_NOT_AT_ROOT
          engine.IdempotencyKeyConflictError        IDEMPOTENCY_KEY_CONFLICT
          grammar.CompositionFileError              COMPOSITION_FILE_INVALID
          grammar.FixtureFileError                  FIXTURE_INVALID
          telemetry.TelemetryConfigError            TELEMETRY_CONFIG_INVALID
          telemetry.TelemetryExporterMissingError   TELEMETRY_EXPORTER_MISSING
          planning.PlannerExtraMissing              PLANNING_EXTRA_MISSING
          planning.PlannerModelInvalid              PLANNER_MODEL_INVALID
          planning.PlannerModelMissing              PLANNER_MODEL_MISSING
          planning.CassetteError                    CASSETTE_INVALID (code per raise)
          planning.EvalSuiteError                   EVAL_SUITE_INVALID
          mcp.McpExtraMissing                       MCP_EXTRA_MISSING
          mcp.ToolSelectionError                    TOOLS_INVALID
          mcp.PathOutsideProjectError               PATH_OUTSIDE_PROJECT
          mcp.ToolArgumentsError                    TOOL_ARGUMENTS_INVALID
          mcp.WriteNotAllowedError                  WRITE_NOT_ALLOWED
          mcp.ConfirmationInvalidError              CONFIRMATION_INVALID
          mcp.ConfirmationStaleError                CONFIRMATION_STALE
          mcp.CursorInvalidError                    CURSOR_INVALID
        FileReadError                               FILE_UNREADABLE
        TemplateLoadError                           TEMPLATE_INVALID (exit 1)
          codegen.TemplateInvalidError              TEMPLATE_INVALID (exit 1; its parent's code)
        DatabaseError                               DATABASE_ERROR
          DatabaseNotFoundError                     DATABASE_NOT_FOUND
          DatabaseUnavailableError                  DATABASE_UNAVAILABLE
            DatabaseConnectionLostError             DATABASE_UNAVAILABLE (its parent's code)
            DatabaseVersionMismatchError            DATABASE_VERSION_MISMATCH
            EmbeddedAccessError                     EMBEDDED_DIRECTORY_UNREACHABLE
          QueryError                                DATABASE_QUERY_FAILED (exit 3)
          TransactionConflictError                  TRANSACTION_CONFLICT
          ConflictError                             CONFLICT
          EngineStateError                          ENGINE_STATE_ERROR
            InvalidTransitionError                  INVALID_TRANSITION
            StaleAttemptError                       STALE_ATTEMPT
            EntityNotFoundError                     ENTITY_NOT_FOUND
          MigrationError                            MIGRATION_INVALID (exit 3)
          MigrationModifiedError                    MIGRATION_MODIFIED
          SchemaBehindError                         SCHEMA_BEHIND
          SchemaAheadError                          SCHEMA_AHEAD
        QueryFileError                              QUERY_FILE_INVALID (exit 3)
        UnknownQueryError                           UNKNOWN_QUERY (exit 3)
        engine.InvalidContextError                  INVALID_CONTEXT
        engine.DuplicateTaskError                   DUPLICATE_TASK
        engine.HandlerNotFoundError                 HANDLER_NOT_FOUND
        engine.DependencyCycleError                 CYCLE_DETECTED
        engine.ChainLimitError                      CHAIN_LIMIT_EXCEEDED
          engine.ChainDepthExceededError            CHAIN_DEPTH_EXCEEDED
          engine.ChainTasksExceededError            CHAIN_TASKS_EXCEEDED
          engine.ChainBudgetExhaustedError          CHAIN_BUDGET_EXHAUSTED
        engine.DlqEntryAlreadyResolvedError         DLQ_ENTRY_ALREADY_RESOLVED (exit 1)
        engine.FragmentRejectedError                FRAGMENT_REJECTED (exit 1)
        engine.WorkerThreadDiedError                WORKER_THREAD_DIED (exit 3)
        engine.WorkerProcessDiedError               WORKER_PROCESS_DIED (exit 3)
        grammar.GrammarError                        GRAMMAR_ERROR
          grammar.InvocationError                   INVOCATION_FAILED
          grammar.GatePending                       GATE_PENDING
            grammar.ApprovalPending                 GATE_PENDING (its parent's code)
          grammar.PatternError                      PATTERN_INVALID
          grammar.UnknownVocabularyError            UNKNOWN_VOCABULARY
          grammar.ExpressionError                   EXPRESSION_ERROR
        codegen.CodegenError                        CODEGEN_ERROR (exit 1; code and exit per raise)
        planning.PlannerCallFailed                  PLANNER_CALL_FAILED (code per raise)
        planning.PlanningPromptTooLarge             PLANNING_PROMPT_TOO_LARGE
      LimitExceeded                                 - (code per raise)
      engine.ReconnectAbandoned                     -
      engine.StepTimeoutError                       -
      engine.PlanningFailure                        - (code per raise)
      engine.AwaitingReplan                         -
      engine.HandlerDeadlineExceeded                -
      engine.HandlerAbortedError                    -
      engine.NotStorableError                       -
      grammar.ParseError                            -
      grammar.BudgetExceeded                        -
      grammar.DeadlineExceeded                      -
      grammar.WorkerStopped                         -
      grammar.BodyTooLarge                          -
      grammar.BodyUndecodable                       -
      preload.WireError                             -
      sdk.TaskerError                               - (retryable)
        sdk.RetryableError                          - (retryable)
          sdk.TimeoutError                          - (retryable)
          sdk.NetworkError                          - (retryable)
          sdk.RateLimitError                        - (retryable)
          sdk.ServiceUnavailableError               - (retryable)
          sdk.ResourceContentionError               - (retryable)
        sdk.PermanentError                          - (permanent)
          sdk.ValidationError                       - (permanent)
          sdk.NotFoundError                         - (permanent)
          sdk.AuthenticationError                   - (permanent)
          sdk.AuthorizationError                    - (permanent)
          sdk.ConfigurationError                    - (permanent)
          sdk.BusinessLogicError                    - (permanent)
        sdk.FFIError                                - (retryable)
    ValueError
      engine.GrowthOutcomeError                     - (code per raise)
        engine.DecisionOutcomeError                 - (code per raise)
        engine.BatchOutcomeError                    - (code per raise)
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes shared by every command."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    INTERNAL = 3


class TaskerError(Exception):
    """Base class of every error tasker-ctl raises on purpose."""

    code: str = "TASKER_ERROR"
    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(TaskerError):
    """The command was called with arguments that cannot work."""

    code = "USAGE_ERROR"


class PathNotFoundError(UsageError):
    """A path named on the command line does not exist or a glob matched nothing."""

    code = "PATH_NOT_FOUND"


class NoTemplatesFoundError(UsageError):
    """The paths given contain no TaskTemplate files."""

    code = "NO_TEMPLATES_FOUND"


class FileReadError(TaskerError):
    """A file exists but cannot be read (permissions, I/O failure)."""

    code = "FILE_UNREADABLE"


class TemplateLoadError(TaskerError):
    """A single template was required but it has errors (raised by ``load_template``)."""

    code = "TEMPLATE_INVALID"
    exit_code = ExitCode.FINDINGS


class UnknownEnvironmentError(UsageError):
    """``--environment`` names an environment the template does not declare."""

    code = "UNKNOWN_ENVIRONMENT"


class ConfirmationRequiredError(UsageError):
    """A destructive command needs explicit confirmation (``--yes``) when not interactive."""

    code = "CONFIRMATION_REQUIRED"


class ContextJsonError(UsageError):
    """``--context`` is not JSON, or not a JSON object."""

    code = "INVALID_CONTEXT_JSON"


class SampleJsonError(UsageError):
    """A ``--sample-*`` or ``--mock-outputs`` value is not the JSON it should be."""

    code = "INVALID_SAMPLE_JSON"


class JsonInputError(UsageError):
    """JSON text that cannot be used (``bounded_json.loads``). ``code`` is one of
    ``INPUT_TOO_LARGE``, ``INPUT_TOO_DEEP``, ``NUMBER_TOO_LARGE``, ``NUMBER_NOT_FINITE``,
    ``TEXT_NOT_STORABLE`` (``\\u0000`` or a lone surrogate), ``ENCODING_ERROR`` (not UTF-8) and
    ``JSON_SYNTAX``; callers usually re-raise it under the code of what they read (an option's,
    a result's)."""

    code = "JSON_INVALID"

    def __init__(self, code: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


class PolicyError(UsageError):
    """The operator's policy itself is malformed (a variable or an option)."""

    code = "POLICY_INVALID"


class PlanningStepError(UsageError):
    """A step named as a planning step (``--step``) is not a ``type: planning`` step of the
    template."""

    code = "PLANNING_STEP_INVALID"


class FragmentFileError(UsageError):
    """A fragment file (or standard input) that is not YAML or JSON text."""

    code = "FRAGMENT_FILE_INVALID"


class ProjectConfigError(UsageError):
    """A project configuration (``tasker.toml``, ``[tool.tasker-ctl]`` in ``pyproject.toml``)
    that cannot be used: unreadable, not TOML, an unknown key or a wrong value. The message
    names the file, the key and its line when it can."""

    code = "PROJECT_CONFIG_INVALID"


class SettingError(UsageError):
    """An environment variable of tasker-ctl holds a value it cannot use
    (``TASKER_IDLE_STOP=soon``)."""

    code = "SETTING_INVALID"


class SchemaUnusableError(UsageError):
    """A schema cannot be applied to a value (a malformed ``pattern``, say): it was never
    checked, or checked by another tool."""

    code = "SCHEMA_UNUSABLE"


class SchemaRefError(SchemaUnusableError):
    """A ``$ref`` that leaves its schema's document (or points nowhere in it), met while
    applying the schema (``schema_refs``). ``ref`` is the reference as written."""

    code = "SCHEMA_REF_UNRESOLVABLE"

    def __init__(self, ref: str, *, where: str | None = None) -> None:
        # imported here, not above: this module imports nothing of the project, and the rule
        # for showing a reference (bounded, on one line) and the hint live with the schemas
        from tasker_ctl.schema_refs import REF_HINT, shown_ref

        prefix = f"{where}: " if where else ""
        super().__init__(
            f"{prefix}$ref '{shown_ref(ref)}' does not resolve inside the schema or to a "
            "registered schema, and schemas are never fetched",
            hint=REF_HINT,
        )
        self.ref = ref


class TemplateSpecError(UsageError):
    """A spec ``template generate`` cannot make a template of; ``problems`` lists every
    problem found, each with the path of the spec element at fault, its code and what is
    wrong (the message lists them too, for the command line)."""

    code = "TEMPLATE_SPEC_INVALID"

    def __init__(
        self, message: str, *, problems: list[dict[str, str]], hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems

    @classmethod
    def listing(cls, problems: list[dict[str, str]]) -> TemplateSpecError:
        shown = "".join(
            f"\n  {item['path']}: {item['code']}: {item['problem']}" for item in problems[:50]
        )
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        return cls(
            f"the spec has {len(problems)} problem(s):{shown}{more}",
            problems=problems,
            hint="fix each element named (paths count from 0: steps/1 is the second step)",
        )


class TemplateStepNotFoundError(UsageError):
    """A command names a step its template does not have."""

    code = "TEMPLATE_STEP_NOT_FOUND"


class DatabaseError(TaskerError):
    """A database operation failed; ``sqlstate`` is PostgreSQL's error code when there is one."""

    code = "DATABASE_ERROR"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        sqlstate: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.sqlstate = sqlstate
        self.detail = detail


class DatabaseNotFoundError(DatabaseError):
    """A command that only reads found no database to read: no URL is configured and no
    embedded data directory exists where it looked. Such commands never create one."""

    code = "DATABASE_NOT_FOUND"


class DatabaseUnavailableError(DatabaseError):
    """The database cannot be reached or the embedded server cannot start."""

    code = "DATABASE_UNAVAILABLE"


class DatabaseConnectionLostError(DatabaseUnavailableError):
    """The server went away or is not accepting connections right now (shutting down,
    starting up, a broken socket): reconnecting may succeed. Same code as its parent: to a
    user it is the database being unavailable."""


class DatabaseVersionMismatchError(DatabaseUnavailableError):
    """The embedded data directory was made by a PostgreSQL major version we cannot run."""

    code = "DATABASE_VERSION_MISMATCH"


class EmbeddedAccessError(DatabaseUnavailableError):
    """A directory the embedded server's user must traverse is closed to it
    (``db.server_access``)."""

    code = "EMBEDDED_DIRECTORY_UNREACHABLE"


class QueryError(DatabaseError):
    """A statement failed for a reason the caller cannot handle: most likely a bug in our SQL."""

    code = "DATABASE_QUERY_FAILED"
    exit_code = ExitCode.INTERNAL


class TransactionConflictError(DatabaseError):
    """A serialization failure or deadlock rolled the transaction back; retrying may succeed."""

    code = "TRANSACTION_CONFLICT"


class ConflictError(DatabaseError):
    """A row already exists: a unique constraint (named by ``constraint``) was violated."""

    code = "CONFLICT"

    def __init__(
        self,
        message: str,
        *,
        constraint: str | None = None,
        hint: str | None = None,
        sqlstate: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, sqlstate=sqlstate, detail=detail)
        self.constraint = constraint


class EngineStateError(DatabaseError):
    """A database function refused a state change (custom SQLSTATE class ``TK``)."""

    code = "ENGINE_STATE_ERROR"


class InvalidTransitionError(EngineStateError):
    """A task or step cannot move from its current state to the requested one (``TK001``)."""

    code = "INVALID_TRANSITION"


class StaleAttemptError(EngineStateError):
    """A worker reported for an attempt that is no longer current (``TK002``, fencing)."""

    code = "STALE_ATTEMPT"


class EntityNotFoundError(EngineStateError):
    """A database function was given a task or step that does not exist (``TK003``)."""

    code = "ENTITY_NOT_FOUND"


class MigrationError(DatabaseError):
    """The migration files themselves are wrong (bad name, duplicate version)."""

    code = "MIGRATION_INVALID"
    exit_code = ExitCode.INTERNAL


class MigrationModifiedError(DatabaseError):
    """A migration that was already applied has changed on disk since."""

    code = "MIGRATION_MODIFIED"


class SchemaBehindError(DatabaseError):
    """An external database lacks migrations this version applies: only ``tasker-ctl db
    migrate`` changes the schema of a database tasker-ctl does not run itself."""

    code = "SCHEMA_BEHIND"


class SchemaAheadError(DatabaseError):
    """The database holds migrations this version does not know: a newer tasker-ctl migrated
    it, and an older one must not run against a schema it cannot read."""

    code = "SCHEMA_AHEAD"


class QueryFileError(TaskerError):
    """A named-query ``.sql`` file is malformed (duplicate, unnamed or empty query)."""

    code = "QUERY_FILE_INVALID"
    exit_code = ExitCode.INTERNAL


class UnknownQueryError(TaskerError):
    """Code asked for a named query that no ``.sql`` file defines."""

    code = "UNKNOWN_QUERY"
    exit_code = ExitCode.INTERNAL


class LimitExceeded(Exception):
    """A template's YAML passed one of the reader's limits (``template.composer``); becomes a
    finding, never escapes validation. ``position`` is 1-based (line, column)."""

    def __init__(
        self, code: str, message: str, hint: str, position: tuple[int, int] | None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.position = position
