"""Seeded defects and valid fragments with nested planning steps (``step_type: planning``),
on tests/fixtures/fragments/nested.yaml (``max_nesting: 2``) and on frames one and two
levels down (``planning_definition``, ``nesting`` and ``planned_steps``). seeded_cases.py
adds them to its DEFECTS and VALID."""

from __future__ import annotations

from typing import Any

from tasker_ctl.planning.fragment import FragmentStep
from tasker_ctl.planning.nesting import nested_definition
from tasker_ctl.template.model import StepDefinition
from tests.unit.planning.fragments_support import call, fragment, template

NESTED = "nested"
CHECK = "ops.checks.scan"


def planner(
    name: str,
    *deps: str,
    goal: str = "Fix what the scan found",
    context_from: tuple[str, ...] = (),
    max_steps: int = 3,
    max_depth: int = 2,
    **extra: Any,
) -> dict[str, Any]:
    """A nested planning step."""
    step: dict[str, Any] = {
        "name": name,
        "step_type": "planning",
        "planning": {
            "goal": goal,
            "context_from": list(context_from),
            "max_steps": max_steps,
            "max_depth": max_depth,
        },
    }
    if deps:
        step["dependencies"] = list(deps)
    return {**step, **extra}


def _outer() -> StepDefinition:
    step = template(NESTED).step("plan")
    assert step is not None
    return step


PROBE_CONFIG = {
    "resource": "crm",
    "entity": "v1/hosts",
    "response_schema": {
        "type": "object",
        "required": ["host_id"],
        "properties": {"host_id": {"type": "string"}, "healthy": {"type": "boolean"}},
    },
}


def level_one() -> dict[str, Any]:
    """The facts of a frame for 'deep', a nested planner that the template step 'plan'
    planned after a callable 'scan' and a grammar step 'probe' (level 1 of 2)."""
    deep = nested_definition(
        _outer(),
        FragmentStep.model_validate(
            planner("deep", "scan", "probe", context_from=("scan",), max_steps=5, max_depth=3)
        ),
    )
    planned = {
        "scan": StepDefinition.model_validate(
            {"name": "scan", "handler": {"callable": CHECK}, "dependencies": ["plan"]}
        ),
        "probe": StepDefinition.model_validate(
            {
                "name": "probe",
                "handler": {"callable": "grammar:probe"},
                "dependencies": ["plan"],
                "composition": {"pattern": "http_request", "config": PROBE_CONFIG},
            }
        ),
        "elsewhere": StepDefinition.model_validate(
            {"name": "elsewhere", "handler": {"callable": CHECK}, "dependencies": ["plan"]}
        ),
        "deep": deep,
    }
    return {"step": "deep", "planning_definition": deep, "nesting": 1, "planned_steps": planned}


def level_two() -> dict[str, Any]:
    """A frame for 'deeper', planned by 'deep' (level 2 of 2: no level left)."""
    one = level_one()
    deeper = nested_definition(
        one["planning_definition"],
        FragmentStep.model_validate(planner("deeper", "fix", max_steps=2, max_depth=2)),
    )
    planned = {
        **one["planned_steps"],
        "fix": StepDefinition.model_validate(
            {"name": "fix", "handler": {"callable": "ops.fix"}, "dependencies": ["deep"]}
        ),
        "deeper": deeper,
    }
    return {
        "step": "deeper",
        "planning_definition": deeper,
        "nesting": 2,
        "planned_steps": planned,
    }


Defect = tuple[int, str, str, Any, str, dict[str, Any]]


def _planning_step_shape() -> list[Defect]:
    code = "FRAGMENT_PLANNING_STEP_INVALID"
    bad_steps: list[tuple[str, dict[str, Any]]] = [
        ("planner-callable", planner("deep", handler={"callable": CHECK})),
        ("planner-grammar", planner("deep", handler={"grammar": "http_request", "config": {}})),
        ("planner-own-handler", planner("deep", handler={"callable": "tasker.planner"})),
        ("planner-inputs", planner("deep", inputs={"fleet": "${task.context.fleet}"})),
        (
            "planner-two-inputs",
            planner("deep", inputs={"a": "${task.context}", "b": "${steps.inventory.result}"}),
        ),
        ("planner-no-block", {"name": "deep", "step_type": "planning"}),
        ("planner-null-block", {"name": "deep", "step_type": "planning", "planning": None}),
        ("callable-with-block", {**call("a", CHECK), "planning": planner("x")["planning"]}),
        (
            "deferred-with-block",
            {
                **call("a", CHECK),
                "step_type": "deferred_convergence",
                "planning": planner("x")["planning"],
            },
        ),
        (
            "standard-with-block",
            {**call("a", CHECK), "step_type": "standard", "planning": planner("x")["planning"]},
        ),
    ]
    found: list[Defect] = [(1, code, name, fragment(step), NESTED, {}) for name, step in bad_steps]
    found.append(
        (
            1,
            code,
            "second-step-planner-callable",
            fragment(call("scan", CHECK), planner("deep", "scan", handler={"callable": CHECK})),
            NESTED,
            {},
        )
    )
    return found


