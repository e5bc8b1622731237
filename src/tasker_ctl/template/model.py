"""Pydantic models of the TaskTemplate format, as Tasker Core reads it, plus planning steps.

Defaults follow Tasker Core's loader, including its retry quirk: a step without a ``retry``
block gets ``backoff_base_ms=1000`` and ``max_backoff_ms=30000``, while a ``retry`` block that
omits those keys leaves them unset. Unknown keys are rejected (``extra="forbid"``) so that a typo
is reported instead of dropped; ``metadata`` alone stays open, as it is free-form.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    model_validator,
)

from tasker_ctl.template.source import YamlFloat


def scalar_text(value: Any) -> str | None:
    """The text a string field gets from a scalar, as Tasker Core reads it (``version: 1.0``
    is ``"1.0"``, ``version: 1.10`` is ``"1.10"``); ``None`` for null, lists and mappings."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, YamlFloat):
        return value.text
    if isinstance(value, int | float):
        return str(value)
    return None


def _scalar_as_text(value: Any) -> Any:
    text = scalar_text(value)
    return value if text is None else text


Text = Annotated[str, BeforeValidator(_scalar_as_text)]
U32 = Annotated[StrictInt, Field(ge=0, le=4_294_967_295)]
U64 = Annotated[StrictInt, Field(ge=0, le=18_446_744_073_709_551_615)]
Positive = Annotated[StrictInt, Field(ge=1, le=4_294_967_295)]
Number = Annotated[StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)], Field(ge=0)]
JsonValue = Any

_CLOSED = ConfigDict(extra="forbid", populate_by_name=True)
# Models whose alias hides a Python-only field name: Tasker Core knows only the alias, so the
# field name must not be accepted as a key (``json_schema:`` would otherwise pass for ``schema:``).
_ALIASED = ConfigDict(extra="forbid")


class StepType(StrEnum):
    STANDARD = "standard"
    DECISION = "decision"
    DEFERRED_CONVERGENCE = "deferred_convergence"
    BATCHABLE = "batchable"
    BATCH_WORKER = "batch_worker"
    PLANNING = "planning"  # tasker-ctl extension


class BackoffStrategy(StrEnum):
    NONE = "none"
    LINEAR = "linear"
    EXPONENTIAL = "exponential"
    FIBONACCI = "fibonacci"


