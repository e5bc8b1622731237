"""A planner evaluation suite: problems a planner is asked to solve, and what an accepted
answer must have, checked (``tasker-ctl planner eval``, docs/planner-eval.md).

A suite is a YAML file read with the template reader's limits::

    format: tasker-planner-eval
    version: 1
    problems:
      - id: incident-parallel-checks
        template: templates/incident.yaml      # relative to the suite file
        step: plan_investigation               # its 'type: planning' step
        context: {incident_id: INC-1, service: checkout}    # or context_file: contexts/x.json
        upstream: {collect_signals: {...}}     # known results of upstream steps
        callables: [incident.checks.query_logs, ...]         # what a worker registered
        expect: {min_steps: 2, uses_callables: [incident.checks.query_logs]}

Every mapping is closed; a problem that cannot be read, a template that does not load or a step
that is not a planning step is an ``EvalSuiteError`` (``EVAL_SUITE_INVALID``) naming the file
and line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tasker_ctl.errors import FileReadError, TaskerError, TemplateLoadError
from tasker_ctl.planning.errors import EvalSuiteError
from tasker_ctl.planning.fragment import (
    CallableHandler,
    CompositionHandler,
    Fragment,
    GrammarHandler,
)
from tasker_ctl.planning.frame import FragmentFrame
from tasker_ctl.template.diagnostics import Severity
from tasker_ctl.template.model import TaskTemplate
from tasker_ctl.template.source import format_path, read_document

if TYPE_CHECKING:
    from tasker_ctl.planning.validator import FragmentCheck

SUITE_FORMAT = "tasker-planner-eval"
SUITE_VERSION = 1
_FORMAT_HINT = (
    f"a suite has format: {SUITE_FORMAT}, version: {SUITE_VERSION} and problems "
    "(docs/planner-eval.md, 'The suite')"
)
_CLOSED = ConfigDict(extra="forbid", frozen=True)
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
_HANDLER_OR_NAME = Field(min_length=1, max_length=255)


class Expectations(BaseModel):
    """What an accepted fragment must have; every key is optional and all must hold."""

    model_config = _CLOSED

    min_steps: int | None = Field(default=None, ge=0)
    max_steps: int | None = Field(default=None, ge=0)
    max_depth: int | None = Field(default=None, ge=0)
    convergence: bool | None = Field(
        default=None, description="the fragment names (true) or does not name (false) its own"
    )
    uses_callables: list[str] = Field(default_factory=list, description="names or .* globs")
    uses_patterns: list[str] = Field(default_factory=list)
    uses_composition: bool | None = None
    depends: list[tuple[str, str]] = Field(
        default_factory=list,
        description="[a, b]: a step named or handled by b runs after one named or handled by a",
    )
    references: list[str] = Field(default_factory=list, description="input references used")
    no_findings_of_stage: list[int] = Field(default_factory=list)

    @model_validator(mode="after")
    def _coherent(self) -> Expectations:
        if any(not 1 <= stage <= 9 for stage in self.no_findings_of_stage):
            raise ValueError("no_findings_of_stage lists stages 1 to 9")
        if (
            self.min_steps is not None
            and self.max_steps is not None
            and self.min_steps > self.max_steps
        ):
            raise ValueError("min_steps is above max_steps")
        return self


class Problem(BaseModel):
    """One planning problem: a template's planning step, what the task knows, what to expect."""

    model_config = _CLOSED

    id: str = Field(pattern=_ID)
    description: str = ""
    template: str = Field(min_length=1)
    step: str = Field(min_length=1)
    context: dict[str, Any] | None = None
    context_file: str | None = None
    upstream: dict[str, Any] = Field(default_factory=dict)
    callables: list[str] = Field(default_factory=list)
    remaining_steps: int | None = Field(default=None, ge=0)
    budget_left: dict[str, float | None] = Field(default_factory=dict)
    expect: Expectations = Field(default_factory=Expectations)

    @model_validator(mode="after")
    def _one_context(self) -> Problem:
        if self.context is not None and self.context_file is not None:
            raise ValueError("give context or context_file, not both")
        return self


class Suite(BaseModel):
    model_config = _CLOSED

    format: Literal["tasker-planner-eval"]
    version: Literal[1]
    description: str = ""
    problems: list[Problem] = Field(min_length=1, max_length=1000)


@dataclass(frozen=True)
class LoadedProblem:
    """A problem with its template loaded, its context read and its frame built."""

    problem: Problem
    template: TaskTemplate
    context: Any
    frame: FragmentFrame

    @property
    def id(self) -> str:
        return self.problem.id