def _context_from() -> list[Defect]:
    code = "FRAGMENT_REFERENCE_NOT_UPSTREAM"
    found: list[Defect] = []
    for name in ("side", "report"):
        data = fragment(call("scan", CHECK), planner("deep", "scan", context_from=(name,)))
        found.append((6, code, f"context-frame-{name}", data, NESTED, {}))
    sibling = fragment(
        call("scan", CHECK), call("probe", CHECK), planner("deep", "scan", context_from=("probe",))
    )
    found.append((6, code, "context-sibling", sibling, NESTED, {}))
    later = fragment(
        call("scan", CHECK),
        planner("deep", "scan", context_from=("after",)),
        call("after", CHECK, "scan"),
    )
    found.append((6, code, "context-later-step", later, NESTED, {}))
    itself = fragment(call("scan", CHECK), planner("deep", "scan", context_from=("deep",)))
    found.append((6, code, "context-itself", itself, NESTED, {}))
    other = fragment(
        call("scan", CHECK),
        planner("deep", "scan", context_from=("wide",)),
        planner("wide", "scan"),
    )
    found.append((6, code, "context-other-planner", other, NESTED, {}))
    earlier = fragment(call("scan", CHECK), planner("deep", "scan", context_from=("old_fix",)))
    found.append(
        (
            6,
            code,
            "context-earlier-fill",
            earlier,
            NESTED,
            {"existing_steps": frozenset({"old_fix"})},
        )
    )
    for name in ("elsewhere", "side"):
        data = fragment(call("a", CHECK), planner("p2", "a", context_from=(name,)))
        found.append((6, code, f"context-level-one-{name}", data, NESTED, level_one()))
    second = fragment(
        call("scan", CHECK),
        planner("deep", "scan", context_from=("inventory", "side")),
    )
    found.append((6, code, "context-second-entry", second, NESTED, {}))
    return found


def _nested_bounds() -> list[Defect]:
    code = "FRAGMENT_NESTED_BOUNDS_EXCEEDED"
    found: list[Defect] = []
    for steps in (11, 12, 20, 1000):
        data = fragment(call("scan", CHECK), planner("deep", "scan", max_steps=steps))
        found.append((8, code, f"nested-steps-{steps}", data, NESTED, {}))
    for depth in (5, 6, 9):
        data = fragment(call("scan", CHECK), planner("deep", "scan", max_depth=depth))
        found.append((8, code, f"nested-depth-{depth}", data, NESTED, {}))
    for remaining, steps in ((5, 4), (3, 2), (2, 1), (10, 9)):
        data = fragment(call("scan", CHECK), planner("deep", "scan", max_steps=steps))
        found.append(
            (
                8,
                code,
                f"nested-budget-{remaining}-{steps}",
                data,
                NESTED,
                {"remaining_steps": remaining},
            )
        )
    for steps, depth in ((6, 1), (3, 4)):
        data = fragment(call("a", CHECK), planner("p2", "a", max_steps=steps, max_depth=depth))
        found.append((8, code, f"nested-level-one-{steps}-{depth}", data, NESTED, level_one()))
    return found


def _nesting_exceeded() -> list[Defect]:
    code = "FRAGMENT_NESTING_EXCEEDED"
    found: list[Defect] = []
    shapes = {
        "alone": fragment(planner("deep")),
        "after-call": fragment(call("a"), planner("deep", "a")),
        "two-planners": fragment(call("a"), planner("deep", "a"), planner("wide", "a")),
        "reads-intake": fragment(call("a"), planner("deep", "a", context_from=("intake",))),
        "after-plan": fragment(planner("deep", "plan")),
    }
    found += [(9, code, f"no-nesting-{name}", data, "frame", {}) for name, data in shapes.items()]
    tight = {
        "alone": fragment(planner("deep", max_depth=1)),
        "after-lookup": fragment(call("a", "desk.lookup"), planner("deep", "a", max_depth=1)),
    }
    found += [(9, code, f"tight-{name}", data, "tight", {}) for name, data in tight.items()]
    deepest = {
        "alone": fragment(planner("p3", max_steps=1, max_depth=1)),
        "after-call": fragment(call("a", CHECK), planner("p3", "a", max_steps=1, max_depth=1)),
        "reads-fix": fragment(
            call("a", CHECK), planner("p3", "a", context_from=("fix",), max_steps=1, max_depth=1)
        ),
    }
    found += [
        (9, code, f"level-two-{name}", data, NESTED, level_two()) for name, data in deepest.items()
    ]
    return found