class EventCondition(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    RETRYABLE_FAILURE = "retryable_failure"
    PERMANENT_FAILURE = "permanent_failure"
    ALWAYS = "always"


class DeliveryMode(StrEnum):
    DURABLE = "durable"
    FAST = "fast"
    BROADCAST = "broadcast"


class FailureStrategy(StrEnum):
    CONTINUE_ON_FAILURE = "continue_on_failure"
    FAIL_FAST = "fail_fast"
    ISOLATE = "isolate"


class HandlerDefinition(BaseModel):
    """Which code runs a step: ``callable`` is resolved by the worker's resolver chain."""

    model_config = _CLOSED

    callable: Text
    method: Text | None = None
    resolver: Text | None = None
    initialization: dict[str, JsonValue] = Field(default_factory=dict)


class RetryPolicy(BaseModel):
    model_config = _CLOSED

    retryable: StrictBool = True
    max_attempts: U32 = 3
    backoff: BackoffStrategy = BackoffStrategy.EXPONENTIAL
    backoff_base_ms: U64 | None = None
    max_backoff_ms: U64 | None = None


def default_retry_policy() -> RetryPolicy:
    """The policy of a step that declares no ``retry`` block at all."""
    return RetryPolicy(backoff_base_ms=1000, max_backoff_ms=30000)


class EventDeclaration(BaseModel):
    model_config = _ALIASED

    name: Text
    description: Text
    json_schema: JsonValue = Field(alias="schema")
    condition: EventCondition = EventCondition.SUCCESS
    delivery_mode: DeliveryMode = DeliveryMode.DURABLE
    publisher: Text | None = None


class BatchConfig(BaseModel):
    """All five keys are required when the block is present (as in Tasker Core)."""

    model_config = _CLOSED

    batch_size: Positive
    parallelism: Positive
    cursor_field: Text
    worker_template: Text
    failure_strategy: FailureStrategy


class CompositionOutcome(BaseModel):
    model_config = _CLOSED

    description: Text
    output_schema: JsonValue


class CompositionInvocation(BaseModel):
    model_config = _CLOSED

    capability: Text
    config: JsonValue = None
    checkpoint: StrictBool = False


class CompositionSpec(BaseModel):
    """A grammar-defined step: a chain of capability invocations instead of handler code.

    Either written out (``outcome`` and ``invocations``) or a reference to a named pattern of
    the grammar's catalog (``pattern`` with its ``config``), expanded when the step runs.
    """

    model_config = _CLOSED

    name: Text | None = None
    pattern: Text | None = None
    config: JsonValue = None
    outcome: CompositionOutcome | None = None
    invocations: list[CompositionInvocation] | None = None

    @model_validator(mode="after")
    def _written_out_or_pattern(self) -> CompositionSpec:
        if self.pattern is None and (self.outcome is None or self.invocations is None):
            raise ValueError("a composition needs 'outcome' and 'invocations', or a 'pattern'")
        if self.pattern is not None and self.invocations is not None:
            raise ValueError("a composition has either 'invocations' or a 'pattern', not both")
        if self.pattern is None and self.config is not None:
            raise ValueError("'config' belongs to a 'pattern' reference")
        return self


class PlanningBounds(BaseModel):
    """How large a planned fill may grow."""

    model_config = _CLOSED

    max_steps: Positive = 10
    max_depth: Positive = 3
    max_phases: Positive = 1


class PlanningBudget(BaseModel):
    """What planning may spend; a ledger on the task enforces it at run time."""

    model_config = _CLOSED

    max_llm_calls: Positive = 3
    max_tokens: Positive = 50_000
    max_cost_usd: Number = 1.0
    max_wall_seconds: Number = 300


class PlanningPrice(BaseModel):
    """A model's price per million tokens, for a model the price tables do not know."""

    model_config = _CLOSED

    input_usd_per_million: Number
    output_usd_per_million: Number


class PlanningContextPolicy(BaseModel):
    """How a planning step's context inputs reach the prompt: an input up to
    ``verbatim_max_bytes`` goes in whole, one up to ``summary_max_bytes`` is cut with a note,
    one up to ``summarize_max_bytes`` is summarized first, a larger one is left out; the whole
    prompt stays under ``prompt_max_tokens``. ``tasker-ctl validate`` checks that the three byte
    thresholds do not decrease (PLANNING_CONTEXT_POLICY_INVALID)."""

    model_config = _CLOSED

    verbatim_max_bytes: Positive = 1024
    summary_max_bytes: Positive = 10_240
    summarize_max_bytes: Positive = 102_400
    prompt_max_tokens: Positive = 16_000


NestingLevels = Annotated[StrictInt, Field(ge=0, le=5)]


class PlanningBlock(BaseModel):
    """Configuration of a ``type: planning`` step (tasker-ctl extension)."""

    model_config = _CLOSED

    convergence: Text
    bounds: PlanningBounds = Field(default_factory=PlanningBounds)
    budget: PlanningBudget = Field(default_factory=PlanningBudget)
    allow_dynamic_composition: StrictBool = False
    allowed_callables: list[Text] = Field(default_factory=list)
    allowed_patterns: list[Text] = Field(default_factory=list)
    context_from: list[Text] = Field(default_factory=list)
    goal: Text | None = None
    model: Text | None = Field(
        default=None,
        description="'provider:model' (openai, anthropic, ollama, replay:FILE; openai:MODEL@URL "
        "for an OpenAI-compatible server); unset: TASKER_PLANNER_MODEL at run time",
    )
    max_repairs: Annotated[StrictInt, Field(ge=0, le=10)] = 2
    prompt: Text | None = None
    examples: list[dict[str, JsonValue]] = Field(default_factory=list)
    max_output_tokens: Annotated[StrictInt, Field(ge=1, le=200_000)] = 4096
    timeout_seconds: Annotated[
        StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)], Field(gt=0)
    ] = 60
    price: PlanningPrice | None = None
    max_nesting: NestingLevels = Field(
        default=0,
        description="levels of nested planning steps a fragment of this step may open (0: none)",
    )
    max_replans: NestingLevels = Field(
        default=0,
        description="fresh planning rounds after a round found no valid fragment",
    )
    fallback_models: list[Text] = Field(
        default_factory=list,
        description="planner specs tried in order when the model keeps failing",
    )
    replan_gate: StrictBool = Field(
        default=False,
        description="a replan waits for an approver (tasker-ctl task approve|reject) first",
    )
    replan_approvers: list[Text] = Field(
        default_factory=list,
        description="who may approve a replan (empty: anyone)",
    )
    context: PlanningContextPolicy = Field(default_factory=PlanningContextPolicy)