@dataclass(frozen=True)
class LoadedSuite:
    path: Path
    description: str
    problems: tuple[LoadedProblem, ...]


def load_suite(path: Path) -> LoadedSuite:
    """The suite at ``path`` with every problem's template, context and frame; an
    ``EvalSuiteError`` says what is wrong and where."""
    shown = str(path)
    try:
        document = read_document(path)
    except FileReadError as error:
        raise EvalSuiteError(f"cannot read suite: {error.message}", hint=_FORMAT_HINT) from None
    problems = [problem for problem in document.problems if problem.code != "NOT_A_MAPPING"]
    if problems:
        first = problems[0]
        line = f":{first.position[0]}" if first.position else ""
        raise EvalSuiteError(f"{shown}{line}: {first.message}", hint=_FORMAT_HINT)
    if not isinstance(document.data, dict):
        raise EvalSuiteError(f"{shown}: a suite is a mapping", hint=_FORMAT_HINT)

    def where(*keys: str | int) -> str:
        position = document.positions.locate(tuple(keys))
        return f"{shown}:{position[0]}" if position else shown

    try:
        suite = Suite.model_validate(document.data)
    except ValidationError as error:
        detail = error.errors(include_url=False)[0]
        loc = tuple(detail["loc"])
        raise EvalSuiteError(
            f"{where(*loc)}: {format_path(loc)}: {detail['msg']}", hint=_FORMAT_HINT
        ) from None
    seen: set[str] = set()
    templates: dict[Path, TaskTemplate] = {}
    loaded: list[LoadedProblem] = []
    for index, problem in enumerate(suite.problems):
        if problem.id in seen:
            raise EvalSuiteError(
                f"{where('problems', index, 'id')}: problem id '{problem.id}' is used twice",
                hint="each problem has an id of its own",
            )
        seen.add(problem.id)
        place = _Place(where, index)
        loaded.append(_load_problem(path.parent, problem, templates, place))
    return LoadedSuite(path=path, description=suite.description, problems=tuple(loaded))


@dataclass(frozen=True)
class _Place:
    """Where a problem's key is in the suite file: ``file:line``."""

    locate: Callable[..., str]
    index: int

    def __call__(self, key: str) -> str:
        return self.locate("problems", self.index, key)


def _load_problem(
    base: Path, problem: Problem, templates: dict[Path, TaskTemplate], where: _Place
) -> LoadedProblem:
    label = f"problem '{problem.id}'"
    template_path = (base / problem.template).resolve()
    template = templates.get(template_path)
    if template is None:
        template = _template(template_path, f"{where('template')}: {label}")
        templates[template_path] = template
    context: Any = problem.context
    if problem.context_file is not None:
        context = _context(base / problem.context_file, f"{where('context_file')}: {label}")
    try:
        frame = FragmentFrame(
            template=template,
            planning_step=problem.step,
            context=context,
            results=dict(problem.upstream),
            remaining_steps=problem.remaining_steps,
            callables=frozenset(problem.callables) or None,
        )
    except TaskerError as error:
        raise EvalSuiteError(
            f"{where('step')}: {label}: {error.message}", hint=error.hint
        ) from None
    return LoadedProblem(problem=problem, template=template, context=context, frame=frame)


def _template(path: Path, label: str) -> TaskTemplate:
    from tasker_ctl.template.validator import load_template

    try:
        return load_template(path)
    except TemplateLoadError as error:
        report = getattr(error, "report", None)
        errors = [f for f in report.findings if f.severity is Severity.ERROR] if report else []
        first = errors[0] if errors else None
        detail = f"{first.code}: {first.message}" if first is not None else error.message
        raise EvalSuiteError(
            f"{label}: template {path} has errors ({detail})",
            hint=f"see `tasker-ctl validate {path}`",
        ) from None
    except FileReadError as error:
        raise EvalSuiteError(f"{label}: {error.message}") from None


def _context(path: Path, label: str) -> Any:
    try:
        document = read_document(path)
    except FileReadError as error:
        raise EvalSuiteError(f"{label}: {error.message}") from None
    if document.problems:
        first = document.problems[0]
        line = f":{first.position[0]}" if first.position else ""
        raise EvalSuiteError(f"{label}: {path}{line}: {first.message}")
    return document.data


