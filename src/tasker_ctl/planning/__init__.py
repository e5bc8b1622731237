"""Planning: the workflow fragment a planner proposes for a ``type: planning`` step.

The format (models, JSON Schema, the parse into findings), the frame a fragment fills and
``check_fragment``, its nine validation stages (docs/fragments.md); the planner that asks a
model for a fragment, or replays a cassette (docs/planning.md). The model's adapter, the prompt
and the prices are imported from their modules when used, never here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasker_ctl.lazy_exports import lazy_exports

if TYPE_CHECKING:
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

_EXPORTS = {
    "FRAGMENT_CODES": "findings",
    "FragmentCode": "findings",
    "FragmentFinding": "findings",
    "parse_fragment": "findings",
    "CallableHandler": "fragment",
    "CompositionHandler": "fragment",
    "Fragment": "fragment",
    "FragmentStep": "fragment",
    "GrammarHandler": "fragment",
    "InputReference": "fragment",
    "PlanningContext": "fragment",
    "ResourceBounds": "fragment",
    "fragment_json_schema": "fragment_schema",
    "FragmentFrame": "frame",
    "Planner": "planner",
    "PlannerAnswer": "planner",
    "PlannerRequest": "planner",
    "open_planner": "planner",
    "resolve_planner_spec": "planner",
    "FragmentCheck": "validator",
    "check_fragment": "validator",
}

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

__getattr__ = lazy_exports(__name__, _EXPORTS)
