"""Seeded defects, at least twenty for each validation stage, and valid fragments of many
shapes: the cases test_seeded_defects.py runs (built on tests/fixtures/fragments/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tasker_ctl.trust import TrustPolicy
from tests.unit.planning.fragments_support import (
    call,
    composition,
    fragment,
    lookup,
    pattern,
    scorer,
    transform,
)
from tests.unit.planning.seeded_nested_cases import nested_defects, nested_valid


@dataclass(frozen=True)
class Case:
    name: str
    data: Any
    frame: str = "frame"
    facts: dict[str, Any] = field(default_factory=dict)
    stage: int = 0
    code: str = ""


def _defect(
    stage: int, code: str, name: str, data: Any, frame: str = "frame", **facts: Any
) -> Case:
    return Case(f"{stage}-{name}", data, frame, facts, stage, code)


ROW = {"type": "object", "required": ["order_id"], "properties": {"order_id": {"type": "string"}}}
PERSIST = {"resource": {"ref": "orders_db", "entity": "orders"}, "mode": "insert"}


def persist(ref: Any = "orders_db", entity: str | None = "orders", **extra: Any) -> dict[str, Any]:
    resource: Any = {"ref": ref, "entity": entity} if entity is not None else ref
    return {
        "capability": "persist",
        "config": {
            "resource": resource,
            "data": {"expression": ".prev"},
            "mode": "insert",
            **extra,
        },
        "checkpoint": True,
    }


def emit(resource: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"event_name": "order.seen", "payload": {"expression": ".prev"}}
    if resource is not None:
        config["resource"] = resource
    return {"capability": "emit", "config": config, "checkpoint": True}


def acquire(ref: str = "crm", entity: str = "v1/customers") -> dict[str, Any]:
    return {"capability": "acquire", "config": {"resource": {"ref": ref, "entity": entity}}}


def row() -> dict[str, Any]:
    return transform("{order_id: .context.order_id}", ROW)


def chain(count: int, target: str = "app.checks.step") -> list[dict[str, Any]]:
    return [call(f"s{i}", target, *([f"s{i - 1}"] if i else [])) for i in range(count)]


def roots(count: int, target: str = "desk.lookup") -> list[dict[str, Any]]:
    return [call(f"r{i}", target) for i in range(count)]


def _stage1() -> list[Case]:
    good = call("a")
    cases = [
        ("none", None, "FRAGMENT_SCHEMA_INVALID"),
        ("list", [good], "FRAGMENT_SCHEMA_INVALID"),
        (
            "no-version",
            {k: v for k, v in fragment(good).items() if k != "fragment_version"},
            "FRAGMENT_SCHEMA_INVALID",
        ),
        ("version-2", {**fragment(good), "fragment_version": "2.0"}, "FRAGMENT_SCHEMA_INVALID"),
        (
            "no-context",
            {k: v for k, v in fragment(good).items() if k != "planning_context"},
            "FRAGMENT_SCHEMA_INVALID",
        ),
        ("unknown-top-key", {**fragment(good), "stepz": []}, "FRAGMENT_UNKNOWN_KEY"),
        ("unknown-step-key", fragment({**good, "depends": ["x"]}), "FRAGMENT_UNKNOWN_KEY"),
        (
            "two-handlers",
            fragment({"name": "a", "handler": {"callable": "app.checks.a", "grammar": "notify"}}),
            "FRAGMENT_HANDLER_AMBIGUOUS",
        ),
        ("empty-handler", fragment({"name": "a", "handler": {}}), "FRAGMENT_HANDLER_MISSING"),
        (
            "handler-text",
            fragment({"name": "a", "handler": "app.checks.a"}),
            "FRAGMENT_SCHEMA_INVALID",
        ),
        (
            "input-plain-text",
            fragment({**good, "inputs": {"x": "order"}}),
            "FRAGMENT_REFERENCE_INVALID",
        ),
        ("input-number", fragment({**good, "inputs": {"x": 3}}), "FRAGMENT_REFERENCE_INVALID"),
        (
            "input-env",
            fragment({**good, "inputs": {"x": "${env.HOME}"}}),
            "FRAGMENT_REFERENCE_INVALID",
        ),
        (
            "dependency-twice",
            fragment(call("b"), call("a", "app.checks.a", "b", "b")),
            "FRAGMENT_DEPENDENCY_DUPLICATE",
        ),
        ("step-twice", fragment(call("a"), call("a")), "FRAGMENT_STEP_DUPLICATE"),
        ("convergence-unknown", fragment(good, convergence="zz"), "FRAGMENT_CONVERGENCE_UNKNOWN"),
        ("hundred-and-one", fragment(*[call(f"s{i}") for i in range(101)]), "FRAGMENT_TOO_LARGE"),
        ("dotted-name", fragment(call("a.b")), "FRAGMENT_SCHEMA_INVALID"),
        ("decision-type", fragment({**good, "step_type": "decision"}), "FRAGMENT_SCHEMA_INVALID"),
        (
            "negative-estimate",
            {
                **fragment(good),
                "planning_context": {
                    "goal": "g",
                    "reasoning": "r",
                    "estimated_steps": -1,
                    "estimated_depth": 1,
                },
            },
            "FRAGMENT_SCHEMA_INVALID",
        ),
        (
            "goal-too-long",
            {
                **fragment(good),
                "planning_context": {
                    "goal": "g" * 8001,
                    "reasoning": "r",
                    "estimated_steps": 1,
                    "estimated_depth": 1,
                },
            },
            "FRAGMENT_TOO_LARGE",
        ),
        ("steps-not-list", {**fragment(), "steps": {"a": good}}, "FRAGMENT_SCHEMA_INVALID"),
        ("empty-name", fragment(call("")), "FRAGMENT_SCHEMA_INVALID"),
    ]
    return [_defect(1, code, name, data) for name, data, code in cases]


def _stage2() -> list[Case]:
    cases: list[Case] = []
    for name in ("http_requst", "fetch", "transform", "magic_pattern", "notify_all"):
        cases.append(
            _defect(
                2, "FRAGMENT_PATTERN_UNKNOWN", f"pattern-{name}", fragment(pattern("p", name, {}))
            )
        )
    for name in ("http_request", "notify", "fetch_and_validate", "transform_and_persist"):
        cases.append(
            _defect(
                2,
                "FRAGMENT_PATTERN_NOT_ALLOWED",
                f"not-allowed-{name}",
                fragment(pattern("p", name, {})),
                "tight",
            )
        )
    for target in (
        "app.other.x",
        "app.checksx.y",
        "app.checks",
        "app.Summarise2",
        "os.system",
        "desk.lookupp",
    ):
        cases.append(
            _defect(
                2,
                "FRAGMENT_CALLABLE_NOT_ALLOWED",
                f"callable-{target}",
                fragment(call("c", target)),
                "frame" if target.startswith(("app", "os")) else "tight",
            )
        )
    registered = frozenset({"app.checks.disk", "app.Summarise"})
    for target in ("app.checks.dsk", "app.checks.network"):
        cases.append(
            _defect(
                2,
                "FRAGMENT_CALLABLE_NOT_REGISTERED",
                f"unregistered-{target}",
                fragment(call("c", target)),
                callables=registered,
            )
        )
    cases.append(
        _defect(
            2, "FRAGMENT_COMPOSITION_NOT_ALLOWED", "composition-tight", fragment(scorer()), "tight"
        )
    )
    for capability in ("shell", "exec", "fetch", "acquires"):
        step = composition("x", [{"capability": capability, "config": {}}], {"type": "object"})
        cases.append(
            _defect(2, "FRAGMENT_CAPABILITY_UNKNOWN", f"capability-{capability}", fragment(step))
        )
    return cases


def _stage3() -> list[Case]:
    mutation, reach, invalid = (
        "FRAGMENT_MUTATION_POLICY",
        "FRAGMENT_PERSIST_NOT_ALLOWED",
        "FRAGMENT_COMPOSITION_INVALID",
    )
    acquire_code, emit_code = "FRAGMENT_ACQUIRE_NOT_ALLOWED", "FRAGMENT_RESOURCE_NOT_ALLOWED"
    steps = [
        ("two-persists", [row(), persist(), persist(entity="audit")], ROW, mutation),
        ("persist-then-emit", [row(), persist(), emit()], ROW, mutation),
        ("emit-then-persist", [row(), emit(), persist()], ROW, mutation),
        ("two-emits", [row(), emit(), emit()], ROW, mutation),
        ("acquire-after-persist", [row(), persist(), acquire()], ROW, mutation),
        ("persist-unchecked", [row(), {**persist(), "checkpoint": False}], ROW, mutation),
        ("empty", [], ROW, invalid),
        ("bad-jq", [transform("{a: .context.order_id", ROW)], ROW, invalid),
        ("forbidden-builtin", [transform("input", ROW)], ROW, invalid),
        ("persist-undeclared-entity", [row(), persist(entity="customers")], ROW, reach),
        ("persist-undeclared-resource", [row(), persist(ref="warehouse")], ROW, reach),
        ("persist-to-http", [row(), persist(ref="crm")], ROW, reach),
        ("persist-reserved-looking", [row(), persist(entity="pg_authid")], ROW, reach),
        ("acquire-from-postgres", [acquire(ref="orders_db")], {"type": "object"}, acquire_code),
        ("acquire-undeclared", [acquire(ref="evil")], {"type": "object"}, acquire_code),
        ("emit-to-postgres", [row(), emit("orders_db")], ROW, emit_code),
        ("emit-undeclared", [row(), emit("pager")], ROW, emit_code),
    ]
    cases = [
        _defect(3, code, name, fragment(composition("x", invocations, output)))
        for name, invocations, output, code in steps
    ]
    narrow = TrustPolicy(persist_tables=("app.orders",))
    cases.append(
        _defect(
            3,
            reach,
            "trust-refuses-audit",
            fragment(composition("x", [row(), persist(entity="audit")], ROW)),
            trust=narrow,
        )
    )
    other = TrustPolicy(persist_tables=("billing.*",))
    cases.append(
        _defect(
            3,
            reach,
            "trust-other-schema",
            fragment(composition("x", [row(), persist()], ROW)),
            trust=other,
        )
    )
    persist_pattern = {
        "filter": "{order_id: .context.order_id}",
        "output": ROW,
        "resource": {"ref": "ghost", "entity": "orders"},
        "mode": "insert",
    }
    cases.append(
        _defect(
            3,
            reach,
            "pattern-persist-ghost",
            fragment(pattern("p", "transform_and_persist", persist_pattern)),
        )
    )
    cases.append(
        _defect(
            3,
            emit_code,
            "pattern-notify-to-http",
            fragment(
                pattern(
                    "p",
                    "notify",
                    {"event_name": "a.b", "payload": {"expression": ".context"}, "resource": "crm"},
                )
            ),
        )
    )
    cases.append(
        _defect(
            3,
            acquire_code,
            "pattern-http-undeclared",
            fragment(pattern("p", "http_request", {"resource": "intranet", "entity": "v1/x"})),
        )
    )
    return cases


def _stage4() -> list[Case]:
    code = "FRAGMENT_CONFIG_INVALID"
    configs = [
        ("http-no-resource", "http_request", {"entity": "v1/x"}),
        ("http-extra-key", "http_request", {"resource": "crm", "entity": "v1/x", "verb": "DELETE"}),
        (
            "http-timeout-text",
            "http_request",
            {"resource": "crm", "entity": "v1/x", "constraints": {"timeout_ms": "soon"}},
        ),
        ("http-entity-number", "http_request", {"resource": "crm", "entity": 5}),
        ("notify-no-event", "notify", {"payload": {"expression": ".context"}}),
        ("notify-payload-text", "notify", {"event_name": "a.b", "payload": 3}),
        (
            "notify-mode",
            "notify",
            {
                "event_name": "a.b",
                "payload": {"expression": ".context"},
                "delivery_mode": "carrier_pigeon",
            },
        ),
        (
            "persist-mode",
            "transform_and_persist",
            {
                "filter": ".context",
                "output": ROW,
                "resource": {"ref": "orders_db", "entity": "orders"},
                "mode": "explode",
            },
        ),
        (
            "persist-no-filter",
            "transform_and_persist",
            {"output": ROW, "resource": {"ref": "orders_db", "entity": "orders"}, "mode": "insert"},
        ),
        (
            "persist-no-output",
            "transform_and_persist",
            {
                "filter": ".context",
                "resource": {"ref": "orders_db", "entity": "orders"},
                "mode": "insert",
            },
        ),
        ("fetch-no-resource", "fetch_and_validate", {"schema": {"type": "object"}}),
        (
            "fetch-extra",
            "fetch_and_validate",
            {
                "resource": {"ref": "crm", "entity": "v1/x"},
                "schema": {"type": "object"},
                "colour": "red",
            },
        ),
        ("coerce-text", "http_request", {"resource": "crm", "entity": "v1/x", "coerce": "maybe"}),
        (
            "description-empty",
            "notify",
            {"event_name": "a.b", "payload": {"expression": ".context"}, "description": ""},
        ),
    ]
    cases = [
        _defect(4, code, name, fragment(pattern("p", grammar, config)))
        for name, grammar, config in configs
    ]
    invocations = [
        ("transform-no-filter", [{"capability": "transform", "config": {"output": ROW}}]),
        (
            "transform-extra",
            [{"capability": "transform", "config": {"filter": ".", "output": ROW, "mode": "x"}}],
        ),
        (
            "transform-filter-number",
            [{"capability": "transform", "config": {"filter": 3, "output": ROW}}],
        ),
        (
            "persist-bad-mode",
            [
                row(),
                {
                    "capability": "persist",
                    "config": {
                        "resource": {"ref": "orders_db", "entity": "orders"},
                        "data": {"expression": ".prev"},
                        "mode": "merge_all",
                    },
                    "checkpoint": True,
                },
            ],
        ),
        (
            "emit-no-name",
            [
                row(),
                {
                    "capability": "emit",
                    "config": {"payload": {"expression": ".prev"}},
                    "checkpoint": True,
                },
            ],
        ),
        ("acquire-config-text", [{"capability": "acquire", "config": "crm"}]),
        ("validate-no-schema", [row(), {"capability": "validate", "config": {}}]),
    ]
    cases += [
        _defect(4, code, name, fragment(composition("x", steps, ROW)))
        for name, steps in invocations
    ]
    return cases


def _stage5() -> list[Case]:
    cases: list[Case] = []
    for length in range(1, 9):
        steps = [call(f"c{i}", "app.checks.c", f"c{(i + 1) % length}") for i in range(length)]
        cases.append(_defect(5, "FRAGMENT_CYCLE", f"cycle-{length}", fragment(*steps)))
    tail = [
        call("a"),
        call("b", "app.checks.b", "a"),
        call("c", "app.checks.c", "b", "d"),
        call("d", "app.checks.d", "c"),
    ]
    cases.append(_defect(5, "FRAGMENT_CYCLE", "cycle-below-root", fragment(*tail)))
    for typo in ("fetc", "Fetch", "fetch_", "score_risk", "ghost", "x"):
        cases.append(
            _defect(
                5,
                "FRAGMENT_DEPENDENCY_UNKNOWN",
                f"missing-{typo}",
                fragment(call("fetch"), call("use", "app.checks.u", typo)),
            )
        )
    unreached = [
        (
            "root-beside",
            [
                call("a"),
                call("b"),
                {**call("join", "app.Summarise", "a"), "step_type": "deferred_convergence"},
            ],
        ),
        (
            "branch-leaf",
            [
                call("a"),
                call("b", "app.checks.b", "a"),
                call("c", "app.checks.c", "a"),
                {**call("join", "app.Summarise", "b"), "step_type": "deferred_convergence"},
            ],
        ),
        (
            "after-join",
            [
                call("a"),
                {**call("join", "app.Summarise", "a"), "step_type": "deferred_convergence"},
                call("late", "app.checks.l", "join"),
            ],
        ),
        (
            "join-root",
            [call("a"), {**call("join", "app.Summarise"), "step_type": "deferred_convergence"}],
        ),
        ("standard-join", [call("a"), call("b"), call("join", "app.Summarise", "a")]),
        (
            "deep-leaf",
            [
                call("a"),
                call("b", "app.checks.b", "a"),
                call("c", "app.checks.c", "b"),
                call("join", "app.Summarise", "a"),
            ],
        ),
    ]
    for name, steps in unreached:
        cases.append(
            _defect(5, "FRAGMENT_CONVERGENCE_UNREACHED", name, fragment(*steps, convergence="join"))
        )
    return cases


def _stage6() -> list[Case]:
    unknown_field, no_schema = "FRAGMENT_REFERENCE_UNKNOWN_FIELD", "FRAGMENT_REFERENCE_NO_SCHEMA"
    not_upstream, unknown_step = (
        "FRAGMENT_REFERENCE_NOT_UPSTREAM",
        "FRAGMENT_REFERENCE_UNKNOWN_STEP",
    )
    references = [
        ("ghost-step", "${steps.ghost.result}", unknown_step),
        ("typo-step", "${steps.intak.result.total}", unknown_step),
        ("typo-fragment-step", "${steps.scor.result.level}", unknown_step),
        ("sibling", "${steps.other.result}", not_upstream),
        ("template-downstream", "${steps.report.result}", not_upstream),
        ("template-beside", "${steps.side.result.note}", not_upstream),
        ("template-after", "${steps.archive.result}", not_upstream),
        ("context-typo", "${task.context.order}", unknown_field),
        ("context-nested", "${task.context.customer.name}", unknown_field),
        ("context-under-scalar", "${task.context.order_id.value}", unknown_field),
        ("context-item-field", "${task.context.customer.tags.0.label}", unknown_field),
        ("template-field", "${steps.intake.result.totl}", unknown_field),
        ("template-item-field", "${steps.intake.result.lines.0.price}", unknown_field),
        ("planning-step-field", "${steps.plan.result.fragment}", unknown_field),
        ("composition-field", "${steps.score.result.levl}", unknown_field),
        ("pattern-field", "${steps.lookup.result.customer}", unknown_field),
        ("callable-field", "${steps.probe.result.status}", no_schema),
        ("open-output-field", "${steps.loose.result.anything}", unknown_field),
        ("callable-nested", "${steps.probe.result.a.b}", no_schema),
    ]
    base = [
        scorer(),
        lookup(),
        call("probe"),
        composition("loose", [transform(".context", {"type": "object"})], {"type": "object"}),
        call("other"),
    ]
    names = ["score", "lookup", "probe", "loose"]
    cases = [
        _defect(6, code, name, fragment(*base, call("reader", "app.checks.r", *names, x=reference)))
        for name, reference, code in references
    ]
    context = {"order_id": "o-1", "customer": {"id": "c-1"}}
    for name, reference in (
        ("email", "${task.context.customer.email}"),
        ("region", "${task.context.region}"),
        ("tag", "${task.context.customer.tags.0}"),
    ):
        cases.append(
            _defect(
                6,
                "FRAGMENT_CONTEXT_FIELD_MISSING",
                f"context-{name}",
                fragment(call("reader", x=reference)),
                context=context,
            )
        )
    results = {"intake": {"total": 12.5, "lines": []}}
    for name, reference in (
        ("currency", "${steps.intake.result.currency}"),
        ("first-line", "${steps.intake.result.lines.0.sku}"),
    ):
        cases.append(
            _defect(
                6,
                "FRAGMENT_RESULT_FIELD_MISSING",
                f"result-{name}",
                fragment(call("reader", x=reference)),
                results=results,
            )
        )
    return cases


def _stage7() -> list[Case]:
    code = "FRAGMENT_DATA_UNDECLARED"
    expressions = [
        ("dep-field", "{level: .deps.score.grade, score: 1}"),
        ("dep-second-field", '{level: "x", score: .deps.score.points}'),
        ("dep-unknown", "{level: .deps.ghost.level, score: 1}"),
        ("dep-not-declared", "{level: .deps.lookup.customer_id, score: 1}"),
        ("context-field", "{level: .context.priority, score: 1}"),
        ("context-nested", "{level: .context.customer.name, score: 1}"),
        ("context-under-string", "{level: .context.order_id.code, score: 1}"),
        ("planning-result", "{level: .deps.plan.summary, score: 1}"),
        ("dep-under-string", "{level: .deps.score.level.text, score: 1}"),
        ("context-items", "{level: .context.customer.tags[0].name, score: 1}"),
    ]
    cases = [
        _defect(7, code, name, fragment(scorer(), scorer("second", "score", expression=expression)))
        for name, expression in expressions
    ]
    root_expressions = [
        ("root-reads-sibling", "{level: .deps.score.level, score: 1}"),
        ("root-context", "{level: .context.currency, score: 1}"),
        ("root-planning", "{level: .deps.plan.id, score: 1}"),
    ]
    cases += [
        _defect(7, code, name, fragment(scorer(), scorer("second", expression=expression)))
        for name, expression in root_expressions
    ]
    pattern_configs = [
        (
            "http-params",
            "http_request",
            {
                "resource": "crm",
                "entity": "v1/x",
                "params": {"expression": "{id: .context.customer.uuid}"},
            },
        ),
        (
            "http-params-dep",
            "http_request",
            {
                "resource": "crm",
                "entity": "v1/x",
                "params": {"expression": "{id: .deps.plan.ticket}"},
            },
        ),
        (
            "notify-payload",
            "notify",
            {"event_name": "a.b", "payload": {"expression": "{id: .context.order}"}},
        ),
        (
            "notify-condition",
            "notify",
            {
                "event_name": "a.b",
                "payload": {"expression": ".context"},
                "condition": {"expression": ".context.urgent"},
            },
        ),
        (
            "persist-filter",
            "transform_and_persist",
            {
                "filter": "{order_id: .context.order_number}",
                "output": ROW,
                "resource": {"ref": "orders_db", "entity": "orders"},
                "mode": "insert",
            },
        ),
        (
            "fetch-params",
            "fetch_and_validate",
            {
                "resource": {"ref": "crm", "entity": "v1/x"},
                "params": {"expression": "{id: .context.customer.key}"},
                "schema": {"type": "object"},
                "filter": ".prev",
                "output": {"type": "object"},
            },
        ),
        (
            "notify-dep",
            "notify",
            {"event_name": "a.b", "payload": {"expression": "{s: .deps.score.grade}"}},
        ),
    ]
    inputs = {
        "total": "${steps.intake.result.total}",
        "lines": "${steps.intake.result.lines}",
        "customer": "${task.context.customer}",
        "ticket": "${steps.probe.result}",
    }
    input_reads = [
        ("input-missing", "{level: .step.inputs.totl, score: 1}"),
        ("input-field", "{level: .step.inputs.customer.name, score: 1}"),
        ("input-item-field", "{level: .step.inputs.lines[0].price, score: 1}"),
        ("input-under-number", "{level: .step.inputs.total.amount, score: 1}"),
        ("input-without-schema", "{level: .step.inputs.ticket.id, score: 1}"),
    ]
    for name, expression in input_reads:
        reader = {**scorer("reader", "probe", expression=expression), "inputs": inputs}
        cases.append(_defect(7, code, name, fragment(call("probe"), reader)))
    for name, grammar, config in pattern_configs:
        deps = ("score",) if ".deps.score" in str(config) else ()
        cases.append(
            _defect(7, code, name, fragment(scorer(), pattern("p", grammar, config, *deps)))
        )
    return cases


def _stage8() -> list[Case]:
    cases: list[Case] = []
    for count in range(6, 11):
        cases.append(
            _defect(
                8, "FRAGMENT_TOO_MANY_STEPS", f"steps-{count}", fragment(*roots(count)), "tight"
            )
        )
    for remaining, count in ((0, 1), (1, 2), (2, 3), (3, 5), (4, 5), (10, 11), (0, 4)):
        cases.append(
            _defect(
                8,
                "FRAGMENT_BUDGET_EXCEEDED",
                f"budget-{remaining}-{count}",
                fragment(*chain(count)),
                remaining_steps=remaining,
            )
        )
    for length in (3, 4, 5):
        cases.append(
            _defect(
                8,
                "FRAGMENT_TOO_DEEP",
                f"depth-{length}",
                fragment(*chain(length, "desk.lookup")),
                "tight",
            )
        )
    cases.append(_defect(8, "FRAGMENT_TOO_DEEP", "depth-13", fragment(*chain(13))))
    diamond_deep = [
        call("a", "desk.lookup"),
        call("b", "desk.lookup", "a"),
        call("c", "desk.lookup", "a"),
        call("d", "desk.triage", "b", "c"),
    ]
    cases.append(_defect(8, "FRAGMENT_TOO_DEEP", "diamond-3", fragment(*diamond_deep), "tight"))
    for count in (6, 7, 8):
        cases.append(
            _defect(
                8, "FRAGMENT_FAN_OUT_TOO_WIDE", f"roots-{count}", fragment(*roots(count)), "tight"
            )
        )
    children = [
        call("hub", "desk.lookup"),
        *[call(f"k{i}", "desk.lookup", "hub") for i in range(6)],
    ]
    cases.append(
        _defect(8, "FRAGMENT_FAN_OUT_TOO_WIDE", "children-6", fragment(*children), "tight")
    )
    return cases


def _stage9() -> list[Case]:
    cases: list[Case] = []
    for name in ("intake", "side", "plan", "report", "archive"):
        cases.append(_defect(9, "FRAGMENT_STEP_NAME_TAKEN", f"name-{name}", fragment(call(name))))
    earlier = frozenset({"earlier_probe", "earlier_fix"})
    for name in sorted(earlier):
        cases.append(
            _defect(
                9,
                "FRAGMENT_STEP_NAME_TAKEN",
                f"name-{name}",
                fragment(call(name)),
                existing_steps=earlier,
            )
        )
    for name in ("intake", "side", "archive"):
        cases.append(
            _defect(
                9,
                "FRAGMENT_EDGE_INTO_FRAME",
                f"edge-{name}",
                fragment(call("a", "app.checks.a", name)),
            )
        )
    cases.append(
        _defect(
            9,
            "FRAGMENT_EDGE_INTO_FRAME",
            "edge-earlier",
            fragment(call("a", "app.checks.a", "earlier_probe")),
            existing_steps=earlier,
        )
    )
    cases.append(
        _defect(
            9,
            "FRAGMENT_EDGE_INTO_FRAME",
            "edge-tight-start",
            fragment(call("a", "desk.lookup", "start")),
            "tight",
        )
    )
    cases.append(
        _defect(
            9,
            "FRAGMENT_EDGE_PAST_CONVERGENCE",
            "past-report",
            fragment(call("a", "app.checks.a", "report")),
        )
    )
    cases.append(
        _defect(
            9,
            "FRAGMENT_EDGE_PAST_CONVERGENCE",
            "past-report-second",
            fragment(call("a"), call("b", "app.checks.b", "a", "report")),
        )
    )
    cases.append(
        _defect(
            9,
            "FRAGMENT_EDGE_PAST_CONVERGENCE",
            "past-close",
            fragment(call("a", "desk.lookup", "close")),
            "tight",
        )
    )
    cases.append(
        _defect(
            9,
            "FRAGMENT_EDGE_PAST_CONVERGENCE",
            "past-report-and-plan",
            fragment(call("a", "app.checks.a", "plan", "report")),
        )
    )
    misplaced = [
        ("no-convergence", fragment({**call("a"), "step_type": "deferred_convergence"})),
        (
            "other-convergence",
            fragment(
                call("a"),
                {**call("b", "app.checks.b", "a"), "step_type": "deferred_convergence"},
                {**call("c", "app.checks.c", "b"), "step_type": "deferred_convergence"},
                convergence="c",
            ),
        ),
        (
            "root-deferred",
            fragment(
                {**call("a"), "step_type": "deferred_convergence"}, call("b", "app.checks.b", "a")
            ),
        ),
        (
            "two-deferred",
            fragment(
                {**call("a"), "step_type": "deferred_convergence"},
                {**call("b"), "step_type": "deferred_convergence"},
            ),
        ),
    ]
    cases += [_defect(9, "FRAGMENT_CONVERGENCE_MISPLACED", name, data) for name, data in misplaced]
    return cases


def _nested() -> list[Case]:
    return [
        _defect(stage, code, name, data, frame, **facts)
        for stage, code, name, data, frame, facts in nested_defects()
    ]


DEFECTS: list[Case] = [
    *_nested(),
    *_stage1(),
    *_stage2(),
    *_stage3(),
    *_stage4(),
    *_stage5(),
    *_stage6(),
    *_stage7(),
    *_stage8(),
    *_stage9(),
]


def _valid(name: str, data: Any, frame: str = "frame", **facts: Any) -> Case:
    return Case(f"valid-{name}", data, frame, facts)


def _persist_pattern(name: str, *deps: str) -> dict[str, Any]:
    config = {
        "filter": "{order_id: .context.order_id}",
        "output": ROW,
        "resource": {"ref": "orders_db", "entity": "orders"},
        "mode": "upsert",
        "primary_key": ["order_id"],
    }
    return pattern(name, "transform_and_persist", config, *deps)


def _notify(name: str, *deps: str) -> dict[str, Any]:
    config = {
        "event_name": "order.checked",
        "payload": {"expression": "{order_id: .context.order_id}"},
    }
    return pattern(name, "notify", config, *deps)


def _fetch(name: str, *deps: str) -> dict[str, Any]:
    config = {
        "resource": {"ref": "crm", "entity": "v1/customers"},
        "params": {"expression": "{id: .context.customer.id}"},
        "schema": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
        "filter": ".prev | {customer_id: .id}",
        "output": {
            "type": "object",
            "required": ["customer_id"],
            "properties": {"customer_id": {"type": "string"}},
        },
    }
    return pattern(name, "fetch_and_validate", config, *deps)


def _join(name: str, *deps: str) -> dict[str, Any]:
    return {**call(name, "app.Summarise", *deps), "step_type": "deferred_convergence"}


def _valid_cases() -> list[Case]:
    diamond = [
        call("a"),
        call("b", "app.checks.b", "a"),
        call("c", "app.checks.c", "a"),
        call("d", "app.checks.d", "b", "c"),
    ]
    wide = [call(f"w{i}") for i in range(20)]
    return [
        _valid("zero-steps", fragment()),
        _valid("zero-steps-tight", fragment(), "tight"),
        _valid("one-callable", fragment(call("a"))),
        _valid("exact-callable", fragment(call("a", "app.Summarise"))),
        _valid("deep-glob", fragment(call("a", "app.checks.net.dns"))),
        _valid("linear", fragment(*chain(6))),
        _valid("diamond", fragment(*diamond)),
        _valid("wide-fan-out", fragment(*wide)),
        _valid(
            "tight-linear",
            fragment(call("a", "desk.lookup"), call("b", "desk.triage", "a")),
            "tight",
        ),
        _valid("tight-five-roots", fragment(*roots(5)), "tight"),
        _valid("http-pattern", fragment(lookup())),
        _valid("fetch-pattern", fragment(_fetch("fetch"))),
        _valid("persist-pattern", fragment(_persist_pattern("save"))),
        _valid("notify-pattern", fragment(_notify("tell"))),
        _valid(
            "pattern-chain",
            fragment(
                lookup(),
                call("use", "app.checks.u", "lookup", id="${steps.lookup.result.customer_id}"),
            ),
        ),
        _valid("composition", fragment(scorer())),
        _valid(
            "composition-chain",
            fragment(
                scorer(),
                scorer(
                    "again",
                    "score",
                    expression="{level: .deps.score.level, score: .deps.score.score}",
                ),
            ),
        ),
        _valid(
            "composition-reads-planning-step",
            fragment(scorer(expression="{level: .deps.plan.fragment_id, score: 0}")),
        ),
        _valid(
            "composition-reads-context",
            fragment(scorer(expression="{level: .context.customer.id, score: 0}")),
        ),
        _valid("composition-one-persist", fragment(composition("save", [row(), persist()], ROW))),
        _valid(
            "composition-pattern-ref",
            fragment(
                {
                    "name": "p",
                    "handler": {
                        "composition": {
                            "pattern": "notify",
                            "config": {"event_name": "a.b", "payload": {"expression": ".context"}},
                        }
                    },
                }
            ),
        ),
        _valid(
            "context-references",
            fragment(
                call(
                    "a",
                    order="${task.context.order_id}",
                    customer="${task.context.customer}",
                    tag="${task.context.customer.tags.0}",
                )
            ),
        ),
        _valid(
            "template-references",
            fragment(
                call(
                    "a",
                    total="${steps.intake.result.total}",
                    sku="${steps.intake.result.lines.0.sku}",
                    plan="${steps.plan.result.fragment_id}",
                )
            ),
        ),
        _valid(
            "ancestor-references",
            fragment(
                scorer(),
                call("b", "app.checks.b", "score"),
                call(
                    "c",
                    "app.checks.c",
                    "b",
                    level="${steps.score.result.level}",
                    whole="${steps.b.result}",
                ),
            ),
        ),
        _valid(
            "nested-convergence",
            fragment(call("a"), call("b"), _join("join", "a", "b"), convergence="join"),
        ),
        _valid(
            "convergence-after-diamond", fragment(*diamond, _join("join", "d"), convergence="join")
        ),
        _valid("explicit-planning-dependency", fragment(call("a", "app.checks.a", "plan"))),
        _valid(
            "registered-callables",
            fragment(call("a", "app.checks.disk")),
            callables=frozenset({"app.checks.disk"}),
        ),
        _valid("within-budget", fragment(*chain(3)), remaining_steps=3),
        _valid(
            "composition-reads-its-inputs",
            fragment(
                {
                    **scorer(
                        "reader",
                        expression="{level: .step.inputs.customer.id, score: .step.inputs.total}",
                    ),
                    "inputs": {
                        "customer": "${task.context.customer}",
                        "total": "${steps.intake.result.total}",
                    },
                }
            ),
        ),
        _valid(
            "results-given",
            fragment(call("a", total="${steps.intake.result.total}")),
            results={"intake": {"total": 3, "lines": []}},
        ),
        _valid(
            "context-given",
            fragment(call("a", id="${task.context.customer.id}")),
            context={"order_id": "o", "customer": {"id": "c"}},
        ),
        _valid(
            "trust-allows",
            fragment(composition("save", [row(), persist()], ROW)),
            trust=TrustPolicy(persist_tables=("app.orders",)),
        ),
        _valid(
            "earlier-fill-names-free",
            fragment(call("fresh")),
            existing_steps=frozenset({"earlier"}),
        ),
        _valid(
            "mixed",
            fragment(
                lookup(),
                scorer("score", "lookup"),
                _persist_pattern("save", "score"),
                _notify("tell", "save"),
                _join("join", "tell"),
                convergence="join",
            ),
        ),
        _valid(
            "twenty-fixture-shape",
            fragment(*chain(10), *[call(f"x{i}", "app.checks.x", "s9") for i in range(10)]),
        ),
        _valid(
            "reasoning-and-bounds",
            {**fragment(call("a")), "resource_bounds": {"max_downstream_steps": 3}},
        ),
    ]


VALID: list[Case] = [
    *_valid_cases(),
    *(_valid(name, data, frame, **facts) for name, data, frame, facts in nested_valid()),
]