def problem_callables(loaded: LoadedProblem) -> list[str]:
    """The callables a prompt offers: the registered ones the allow-list allows, or, when
    the problem registers none, the allow-list's exact names."""
    from tasker_ctl.planning.callables import expand, is_glob

    allowed = loaded.frame.block.allowed_callables
    if loaded.problem.callables:
        return expand(allowed, loaded.problem.callables)
    return sorted({entry for entry in allowed if not is_glob(entry)})


class PropertyVerdict(BaseModel):
    model_config = _CLOSED

    name: str
    passed: bool
    detail: str


# -- properties -----------------------------------------------------------------------------


def check_properties(
    expect: Expectations, fragment: Fragment, check: FragmentCheck
) -> list[PropertyVerdict]:
    """Each expected property of an accepted fragment, held or not, with what was found."""
    from tasker_ctl.planning.callables import matches

    verdicts: list[PropertyVerdict] = []
    count = len(fragment.steps)
    handlers = {step.name: _handler_name(step.handler) for step in fragment.steps}
    if expect.min_steps is not None:
        verdicts.append(_verdict("min_steps", count >= expect.min_steps, f"{count} steps"))
    if expect.max_steps is not None:
        verdicts.append(_verdict("max_steps", count <= expect.max_steps, f"{count} steps"))
    if expect.max_depth is not None:
        depth = check.depth or 0
        verdicts.append(_verdict("max_depth", depth <= expect.max_depth, f"depth {depth}"))
    if expect.convergence is not None:
        named = fragment.convergence is not None
        verdicts.append(
            _verdict(
                "convergence", named == expect.convergence, f"convergence {fragment.convergence}"
            )
        )
    called = sorted({h for s, h in handlers.items() if _kind(fragment, s) == "callable"})
    for wanted in expect.uses_callables:
        found = any(matches(name, [wanted]) or name == wanted for name in called)
        verdicts.append(_verdict(f"uses_callables {wanted}", found, "called: " + _list(called)))
    used = sorted({h for s, h in handlers.items() if _kind(fragment, s) == "grammar"})
    for wanted in expect.uses_patterns:
        verdicts.append(_verdict(f"uses_patterns {wanted}", wanted in used, "used: " + _list(used)))
    if expect.uses_composition is not None:
        composed = any(_kind(fragment, s) == "composition" for s in handlers)
        verdicts.append(
            _verdict(
                "uses_composition", composed == expect.uses_composition, f"composition {composed}"
            )
        )
    ancestors = _ancestors(fragment)
    for before, after in expect.depends:
        held = any(
            any(_names(a, handlers, before) for a in ancestors[step])
            for step in handlers
            if _names(step, handlers, after)
        )
        verdicts.append(_verdict(f"depends {before} -> {after}", held, "by name or handler"))
    written = sorted({str(ref) for step in fragment.steps for ref in step.inputs.values()})
    for reference in expect.references:
        verdicts.append(
            _verdict(f"references {reference}", reference in written, "read: " + _list(written))
        )
    for stage in expect.no_findings_of_stage:
        codes = [f.code for f in check.findings if f.stage == stage]
        verdicts.append(_verdict(f"no_findings_of_stage {stage}", not codes, _list(codes)))
    return verdicts


def _verdict(name: str, passed: bool, detail: str) -> PropertyVerdict:
    return PropertyVerdict(name=name, passed=passed, detail=detail)


def _list(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "none"


def _handler_name(handler: object) -> str:
    if isinstance(handler, CallableHandler):
        return handler.callable
    if isinstance(handler, GrammarHandler):
        return handler.grammar
    return "composition"


def _kind(fragment: Fragment, name: str) -> str:
    step = next(step for step in fragment.steps if step.name == name)
    if isinstance(step.handler, CallableHandler):
        return "callable"
    if isinstance(step.handler, CompositionHandler):
        return "composition"
    return "grammar"


def _names(step: str, handlers: dict[str, str], wanted: str) -> bool:
    from tasker_ctl.planning.callables import matches

    handler = handlers[step]
    return wanted in (step, handler) or matches(handler, [wanted])


def _ancestors(fragment: Fragment) -> dict[str, set[str]]:
    parents = {step.name: set(step.dependencies) for step in fragment.steps}
    found: dict[str, set[str]] = {}
    for name in parents:
        seen: set[str] = set()
        pending = list(parents[name])
        while pending:
            parent = pending.pop()
            if parent in seen or parent not in parents:
                continue
            seen.add(parent)
            pending.extend(parents[parent])
        found[name] = seen
    return found
