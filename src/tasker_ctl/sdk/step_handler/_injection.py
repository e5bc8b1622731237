"""Machinery behind the decorator API: argument injection, result wrapping, error capture.

``functional`` builds on these; handler code never imports this module.
"""

from __future__ import annotations

import inspect
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from pydantic import BaseModel

from tasker_ctl.sdk.errors import PermanentError, RetryableError, TaskerError
from tasker_ctl.sdk.step_handler.base import StepHandler
from tasker_ctl.sdk.types import ErrorType, StepContext, StepHandlerResult

__all__ = [
    "Finisher",
    "Implicit",
    "dump_model",
    "make_handler_class",
    "wrap_exception",
    "wrap_result",
]

#: Turns what the decorated function returned into the step's result.
Finisher = Callable[[StepHandler, Any], StepHandlerResult]
#: Extra values a specialised decorator offers the function (e.g. ``batch_context``).
Implicit = Callable[[StepHandler, StepContext], dict[str, Any]]


def dump_model(model: BaseModel) -> dict[str, Any]:
    """A model as stored JSON, keyed by alias.

    Tasker Core dumps without ``by_alias``; a model whose fields have (say) camelCase aliases
    then stores snake_case keys that the same model cannot validate back downstream. Dumping
    by alias makes result models round-trip through ``@depends_on(x=("step", Model))``.
    Fields the handler never set are left out rather than written as ``null``: a schema that
    declares an optional string accepts its absence but not ``null``.
    """
    dumped = model.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if not isinstance(dumped, dict):
        raise TypeError(f"{type(model).__name__} does not dump to a JSON object")
    return dumped


def wrap_result(value: Any) -> StepHandlerResult:
    """A decorated function's return value as a result.

    A ``StepHandlerResult`` passes through; a dict is the result; a pydantic model is dumped
    (``dump_model``); None is ``{}``; any other value becomes ``{"result": value}``.
    """
    if isinstance(value, StepHandlerResult):
        return value
    if isinstance(value, dict):
        return StepHandlerResult.success(value)
    if isinstance(value, BaseModel):
        return StepHandlerResult.success(dump_model(value))
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return StepHandlerResult.success(dump(mode="json"))
    if value is None:
        return StepHandlerResult.success({})
    return StepHandlerResult.success({"result": value})


def wrap_exception(exc: Exception) -> StepHandlerResult:
    """The failure for an exception raised inside a decorated function.

    ``PermanentError`` fails for good, ``RetryableError`` asks for a retry, another
    ``TaskerError`` follows its ``retryable``; any other exception is a retryable
    ``handler_error`` carrying its type and traceback. The error's ``error_code`` is kept on
    the result too (it is already in its metadata).
    """
    if isinstance(exc, PermanentError):
        error_type, retryable = ErrorType.PERMANENT_ERROR, False
    elif isinstance(exc, RetryableError):
        error_type, retryable = ErrorType.RETRYABLE_ERROR, True
    elif isinstance(exc, TaskerError):
        error_type, retryable = ErrorType.HANDLER_ERROR, exc.retryable
    else:
        return StepHandlerResult.failure(
            message=str(exc),
            error_type=ErrorType.HANDLER_ERROR,
            retryable=True,
            metadata={
                "exception_type": type(exc).__name__,
                "traceback": "".join(traceback.format_exception(exc)),
            },
        )
    return StepHandlerResult.failure(
        message=str(exc),
        error_type=error_type,
        retryable=retryable,
        metadata=dict(exc.metadata),
        error_code=exc.error_code,
    )


@dataclass(frozen=True)
class _Parameters:
    """The keyword parameters a function accepts."""

    names: frozenset[str]
    var_keyword: bool

    @classmethod
    def of(cls, fn: Callable[..., Any]) -> _Parameters:
        try:
            parameters = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            return cls(frozenset(), True)
        keyword_kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        return cls(
            frozenset(p.name for p in parameters if p.kind in keyword_kinds),
            any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters),
        )

    def target(self, key: str) -> str | None:
        """The parameter that receives ``key``: ``key`` itself, else ``_key``, else None.

        Tasker Core passes ``key`` only, so a handler declaring ``@inputs("reason")`` on a
        parameter ``_reason`` (the usual "unused" spelling) fails with a TypeError there; the
        intended mapping is applied here.
        """
        if key in self.names:
            return key
        if f"_{key}" in self.names:
            return f"_{key}"
        return key if self.var_keyword else None


def _injected(fn: Callable[..., Any], context: StepContext, params: _Parameters) -> dict[str, Any]:
    """The keyword arguments declared with ``@depends_on`` / ``@inputs`` plus the context."""
    values: dict[str, Any] = {}
    dep_models: dict[str, type[BaseModel]] = getattr(fn, "_dep_models", {})
    for param, step_name in getattr(fn, "_depends_on", {}).items():
        raw = context.get_dependency_result(step_name)
        model = dep_models.get(param)
        values[param] = raw if model is None or raw is None else model.model_validate(raw)
    for key in getattr(fn, "_inputs", []):
        values[key] = context.get_input(key)
    input_model: type[BaseModel] | None = getattr(fn, "_input_model", None)
    if input_model is not None:
        values["inputs"] = input_model.model_validate(context.input_data)
    # A declared name the function cannot take is still passed, so the mistake surfaces as
    # the TypeError Tasker Core reports rather than as a silently missing value.
    kwargs = {params.target(key) or key: value for key, value in values.items()}
    if "context" in params.names:
        kwargs["context"] = context
    elif "_context" in params.names:
        kwargs["_context"] = context
    return kwargs


def make_handler_class(
    fn: Callable[..., Any],
    name: str,
    version: str,
    finish: Finisher,
    mixins: tuple[type, ...] = (),
    implicit: Implicit | None = None,
) -> type[StepHandler]:
    """A ``StepHandler`` subclass whose ``call`` runs ``fn`` (``async`` if ``fn`` is).

    Injection metadata is read from ``fn`` at call time, so the order of ``@step_handler``,
    ``@depends_on`` and ``@inputs`` does not matter (Tasker Core requires ``@step_handler``
    outermost). Implicit values are passed only to functions that accept them.
    """
    resolved: list[_Parameters] = []

    def arguments(handler: StepHandler, context: StepContext) -> dict[str, Any]:
        if not resolved:
            resolved.append(_Parameters.of(fn))
        params = resolved[0]
        kwargs = _injected(fn, context, params)
        for key, value in (implicit(handler, context) if implicit else {}).items():
            target = params.target(key)
            if target is not None:
                kwargs[target] = value
        return kwargs

    call: Callable[..., Any]
    if inspect.iscoroutinefunction(fn):

        async def call_async(self: StepHandler, context: StepContext) -> StepHandlerResult:
            try:
                return finish(self, await fn(**arguments(self, context)))
            except Exception as exc:
                return wrap_exception(exc)

        call = call_async
    else:

        def call_sync(self: StepHandler, context: StepContext) -> StepHandlerResult:
            try:
                return finish(self, fn(**arguments(self, context)))
            except Exception as exc:
                return wrap_exception(exc)

        call = call_sync

    namespace: dict[str, Any] = {
        "handler_name": name,
        "handler_version": version,
        "call": call,
        "__doc__": getattr(fn, "__doc__", None),
        "__module__": getattr(fn, "__module__", __name__),
        "__qualname__": getattr(fn, "__qualname__", name),
    }
    cls = types.new_class(
        getattr(fn, "__name__", "FunctionalHandler"),
        (*mixins, StepHandler),
        exec_body=lambda ns: ns.update(namespace),
    )
    return cast("type[StepHandler]", cls)
