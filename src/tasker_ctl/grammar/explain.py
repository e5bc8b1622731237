"""What a composition does, invocation by invocation: statically, and optionally by running it.

The static trace shows each invocation's capability, what its envelope offers (and what
``.prev`` is statically known to be), the paths its expressions read and its known output
schema. With a :class:`Simulation` the composition then runs for real through the runner
over :class:`FixtureOperations`, so every capability does what it does in production
(validate coerces and fails, assert gates, result_shape applies) and each invocation's actual
output is recorded; a failing invocation ends the run and is part of the trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.errors import FileReadError, JsonInputError
from tasker_ctl.grammar.errors import FixtureFileError
from tasker_ctl.grammar.fixture_operations import FixtureOperations
from tasker_ctl.grammar.validation import StepContract, validate_composition
from tasker_ctl.grammar.validation.analysis import InvocationView, read_invocations
from tasker_ctl.grammar.validation.data_flow import referenced
from tasker_ctl.grammar.validation.findings import CompositionReport
from tasker_ctl.grammar.validation.validator import MAX_INVOCATIONS, expand

TRACE_VERSION = 1
Status = Literal["static", "ran", "failed", "waiting", "not_run"]


class Simulation(BaseModel):
    """Inputs for running a composition in explain: the envelope's parts, fixture records per
    entity for acquire, and mock data per invocation index (what that invocation's operation
    returns as its data)."""

    model_config = ConfigDict(extra="forbid")

    context: Any = None
    deps: dict[str, Any] = Field(default_factory=dict)
    step: dict[str, Any] = Field(default_factory=dict)
    mock_outputs: dict[int, Any] = Field(default_factory=dict)
    fixture_data: dict[str, Any] = Field(default_factory=dict)


class ExpressionTrace(BaseModel):
    field_path: str
    expression: str
    target: str = Field(description="'envelope' or 'result' (the operation's result envelope)")
    referenced_paths: list[str] = Field(default_factory=list)
    simulated_result: Any = None


class EnvelopeTrace(BaseModel):
    """What the invocation's envelope offers; ``has_prev`` means ``.prev`` is statically known."""

    context: bool = True
    deps: bool = True
    step: bool = True
    has_prev: bool = False
    prev_source: str | None = None
    prev_schema: Any = None


class InvocationTrace(BaseModel):
    index: int
    capability: str | None
    category: str | None
    checkpoint: bool
    mutating: bool
    envelope: EnvelopeTrace
    expressions: list[ExpressionTrace] = Field(default_factory=list)
    output_schema: Any = None
    simulated_output: Any = None
    mock_output_used: bool = False
    status: Status = "static"


class SimulationFailure(BaseModel):
    failed_index: int | None
    capability: str | None
    kind: str
    message: str


class OutcomeTrace(BaseModel):
    description: str | None = None
    output_schema: Any = None


class ExplanationTrace(BaseModel):
    """The explanation of one composition (JSON-serializable; ``version`` changes when the
    shape does)."""

    version: int = TRACE_VERSION
    name: str | None = None
    pattern: str | None = None
    outcome: OutcomeTrace = Field(default_factory=OutcomeTrace)
    invocations: list[InvocationTrace] = Field(default_factory=list)
    validation: CompositionReport = Field(default_factory=CompositionReport)
    simulated: bool = False
    final_output: Any = None
    failure: SimulationFailure | None = None
    summary: str = ""


def explain_composition(
    spec: Any, *, step: StepContract | None = None, simulation: Simulation | None = None
) -> ExplanationTrace:
    """The trace of ``spec`` (written out or a pattern reference); never raises."""
    report = validate_composition(spec, step=step)
    trace = ExplanationTrace(validation=report, simulated=simulation is not None)
    written = spec
    if isinstance(spec, Mapping) and isinstance(spec.get("pattern"), str):
        trace.pattern = spec["pattern"]
        written, problems = expand(spec["pattern"], spec.get("config"))
        if problems:
            written = None
    if not isinstance(written, Mapping):
        trace.summary = _summary(trace)
        return trace
    name = written.get("name")
    trace.name = name if isinstance(name, str) else None
    outcome = written.get("outcome")
    if isinstance(outcome, Mapping):
        description = outcome.get("description")
        trace.outcome = OutcomeTrace(
            description=description if isinstance(description, str) else None,
            output_schema=outcome.get("output_schema"),
        )
    invocations = written.get("invocations")
    if not isinstance(invocations, list) or not 0 < len(invocations) <= MAX_INVOCATIONS:
        trace.summary = _summary(trace)
        return trace
    views = read_invocations(invocations, _lookup, step)
    trace.invocations = [_static(view) for view in views]
    if simulation is not None and all(isinstance(item, Mapping) for item in invocations):
        _simulate(written, simulation, trace)
    trace.summary = _summary(trace)
    return trace


def _lookup(name: str) -> Any:
    from tasker_ctl.grammar.capabilities import get_capability

    return get_capability(name)


