"""Planning: the workflow fragment a planner proposes for a ``type: planning`` step.

Only the format exists so far: the models, their JSON Schema and the parse into findings.
Checking a fragment against its template, asking a model for one and materializing it as steps
are not built yet (docs/fragments.md).
"""

from __future__ import annotations

from tasker_ctl.planning.findings import FRAGMENT_CODES, parse_fragment
from tasker_ctl.planning.fragment import (
    CallableHandler,
    CompositionHandler,
    Fragment,
    FragmentStep,
    GrammarHandler,
    InputReference,
    PlanningContext,
    ResourceBounds,
)
from tasker_ctl.planning.fragment_schema import fragment_json_schema

__all__ = [
    "FRAGMENT_CODES",
    "CallableHandler",
    "CompositionHandler",
    "Fragment",
    "FragmentStep",
    "GrammarHandler",
    "InputReference",
    "PlanningContext",
    "ResourceBounds",
    "fragment_json_schema",
    "parse_fragment",
]
