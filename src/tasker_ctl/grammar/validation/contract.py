"""What a composition can rely on from the step that runs it, and how it may mutate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# "checkpointed": every mutating invocation is a checkpoint boundary (Tasker Core's rule);
# "strict": additionally a single mutation, with nothing that can fail after it
MutationPolicy = Literal["checkpointed", "strict"]
MUTATION_POLICIES: tuple[MutationPolicy, ...] = ("checkpointed", "strict")

# what ``.step`` holds at run time; ``inputs`` and ``invocations`` are open
STEP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "uuid": {"type": "string"},
        "attempt": {"type": "integer"},
        "max_attempts": {"type": "integer"},
        "inputs": {},
        "invocations": {"type": "object"},
    },
    "additionalProperties": False,
}


@dataclass(frozen=True)
class StepContract:
    """The step around a composition: what ``.deps`` and ``.context`` hold, and what the
    step promises to produce.

    ``dependency_names`` are the steps whose results ``.deps`` carries (the step's declared
    dependencies); ``None`` means unknown, so ``.deps`` paths are not checked. A schema of
    ``None`` means undeclared.
    """

    step_name: str | None = None
    dependency_names: tuple[str, ...] | None = None
    dependency_schemas: Mapping[str, Any] = field(default_factory=dict)
    input_schema: Any = None
    result_schema: Any = None