class StepDefinition(BaseModel):
    model_config = _CLOSED

    name: Text
    description: Text | None = None
    handler: HandlerDefinition
    step_type: StepType = Field(
        default=StepType.STANDARD,
        validation_alias=AliasChoices("type", "step_type"),
        serialization_alias="type",
    )
    dependencies: list[Text] = Field(
        default_factory=list, validation_alias=AliasChoices("dependencies", "depends_on")
    )
    system_dependency: Text | None = None
    retry: RetryPolicy = Field(default_factory=default_retry_policy)
    timeout_seconds: Positive | None = None
    publishes_events: list[EventDeclaration] = Field(default_factory=list)
    batch_config: BatchConfig | None = None
    result_schema: JsonValue = None
    composition: CompositionSpec | None = None
    planning: PlanningBlock | None = None
    isolation: Literal["process"] | None = Field(
        default=None,
        description="tasker-ctl extension: 'process' runs the step's handler in a process of "
        "its own, whatever the worker's default (a crash fails only the attempt, a timeout "
        "kills it); unset: the worker's choice",
    )


class HandlerOverride(BaseModel):
    model_config = _CLOSED

    initialization: dict[str, JsonValue] = Field(default_factory=dict)


class StepOverride(BaseModel):
    """Per-environment changes to one step (or to ``ALL`` steps)."""

    model_config = _CLOSED

    name: Text
    handler: HandlerOverride | None = None
    timeout_seconds: Positive | None = None
    retry: RetryPolicy | None = None


class EnvironmentOverrides(BaseModel):
    model_config = _CLOSED

    steps: list[StepOverride] = Field(default_factory=list)


class TemplateMetadata(BaseModel):
    """Free-form descriptive data; extra keys are kept."""

    model_config = ConfigDict(extra="allow")

    author: Text | None = None
    tags: list[Text] = Field(default_factory=list)
    documentation_url: Text | None = None
    created_at: Text | None = None
    updated_at: Text | None = None


class SystemDependencies(BaseModel):
    model_config = _CLOSED

    primary: Text = "default"
    secondary: list[Text] = Field(default_factory=list)


class DomainEvent(BaseModel):
    model_config = _ALIASED

    name: Text
    description: Text | None = None
    json_schema: JsonValue = Field(default=None, alias="schema")


class LifecycleConfig(BaseModel):
    """Per-template staleness and timeout policy."""

    model_config = _CLOSED

    max_duration_minutes: U32 | None = None
    max_waiting_for_dependencies_minutes: U32 | None = None
    max_waiting_for_retry_minutes: U32 | None = None
    max_steps_in_process_minutes: U32 | None = None
    staleness_action: Literal["dlq", "error", "none"] = "dlq"
    auto_fail_on_timeout: StrictBool | None = None
    auto_dlq_on_timeout: StrictBool | None = None