def _static(view: InvocationView) -> InvocationTrace:
    envelope = EnvelopeTrace()
    if view.prev is not None:
        envelope = EnvelopeTrace(
            has_prev=True, prev_source=view.prev.source, prev_schema=view.prev.schema
        )
    return InvocationTrace(
        index=view.index,
        capability=view.name,
        category=view.category,
        checkpoint=view.checkpoint,
        mutating=view.mutating,
        envelope=envelope,
        expressions=[
            ExpressionTrace(
                field_path=site.field_path,
                expression=site.expression,
                target=str(site.target.value),
                referenced_paths=sorted(
                    {str(getattr(ref, "text", "")) for ref in referenced(site.expression)}
                ),
            )
            for site in view.sites
        ],
        output_schema=view.output.schema if view.output is not None else None,
    )


def _simulate(spec: Mapping[str, Any], simulation: Simulation, trace: ExplanationTrace) -> None:
    from tasker_ctl.grammar.expressions import evaluate
    from tasker_ctl.grammar.runner import run_composition

    operations = FixtureOperations(
        fixture_data=simulation.fixture_data, mock_outputs=simulation.mock_outputs, spec=spec
    )
    results: dict[tuple[int, str], Any] = {}
    position = -1  # the invocation running: the one whose envelope was seen last

    def observed(expression: str, value: Any) -> Any:
        nonlocal position
        position = max(position, _invocation_of(value))
        result = evaluate(expression, value)
        results.setdefault((position, expression), result)
        return result

    try:
        run = run_composition(
            spec,
            context=simulation.context,
            deps=simulation.deps,
            step=simulation.step,
            operations=operations,
            evaluate=observed,
        )
    except Exception as error:  # a capability that breaks must not break the explanation
        trace.failure = SimulationFailure(
            failed_index=position if position >= 0 else None,
            capability=None,
            kind="internal",
            message=f"{type(error).__name__}: {error}",
        )
        return
    outputs = {record.index: record.output for record in run.records}
    for item in trace.invocations:
        for expression in item.expressions:
            expression.simulated_result = results.get((item.index, expression.expression))
        if item.index in outputs:
            item.status, item.simulated_output = "ran", outputs[item.index]
        elif item.index == run.failed_index:
            item.status = "waiting" if run.waiting else "failed"
        else:
            item.status = "not_run"
        item.mock_output_used = item.index in operations.mocked
    trace.final_output = run.output
    if run.error is not None:
        kind = getattr(run.error, "kind", None)
        trace.failure = SimulationFailure(
            failed_index=run.failed_index,
            capability=run.failed_capability,
            kind=str(getattr(kind, "value", kind)) if kind is not None else "gate_pending",
            message=run.error.message,
        )
    if operations.findings:
        trace.validation = CompositionReport(
            findings=[*trace.validation.findings, *operations.findings]
        )


def _summary(trace: ExplanationTrace) -> str:
    count = len(trace.invocations)
    checkpoints = sum(1 for item in trace.invocations if item.checkpoint)
    text = f"Composition has {count} invocation(s)"
    if checkpoints:
        text += f", {checkpoints} checkpoint(s)"
    if trace.simulated:
        if trace.failure is not None:
            where = trace.failure.failed_index
            text += f"; simulation failed at invocation {where} ({trace.failure.capability})"
        elif trace.invocations:
            text += "; simulation completed"
    return text


def load_fixture_file(path: str | Path, *, case: str | None = None) -> Simulation:
    """A simulation from a fixture file in Tasker Core's format: ``input.{context, deps,
    step}`` and ``acquire_fixture_data``, or those of ``failure_cases[case]`` (a case without
    its own fixture data uses the file's)."""
    from tasker_ctl.bounded_json import MAX_JSON_BYTES, loads

    target = Path(path)
    try:
        with target.open("rb") as file:
            raw = file.read(MAX_JSON_BYTES + 1)  # a larger file is refused, not read
    except OSError as error:
        raise FileReadError(f"cannot read '{path}': {error.strerror or error}") from error
    try:
        data = loads(raw)
    except JsonInputError as error:
        joiner = " is " if error.code == "JSON_SYNTAX" else ": "
        raise FixtureFileError(f"'{path}'{joiner}{error.message}", hint=error.hint) from None
    if not isinstance(data, dict):
        raise FixtureFileError(f"'{path}' must hold a JSON object")
    source = data
    if case is not None:
        cases = data.get("failure_cases")
        if not isinstance(cases, dict) or not isinstance(cases.get(case), dict):
            known = ", ".join(sorted(cases)) if isinstance(cases, dict) else "none"
            raise FixtureFileError(
                f"'{path}' has no failure case '{case}'", hint=f"failure cases: {known}"
            )
        source = cases[case]
    given: dict[str, Any] = source["input"] if isinstance(source.get("input"), dict) else {}
    fixture = source.get("acquire_fixture_data", data.get("acquire_fixture_data"))
    try:
        return Simulation(
            context=given.get("context"),
            deps=given.get("deps") or {},
            step=given.get("step") or {},
            fixture_data=fixture if isinstance(fixture, dict) else {},
        )
    except ValueError as error:
        raise FixtureFileError(f"'{path}': {error}") from None


def _invocation_of(value: Any) -> int:
    """The index of the invocation whose envelope ``value`` is (the runner puts one output per
    finished invocation under ``step.invocations``), or -1 for any other value (an
    operation's result envelope)."""
    if not isinstance(value, Mapping) or not {"context", "deps", "prev", "step"} <= set(value):
        return -1
    step = value.get("step")
    done = step.get("invocations") if isinstance(step, Mapping) else None
    return len(done) if isinstance(done, Mapping) else -1
