"""Decorator API: write a handler as a function (``tasker_core.step_handler.functional``).

::

    @step_handler("orders.validate")
    @depends_on(cart="fetch_cart")
    @inputs("customer_id")
    def validate(cart, customer_id, context):
        return {"valid": bool(cart) and customer_id is not None}

Each decorator returns the function itself, unchanged and still callable (so type checkers
keep its signature), after attaching ``fn._handler_class``: a generated ``StepHandler``
subclass named after the function. Declared dependencies and inputs are passed as keyword
arguments, plus ``context`` (or ``_context``) when the function has such a parameter. A
parameter spelled ``_name`` receives the value declared as ``name`` when there is no
parameter ``name`` (Tasker Core lacks this mapping and fails such handlers).

Return values: a ``StepHandlerResult`` passes through, a dict is the result, a pydantic model
is dumped as JSON *by alias*, None is ``{}``, anything else becomes ``{"result": value}``.
Exceptions become failures: ``PermanentError`` permanent, ``RetryableError`` retryable,
another ``TaskerError`` per its ``retryable``, anything else a retryable ``handler_error``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from tasker_ctl.sdk.batch_processing.batchable import Batchable
from tasker_ctl.sdk.step_handler._injection import dump_model, make_handler_class, wrap_result
from tasker_ctl.sdk.step_handler.base import StepHandler
from tasker_ctl.sdk.step_handler.mixins.decision import (
    DecisionMixin,
    decision_metadata,
    decision_outcome_result,
)
from tasker_ctl.sdk.types import (
    DecisionPointOutcome,
    DecisionType,
    StepContext,
    StepHandlerResult,
)

__all__ = [
    "BatchConfig",
    "Decision",
    "FunctionalHandler",
    "HandlerDecorator",
    "batch_analyzer",
    "batch_worker",
    "decision_handler",
    "depends_on",
    "handler_class",
    "inputs",
    "step_handler",
]

F = TypeVar("F", bound=Callable[..., Any])


@runtime_checkable
class FunctionalHandler(Protocol):
    """A decorated handler function: callable, with the generated class attached."""

    _handler_class: type[StepHandler]
    __name__: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...


#: Tasker Core's name for a decorator's type; the decorators here are ``Callable[[F], F]``.
HandlerDecorator = Callable[[Callable[..., Any]], FunctionalHandler]


def handler_class(fn: Callable[..., Any]) -> type[StepHandler]:
    """The ``StepHandler`` subclass a handler decorator attached to ``fn``."""
    cls = getattr(fn, "_handler_class", None)
    if not (isinstance(cls, type) and issubclass(cls, StepHandler)):
        raise TypeError(f"{fn!r} is not decorated with a handler decorator")
    return cls


def _extra_result(result: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    return dump_model(result) if isinstance(result, BaseModel) else dict(result)


def _split_result(
    result: Any, routing_context: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate extra result fields from routing context.

    Only a mapping or a model counts as ``result``; any other value stays the routing-context
    key ``result`` it is in Tasker Core, where ``result=`` is not a parameter.
    """
    if result is None:
        return {}, routing_context
    if isinstance(result, Mapping | BaseModel):
        return _extra_result(result), routing_context
    return {}, {**routing_context, "result": result}


@dataclass(frozen=True)
class Decision:
    """What a ``@decision_handler`` function returns: ``Decision.route`` or ``Decision.skip``.

    ``extra_result`` (an extension) holds fields stored in the step result beside
    ``decision_point_outcome``; the decision keys win on a clash.
    """

    outcome: DecisionPointOutcome
    extra_result: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def route(
        steps: Sequence[str],
        *,
        result: Mapping[str, Any] | BaseModel | None = None,
        **routing_context: Any,
    ) -> Decision:
        """Create the named branch steps; keyword arguments become the routing context.

        ``result`` (an extension of Tasker Core's API) adds fields to the stored result, e.g.
        the decision step's typed result model.
        """
        extra, context = _split_result(result, routing_context)
        outcome = DecisionPointOutcome.create_steps(list(steps), routing_context=context)
        return Decision(outcome, extra)

    @staticmethod
    def skip(
        reason: str,
        *,
        result: Mapping[str, Any] | BaseModel | None = None,
        **routing_context: Any,
    ) -> Decision:
        """Create no branch steps (an empty reason is stored as ``"No branches"``)."""
        extra, context = _split_result(result, routing_context)
        return Decision(DecisionPointOutcome.no_branches(reason, routing_context=context), extra)


@dataclass
class BatchConfig:
    """What a ``@batch_analyzer`` function returns: split ``total_items`` into batches.

    ``result`` (an extension of tasker_ctl) adds fields of the step's own result schema next
    to the batch outcome; the outcome's keys win on a clash.
    """

    total_items: int
    batch_size: int
    metadata: dict[str, Any] = field(default_factory=dict)
    result: Mapping[str, Any] | BaseModel | None = None


def _attach(fn: F, cls: type[StepHandler]) -> F:
    # Functions accept arbitrary attributes; setattr keeps the static type of ``fn`` intact.
    setattr(fn, "_handler_class", cls)  # noqa: B010
    return fn