class HttpResource(BaseModel):
    """An HTTP API that ``acquire`` reads from (tasker-ctl extension)."""

    model_config = _CLOSED

    kind: Literal["http"]
    base_url: Text
    allowed_hosts: list[Text] = Field(
        default_factory=list,
        description="hosts acquire may reach; base_url's host must be one of them",
    )
    timeout_ms: Positive = 10_000
    headers: dict[str, Text] = Field(default_factory=dict)
    headers_from_env: dict[str, Text] = Field(
        default_factory=dict, description="header name -> environment variable holding its value"
    )


class PostgresResource(BaseModel):
    """Tables in the task database that ``persist`` writes to (tasker-ctl extension)."""

    model_config = _CLOSED

    kind: Literal["postgres"]
    db_schema: Text = Field(default="public", alias="schema")
    tables: dict[str, Text] | list[Text] = Field(
        default_factory=dict,
        description="the tables persist may write: entity -> table name, or a list of table "
        "names used as their own entities; an entity not declared here is refused",
    )

    def declared_tables(self) -> dict[str, str]:
        """Entity -> table, for every table the resource declares."""
        if isinstance(self.tables, list):
            return {table: table for table in self.tables}
        return dict(self.tables)


class OutboxResource(BaseModel):
    """The transactional outbox table that ``emit`` writes events into (tasker-ctl extension)."""

    model_config = _CLOSED

    kind: Literal["outbox"]


ResourceDefinition = Annotated[
    HttpResource | PostgresResource | OutboxResource, Field(discriminator="kind")
]


class TemplateBudget(BaseModel):
    """A task's planning budget over all its planning steps (tasker-ctl extension): a limit
    given here replaces the sum of the steps' own bounds for that resource; each planning
    step then gets at most the smaller of its own bound and what the task has left."""

    model_config = _CLOSED

    max_steps: Positive | None = None
    max_phases: Positive | None = None
    max_llm_calls: Positive | None = None
    max_tokens: Positive | None = None
    max_cost_usd: Number | None = None
    max_wall_seconds: Number | None = None


class ChainLimits(BaseModel):
    """Limits of the delegation chain a task of this template starts (tasker-ctl extension):
    how deep tasks may delegate, how many tasks the chain may hold, and what every task of
    it may spend together. Checked when a task joins the chain."""

    model_config = _CLOSED

    max_depth: Annotated[StrictInt, Field(ge=0, le=1000)] | None = None
    max_tasks: Positive | None = None
    max_cost_usd: Number | None = None
    max_tokens: Positive | None = None
    max_llm_calls: Positive | None = None


class TaskTemplate(BaseModel):
    """A TaskTemplate: a named, versioned DAG of steps with typed contracts."""

    model_config = _CLOSED

    name: Text
    namespace_name: Text
    version: Text
    description: Text | None = None
    metadata: TemplateMetadata | None = None
    system_dependencies: SystemDependencies = Field(default_factory=SystemDependencies)
    domain_events: list[DomainEvent] = Field(default_factory=list)
    input_schema: JsonValue = None
    steps: list[StepDefinition] = Field(default_factory=list)
    environments: dict[str, EnvironmentOverrides] = Field(default_factory=dict)
    lifecycle: LifecycleConfig | None = None
    resources: dict[str, ResourceDefinition] = Field(default_factory=dict)
    budget: TemplateBudget | None = None
    chain: ChainLimits | None = None

    @property
    def identifier(self) -> str:
        return f"{self.namespace_name}/{self.name}@{self.version}"

    def step(self, name: str) -> StepDefinition | None:
        return next((step for step in self.steps if step.name == name), None)

    def resolve_for_environment(self, environment: str) -> TaskTemplate:
        """This template with the overrides of ``environment`` applied (see ``environment.py``)."""
        from tasker_ctl.template.environment import resolve_data

        data = self.model_dump(by_alias=True, exclude_unset=True)
        resolved, _ = resolve_data(data, environment)
        return TaskTemplate.model_validate(resolved)
