"""Planning: the workflow fragment a planner proposes for a ``type: planning`` step.

The format (models, JSON Schema, the parse into findings), the frame a fragment fills and
``check_fragment``, its nine validation stages (docs/fragments.md); the planner that asks a
model for a fragment, or replays a cassette (docs/planning.md). The model's adapter, the prompt
and the prices are imported from their modules when used, never here.
"""

from __future__ import annotations

from tasker_ctl.planning.findings import (
    FRAGMENT_CODES,
    FragmentCode,
    FragmentFinding,
    parse_fragment,
)
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
from tasker_ctl.planning.frame import FragmentFrame
from tasker_ctl.planning.planner import (
    Planner,
    PlannerAnswer,
    PlannerRequest,
    open_planner,
    resolve_planner_spec,
)
from tasker_ctl.planning.validator import FragmentCheck, check_fragment

__all__ = [
    "FRAGMENT_CODES",
    "CallableHandler",
    "CompositionHandler",
    "Fragment",
    "FragmentCheck",
    "FragmentCode",
    "FragmentFinding",
    "FragmentFrame",
    "FragmentStep",
    "GrammarHandler",
    "InputReference",
    "Planner",
    "PlannerAnswer",
    "PlannerRequest",
    "PlanningContext",
    "ResourceBounds",
    "check_fragment",
    "fragment_json_schema",
    "open_planner",
    "parse_fragment",
    "resolve_planner_spec",
]