def _plain(handler: StepHandler, value: Any) -> StepHandlerResult:
    return wrap_result(value)


def step_handler(name: str, version: str = "1.0.0") -> Callable[[F], F]:
    """Make ``fn`` the handler registered as ``name`` (a template's ``handler.callable``)."""

    def decorate(fn: F) -> F:
        return _attach(fn, make_handler_class(fn, name, version, _plain))

    return decorate


def depends_on(**deps: str | tuple[str, type[BaseModel]]) -> Callable[[F], F]:
    """Inject ancestors' results: ``param="step"`` or ``param=("step", Model)``.

    The value is the step's unwrapped result, None if the step has no result; with a model,
    ``Model.model_validate(result)`` (still None when absent).
    """

    def decorate(fn: F) -> F:
        steps = dict(getattr(fn, "_depends_on", {}))
        models = dict(getattr(fn, "_dep_models", {}))
        for param, spec in deps.items():
            if isinstance(spec, tuple):
                steps[param], models[param] = spec
            else:
                steps[param] = spec
                models.pop(param, None)
        setattr(fn, "_depends_on", steps)  # noqa: B010
        setattr(fn, "_dep_models", models)  # noqa: B010
        return fn

    return decorate


def inputs(*keys_or_model: str | type[BaseModel]) -> Callable[[F], F]:
    """Inject task-context values: ``@inputs("a", "b")`` or ``@inputs(Model)``.

    With keys, each parameter receives ``context.get_input(key)``. With a model, the parameter
    ``inputs`` receives ``Model.model_validate(context.input_data)``: the whole task context
    is validated, so aliases, defaults and validators apply (Tasker Core instead calls
    ``Model(**{field: get_input(field)})`` field by field).
    """
    model: type[BaseModel] | None = None
    keys: list[str] = []
    if len(keys_or_model) == 1 and isinstance(keys_or_model[0], type):
        model = keys_or_model[0]
    else:
        for key in keys_or_model:
            if not isinstance(key, str):
                raise TypeError("@inputs takes input keys, or a single model class")
            keys.append(key)

    def decorate(fn: F) -> F:
        if model is not None:
            setattr(fn, "_input_model", model)  # noqa: B010
        else:
            setattr(fn, "_inputs", [*getattr(fn, "_inputs", []), *keys])  # noqa: B010
        return fn

    return decorate


def decision_handler(name: str, version: str = "1.0.0") -> Callable[[F], F]:
    """A decision-point handler; the function returns ``Decision.route`` / ``Decision.skip``.

    Other return values follow the plain wrapping rules.
    """

    def finish(handler: StepHandler, value: Any) -> StepHandlerResult:
        if not isinstance(value, Decision):
            return wrap_result(value)
        outcome = value.outcome
        if outcome.decision_type == DecisionType.NO_BRANCHES and not outcome.reason:
            outcome = outcome.model_copy(update={"reason": "No branches"})
        result = decision_outcome_result(outcome)
        result.update({k: v for k, v in value.extra_result.items() if k not in result})
        return StepHandlerResult.success(result, decision_metadata(handler))

    def decorate(fn: F) -> F:
        cls = make_handler_class(fn, name, version, finish, mixins=(DecisionMixin,))
        return _attach(fn, cls)

    return decorate


def batch_analyzer(name: str, worker_template: str, version: str = "1.0.0") -> Callable[[F], F]:
    """A batchable step's handler; the function returns a ``BatchConfig``.

    The config becomes ``create_batch_outcome`` ranges and a ``batch_analyzer_success``
    result for workers of template step ``worker_template``.
    """

    def finish(handler: StepHandler, value: Any) -> StepHandlerResult:
        if not isinstance(value, BatchConfig):
            return wrap_result(value)
        if not isinstance(handler, Batchable):
            raise TypeError("batch analyzer handler classes must mix in Batchable")
        outcome = handler.create_batch_outcome(
            total_items=value.total_items,
            batch_size=value.batch_size,
            batch_metadata=value.metadata,
        )
        produced = handler.batch_analyzer_success(outcome, worker_template_name=worker_template)
        if value.result is None or not produced.is_success:
            return produced
        extra = dump_model(value.result) if isinstance(value.result, BaseModel) else value.result
        produced.result = {**extra, **(produced.result or {})}
        return produced

    def decorate(fn: F) -> F:
        cls = make_handler_class(fn, name, version, finish, mixins=(Batchable,))
        return _attach(fn, cls)

    return decorate


def batch_worker(name: str, version: str = "1.0.0") -> Callable[[F], F]:
    """A batch worker's handler; the function may take ``batch_context``.

    ``batch_context`` is the worker's ``BatchWorkerContext`` (None outside a batch), passed
    only if the function has that parameter (Tasker Core always passes it).
    """

    def batch_context(handler: StepHandler, context: StepContext) -> dict[str, Any]:
        if not isinstance(handler, Batchable):
            raise TypeError("batch worker handler classes must mix in Batchable")
        return {"batch_context": handler.get_batch_context(context)}

    def decorate(fn: F) -> F:
        cls = make_handler_class(
            fn, name, version, _plain, mixins=(Batchable,), implicit=batch_context
        )
        return _attach(fn, cls)

    return decorate
