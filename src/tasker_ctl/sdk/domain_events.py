"""Custom domain event publishers: the ``tasker_core.domain_events`` publishing API.

A step's ``publishes_events`` declarations are published by the worker when the step's outcome
is recorded (docs/domain-events.md). A declaration that names a ``publisher`` is published
through it: a ``BasePublisher`` subclass in a ``--handlers`` module, found like a handler (by
its ``publisher_name``, or by ``module.ClassName``). The publisher sees the step's outcome in
a ``StepEventContext`` and may skip the event (``should_publish``, ``before_publish``), build
its payload (``transform_payload``) and add metadata (``additional_metadata``);
``after_publish`` is told once the event is in the outbox. A declaration without a publisher,
or whose publisher is not loaded, uses ``DefaultPublisher``: the step's result as it is.

Hooks run in the worker, before the outcome's transaction; what they raise is recorded with
the event (``DOMAIN_EVENT_PUBLISHER_FAILED``) and never fails the step, as in Tasker Core.
"""

from __future__ import annotations

import inspect
import logging
from abc import ABC, abstractmethod
from types import ModuleType
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BasePublisher",
    "DefaultPublisher",
    "EventDeclaration",
    "PublisherRegistry",
    "StepEventContext",
    "as_publisher_class",
]

logger = logging.getLogger("tasker_ctl.domain_events")

Condition = Literal["success", "failure", "retryable_failure", "permanent_failure", "always"]
Outcome = Literal["success", "retryable_failure", "permanent_failure"]


class EventDeclaration(BaseModel):
    """One entry of a step's ``publishes_events``, as the template declares it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(description="The event's name, e.g. 'payment.processed'.")
    description: str = Field(default="", description="When the event is published.")
    condition: Condition = Field(default="success", description="Which outcomes publish it.")
    delivery_mode: Literal["durable", "fast", "broadcast"] = Field(
        default="durable", description="How consumers take it (docs/domain-events.md)."
    )
    publisher: str | None = Field(default=None, description="The custom publisher's name.")
    schema_: Any = Field(default=None, alias="schema", description="The payload's JSON Schema.")


class StepEventContext(BaseModel):
    """What a publisher knows of the outcome an event describes.

    The first seven fields are ``tasker_core``'s; the others say which event is published and
    what the outcome was. ``result`` is the handler's result (None for a failure), ``error``
    the failure's ``{message, error_type, retryable, metadata}`` (None for a success).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_uuid: str
    step_uuid: str
    step_name: str
    namespace: str
    correlation_id: str
    result: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    event_name: str = ""
    event_declaration: EventDeclaration | None = None
    success: bool = True
    outcome: Outcome = "success"
    attempt: int = 1
    error: dict[str, Any] | None = None
    task_context: Any = None


class BasePublisher(ABC):
    """A custom publisher: override the hooks that matter; every default publishes the step's
    result unchanged."""

    @property
    @abstractmethod
    def publisher_name(self) -> str:
        """The name a declaration's ``publisher`` gives."""

    def should_publish(self, ctx: StepEventContext) -> bool:
        """Whether to publish this event at all (its declared condition already holds)."""
        return True

    def transform_payload(self, ctx: StepEventContext) -> Any:
        """The event's payload; by default the step's result (``{}`` for a failure, which
        has none, as in Tasker Core)."""
        return ctx.result if ctx.result is not None else {}

    def additional_metadata(self, ctx: StepEventContext) -> dict[str, Any]:
        """Fields added to the event's metadata."""
        return {}

    def before_publish(self, event_name: str, payload: Any, metadata: dict[str, Any]) -> bool:
        """Last look before the event is written; False skips it."""
        return True

    def after_publish(  # noqa: B027 - a hook: doing nothing is the default
        self, event_name: str, payload: Any, metadata: dict[str, Any]
    ) -> None:
        """Told after the outcome and the event were committed (an in-process subscriber)."""

    def on_publish_error(self, event_name: str, error: Exception, payload: Any) -> None:
        """Told when a hook raised; the event is recorded as rejected."""
        logger.warning("publisher %s failed on %s: %s", self.publisher_name, event_name, error)


class DefaultPublisher(BasePublisher):
    """What publishes a declaration without a publisher: the step's result as it is."""

    @property
    def publisher_name(self) -> str:
        return "default"


def as_publisher_class(obj: object) -> type[BasePublisher] | None:
    """``obj`` as a publisher class that can be instantiated, or None."""
    if isinstance(obj, type) and issubclass(obj, BasePublisher) and not inspect.isabstract(obj):
        return obj
    return None


class PublisherRegistry:
    """Publishers by ``publisher_name``; ``instance()`` is the process-wide one, where
    ``tasker_core`` code registers its publishers."""

    _instance: ClassVar[PublisherRegistry | None] = None

    def __init__(self) -> None:
        self._publishers: dict[str, BasePublisher] = {}

    @classmethod
    def instance(cls) -> PublisherRegistry:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    @classmethod
    def reset_instance(cls) -> None:
        cls._instance = None

    def register(self, publisher: BasePublisher) -> None:
        """Register ``publisher`` under its ``publisher_name`` (a later one replaces it)."""
        if not isinstance(publisher, BasePublisher):
            raise ValueError(f"a publisher must be a BasePublisher instance, got {publisher!r}")
        self._publishers[publisher.publisher_name] = publisher

    def unregister(self, name: str) -> bool:
        return self._publishers.pop(name, None) is not None

    def get(self, name: str) -> BasePublisher | None:
        return self._publishers.get(name)

    def is_registered(self, name: str) -> bool:
        return name in self._publishers

    def list_publishers(self) -> list[str]:
        return list(self._publishers)

    def clear(self) -> None:
        self._publishers.clear()

    def register_module(self, module: ModuleType) -> int:
        """Register an instance of every concrete publisher class ``module`` holds (the
        default one aside); how many. A class whose construction fails is left out, with a
        warning: a declaration naming it then uses the default publisher."""
        count = 0
        for value in list(vars(module).values()):
            cls = as_publisher_class(value)
            if cls is None or cls is DefaultPublisher:
                continue
            try:
                self.register(cls())
            except Exception as error:
                logger.warning("publisher %s not registered: %s", cls.__qualname__, error)
                continue
            count += 1
        return count