def _not_leaf() -> list[Defect]:
    code = "FRAGMENT_NESTED_PLANNER_NOT_LEAF"
    shapes = {
        "one-after": [planner("deep"), call("after", CHECK, "deep")],
        "two-after": [planner("deep"), call("a1", CHECK, "deep"), call("a2", CHECK, "deep")],
        "chain-after": [
            call("scan", CHECK),
            planner("deep", "scan"),
            call("a1", CHECK, "deep"),
            call("a2", CHECK, "a1"),
        ],
        "planner-after-planner": [planner("deep"), planner("deeper", "deep")],
        "join-after": [
            call("scan", CHECK),
            planner("deep", "scan"),
            call("join", "ops.fix", "scan", "deep"),
        ],
        "fix-reads-planner": [
            planner("deep"),
            call("fix", "ops.fix", "deep", done="${steps.deep.result}"),
        ],
        "grammar-after": [
            planner("deep"),
            {
                "name": "probe",
                "handler": {"grammar": "http_request", "config": PROBE_CONFIG},
                "dependencies": ["deep"],
            },
        ],
        "deferred-after": [
            call("scan", CHECK),
            planner("deep", "scan"),
            {**call("join", "ops.fix", "scan", "deep"), "step_type": "deferred_convergence"},
        ],
    }
    found: list[Defect] = [
        (9, code, f"not-leaf-{name}", fragment(*steps), NESTED, {})
        for name, steps in shapes.items()
    ]
    converged = fragment(
        planner("deep"),
        {**call("join", "ops.fix", "deep"), "step_type": "deferred_convergence"},
        convergence="join",
    )
    found.append((9, code, "not-leaf-converged", converged, NESTED, {}))
    level = fragment(call("a", CHECK), planner("p2", "a"), call("b", CHECK, "p2"))
    found.append((9, code, "not-leaf-level-one", level, NESTED, level_one()))
    return found


def nested_defects() -> list[Defect]:
    return [
        *_planning_step_shape(),
        *_context_from(),
        *_nested_bounds(),
        *_nesting_exceeded(),
        *_not_leaf(),
    ]


Valid = tuple[str, Any, str, dict[str, Any]]


def nested_valid() -> list[Valid]:
    """Valid fragments with nested planners; each first step has a handler (the mutation
    tests drop it)."""
    recon = fragment(
        call("scan", CHECK),
        planner("fix_hosts", "scan", context_from=("scan", "inventory")),
    )
    two = fragment(
        call("scan", CHECK),
        call("probe_db", "ops.checks.db"),
        planner("fix_hosts", "scan", context_from=("scan",)),
        planner("fix_db", "probe_db", context_from=("probe_db", "plan"), max_steps=10, max_depth=4),
    )
    root = fragment(call("scan", CHECK), planner("triage", context_from=("inventory",)))
    level_one_fill = fragment(
        call("check", CHECK, whole="${steps.scan.result}", host="${steps.probe.result.host_id}"),
        call("repair", "ops.fix", "check", hosts="${steps.inventory.result.hosts}"),
        planner("fix_more", "check", context_from=("check", "probe", "scan"), max_steps=5),
    )
    level_two_fill = fragment(
        call("apply", "ops.fix", found="${steps.probe.result.healthy}"),
        call("verify", CHECK, "apply"),
    )
    return [
        ("nested-recon-then-planner", recon, NESTED, {}),
        ("nested-two-planners", two, NESTED, {}),
        ("nested-planner-at-root", root, NESTED, {}),
        ("nested-within-budget", recon, NESTED, {"remaining_steps": 5}),
        ("nested-level-one-opens-level-two", level_one_fill, NESTED, level_one()),
        ("nested-level-two-plans-steps", level_two_fill, NESTED, level_two()),
    ]
