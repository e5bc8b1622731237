"""The 50 problems of the shipped suite, on the four templates under templates/."""

from __future__ import annotations

from problems import (
    INCIDENT_CHECKS,
    INGEST_LOADERS,
    ORDER_CHECKS,
    Case,
    as_text,
    bad_reference,
    call,
    config_missing,
    cycle,
    dangling_edge,
    fetch,
    fragment,
    frame_name,
    hallucinate,
    lookup,
    notify,
    persist,
    scorer,
    store_facts,
    too_many,
    wrong_edge,
)

INCIDENT = "templates/incident.yaml"
ORDERS = "templates/orders.yaml"
INGEST = "templates/ingest.yaml"
RESEARCH = "templates/research.yaml"

SIGNALS = {
    "service": "checkout",
    "alerts": ["p99 latency above 2s", "5xx above 3%"],
    "recent_deploys": ["checkout@4f2a1c"],
}
INTAKE = {"total": 129.5, "currency": "EUR", "lines": [{"sku": "TEA-1", "qty": 3}]}


def _incident_cases() -> list[Case]:
    cases: list[Case] = []
    services = ["checkout", "payments", "search", "auth", "inventory", "shipping", "billing"]
    for index, service in enumerate(services):
        picked = INCIDENT_CHECKS[: 2 + index % 3]
        steps = [
            call(
                target.rsplit(".", 1)[1],
                target,
                service="${task.context.service}",
            )
            for target in picked
        ]
        names = [step["name"] for step in steps]
        steps.append(notify("notify_oncall", "incident.investigated", names, key="incident_id"))
        mistakes_1 = [
            [as_text],
            [hallucinate],
            [],
            [wrong_edge("write_report"), bad_reference("${steps.collect_signals.result.owner}")],
            [config_missing],
            [hallucinate, hallucinate, hallucinate],
            [],
        ][index]
        cases.append(
            Case(
                id=f"incident-parallel-{service}",
                template=INCIDENT,
                step="plan_investigation",
                description=f"{len(picked)} checks of {service} side by side, then notify",
                context={"incident_id": f"INC-{100 + index}", "service": service},
                upstream={"collect_signals": {**SIGNALS, "service": service}},
                callables=INCIDENT_CHECKS,
                answer=fragment(f"Explain the {service} incident", steps),
                expect={
                    "min_steps": len(picked) + 1,
                    "uses_callables": ["incident.checks.*"],
                    "uses_patterns": ["notify"],
                    "depends": [[picked[0], "notify"]],
                    "references": ["${task.context.service}"],
                },
                tier1=mistakes_1,
                tier2=[[], [], [], [dangling_edge], [], [hallucinate, as_text, hallucinate], []][
                    index
                ],
                miss=fragment("checks only", steps[:-1]) if index == 6 else None,
            )
        )
    # a chain: the deploys are checked only after the logs point at them
    chain = [
        call("query_logs", INCIDENT_CHECKS[0], service="${steps.collect_signals.result.service}"),
        call(
            "check_deploys",
            INCIDENT_CHECKS[1],
            ["query_logs"],
            deploys="${steps.collect_signals.result.recent_deploys}",
        ),
    ]
    cases.append(
        Case(
            id="incident-chain-upstream-fields",
            template=INCIDENT,
            step="plan_investigation",
            description="logs, then deploys: references to upstream fields",
            context_file="contexts/incident.json",
            upstream={"collect_signals": SIGNALS},
            callables=INCIDENT_CHECKS,
            answer=fragment("Logs then deploys", chain),
            expect={
                "depends": [["query_logs", "check_deploys"]],
                "references": [
                    "${steps.collect_signals.result.service}",
                    "${steps.collect_signals.result.recent_deploys}",
                ],
                "max_depth": 2,
            },
            tier1=[bad_reference("${steps.collect_signals.result.deploys}")],
        )
    )
    # a diamond: one check fans out to two, which meet in a convergence of the fragment's own
    diamond = [
        call("query_logs", INCIDENT_CHECKS[0], service="${task.context.service}"),
        call("check_deploys", INCIDENT_CHECKS[1], ["query_logs"]),
        call("check_saturation", INCIDENT_CHECKS[3], ["query_logs"]),
        {
            **notify(
                "notify_oncall",
                "incident.investigated",
                ["check_deploys", "check_saturation"],
                key="incident_id",
            ),
            "step_type": "deferred_convergence",
        },
    ]
    cases.append(
        Case(
            id="incident-diamond-convergence",
            template=INCIDENT,
            step="plan_investigation",
            description="a diamond whose branches meet in the fragment's own convergence",
            context_file="contexts/incident.json",
            upstream={"collect_signals": SIGNALS},
            callables=INCIDENT_CHECKS,
            answer=fragment("A diamond", diamond, convergence="notify_oncall"),
            expect={
                "convergence": True,
                "depends": [
                    ["check_deploys", "notify_oncall"],
                    ["check_saturation", "notify_oncall"],
                ],
                "max_depth": 3,
            },
            tier1=[cycle],
            tier2=[cycle],
        )
    )
    # nothing to check: the alert cleared
    cases.append(
        Case(
            id="incident-nothing-to-check",
            template=INCIDENT,
            step="plan_investigation",
            description="the alerts cleared: a fragment of no steps",
            context={"incident_id": "INC-200", "service": "search", "severity": "none"},
            upstream={"collect_signals": {"service": "search", "alerts": [], "recent_deploys": []}},
            callables=INCIDENT_CHECKS,
            answer=fragment("Nothing to investigate", []),
            expect={"max_steps": 0},
        )
    )
    # the budget leaves two steps
    budget = [call("query_logs", INCIDENT_CHECKS[0]), call("check_deploys", INCIDENT_CHECKS[1])]
    cases.append(
        Case(
            id="incident-budget-two-steps",
            template=INCIDENT,
            step="plan_investigation",
            description="the task's budget leaves two steps",
            context_file="contexts/incident.json",
            upstream={"collect_signals": SIGNALS},
            callables=INCIDENT_CHECKS,
            remaining_steps=2,
            answer=fragment("Two checks", budget),
            expect={"max_steps": 2},
            tier1=[too_many(2)],
            tier2=[too_many(2)],
        )
    )
    return cases


def _orders_cases() -> list[Case]:
    context = {"order_id": "ORD-7", "region": "eu", "customer": {"id": "C-1", "email": "a@b.c"}}
    up = {"intake": INTAKE}
    registered = [*ORDER_CHECKS, "orders.Summarise"]
    shapes: list[tuple[str, str, list, dict, list, list]] = [
        (
            "lookup",
            "an HTTP lookup of the customer",
            [lookup()],
            {"uses_patterns": ["http_request"]},
            [config_missing],
            [],
        ),
        (
            "fetch-validate",
            "a validated fetch of the customer",
            [fetch()],
            {"uses_patterns": ["fetch_and_validate"]},
            [config_missing, config_missing],
            [],
        ),
        (
            "persist",
            "the order recorded",
            [persist()],
            {"uses_patterns": ["transform_and_persist"]},
            [],
            [],
        ),
        (
            "notify",
            "an event for the order",
            [notify("announce", "order.checked")],
            {"uses_patterns": ["notify"]},
            [hallucinate],
            [],
        ),
        (
            "lookup-then-persist",
            "look up, then record",
            [lookup(), persist(deps=["lookup_customer"])],
            {"depends": [["http_request", "transform_and_persist"]]},
            [as_text],
            [],
        ),
        (
            "checks-glob",
            "every check under the glob, then a summary",
            [
                call("fraud", ORDER_CHECKS[0], total="${steps.intake.result.total}"),
                call("stock", ORDER_CHECKS[1], lines="${steps.intake.result.lines}"),
                call("summary", "orders.Summarise", ["fraud", "stock"]),
            ],
            {
                "uses_callables": [
                    "orders.checks.fraud",
                    "orders.checks.stock",
                    "orders.Summarise",
                ],
                "references": ["${steps.intake.result.total}"],
            },
            [hallucinate],
            [],
        ),
        (
            "composition",
            "a risk score written as a composition",
            [scorer()],
            {"uses_composition": True},
            [],
            [],
        ),
        (
            "composition-then-notify",
            "score, then tell",
            [scorer(), notify("announce", "order.scored", ["score_risk"])],
            {"uses_composition": True, "depends": [["score_risk", "announce"]]},
            [config_missing],
            [],
        ),
        (
            "diamond",
            "lookup and fetch side by side after a check, met by a summary",
            [
                call("fraud", ORDER_CHECKS[0]),
                lookup(deps=["fraud"]),
                fetch(deps=["fraud"]),
                call("summary", "orders.Summarise", ["lookup_customer", "fetch_customer"]),
            ],
            {"depends": [["fraud", "summary"]], "max_depth": 3},
            [dangling_edge, cycle],
            [dangling_edge],
        ),
        (
            "context-reference",
            "the customer read from the context",
            [
                call(
                    "address",
                    ORDER_CHECKS[2],
                    customer="${task.context.customer}",
                    region="${task.context.region}",
                )
            ],
            {"references": ["${task.context.customer}"]},
            [bad_reference("${task.context.customer.phone}")],
            [],
        ),
        (
            "upstream-reference",
            "the intake's lines passed on",
            [
                call(
                    "stock",
                    ORDER_CHECKS[1],
                    lines="${steps.intake.result.lines}",
                    currency="${steps.intake.result.currency}",
                )
            ],
            {"references": ["${steps.intake.result.lines}"]},
            [bad_reference("${steps.intake.result.discount}")],
            [bad_reference("${steps.intake.result.discount}")],
        ),
        (
            "frame-names",
            "names of its own, not the frame's",
            [call("fraud", ORDER_CHECKS[0]), persist(deps=["fraud"])],
            {"min_steps": 2},
            [frame_name],
            [],
        ),
        (
            "audit-table",
            "an audit row beside the order",
            [persist("record_order"), persist("record_audit", table="audit")],
            {"min_steps": 2, "uses_patterns": ["transform_and_persist"]},
            [],
            [],
        ),
        (
            "fan-out-checks",
            "three checks at once, one summary",
            [
                call("fraud", ORDER_CHECKS[0]),
                call("stock", ORDER_CHECKS[1]),
                call("address", ORDER_CHECKS[2]),
                call("summary", "orders.Summarise", ["fraud", "stock", "address"]),
            ],
            {"min_steps": 4, "depends": [["address", "summary"]]},
            [wrong_edge("finish_order")],
            [],
        ),
        (
            "nested-convergence",
            "a convergence of the fragment's own before the frame's",
            [
                call("fraud", ORDER_CHECKS[0]),
                call("stock", ORDER_CHECKS[1]),
                {
                    **call("summary", "orders.Summarise", ["fraud", "stock"]),
                    "step_type": "deferred_convergence",
                },
            ],
            {"convergence": True},
            [],
            [as_text],
        ),
        ("nothing-needed", "an order already handled: no steps", [], {"max_steps": 0}, [], []),
    ]
    cases = []
    for name, description, steps, expect, tier1, tier2 in shapes:
        convergence = "summary" if name == "nested-convergence" else None
        cases.append(
            Case(
                id=f"orders-{name}",
                template=ORDERS,
                step="plan_order",
                description=description,
                context=context,
                upstream=up,
                callables=registered,
                answer=fragment(description, steps, convergence=convergence),
                expect=expect,
                tier1=tier1,
                tier2=tier2,
            )
        )
    return cases


def _ingest_cases() -> list[Case]:
    cases = []
    for count in range(2, 7):
        loaders = INGEST_LOADERS[:count]
        steps = [
            call(
                f"load_{target.rsplit('.', 1)[1]}",
                target,
                sources="${steps.list_sources.result.sources}",
            )
            for target in loaders
        ]
        names = [step["name"] for step in steps]
        steps.append(call("merge", "ingest.merge", names))
        steps.append(store_facts("store", ["merge"]))
        cases.append(
            Case(
                id=f"ingest-fan-out-{count}",
                template=INGEST,
                step="plan_ingest",
                description=f"{count} sources loaded side by side, merged and stored",
                context={"sources": [t.rsplit(".", 1)[1] for t in loaders], "dataset": "sales"},
                upstream={
                    "list_sources": {
                        "sources": [t.rsplit(".", 1)[1] for t in loaders],
                        "total_rows": 1000 * count,
                    }
                },
                callables=[*INGEST_LOADERS, "ingest.merge"],
                answer=fragment("Load, merge, store", steps),
                expect={
                    "min_steps": count + 2,
                    "uses_callables": ["ingest.load.*", "ingest.merge"],
                    "depends": [["ingest.load.*", "merge"], ["merge", "transform_and_persist"]],
                    "max_depth": 3,
                },
                tier1=[
                    [hallucinate],
                    [],
                    [config_missing],
                    [as_text, hallucinate],
                    [hallucinate, config_missing, config_missing],
                ][count - 2],
                tier2=[[], [], [], [], [config_missing]][count - 2],
            )
        )
    # the budget leaves four steps: two loads, merge, store
    steps = [
        call("load_csv", INGEST_LOADERS[0]),
        call("load_api", INGEST_LOADERS[1]),
        call("merge", "ingest.merge", ["load_csv", "load_api"]),
        store_facts("store", ["merge"]),
    ]
    cases.append(
        Case(
            id="ingest-budget-four",
            template=INGEST,
            step="plan_ingest",
            description="the budget leaves four steps for two sources",
            context={"sources": ["csv", "api"]},
            upstream={"list_sources": {"sources": ["csv", "api"]}},
            callables=[*INGEST_LOADERS, "ingest.merge"],
            remaining_steps=4,
            answer=fragment("Within the budget", steps),
            expect={"max_steps": 4},
            tier1=[too_many(4)],
        )
    )
    # a load without a merge: a single source stored as is
    single = [
        call("load_csv", INGEST_LOADERS[0], sources="${task.context.sources}"),
        store_facts("store", ["load_csv"]),
    ]
    cases.append(
        Case(
            id="ingest-single-source",
            template=INGEST,
            step="plan_ingest",
            description="one source: no merge needed",
            context={"sources": ["csv"]},
            upstream={"list_sources": {"sources": ["csv"]}},
            callables=[*INGEST_LOADERS, "ingest.merge"],
            answer=fragment("One source", single),
            expect={"max_steps": 2, "references": ["${task.context.sources}"]},
            tier1=[bad_reference("${steps.list_sources.result.rows}")],
        )
    )
    # no registered callables: the allow-list's exact names only (the merge)
    cases.append(
        Case(
            id="ingest-unregistered-loaders",
            template=INGEST,
            step="plan_ingest",
            description="only ingest.merge is offered when no loader is registered",
            context={"sources": ["csv"]},
            upstream={"list_sources": {"sources": ["csv"]}},
            answer=fragment(
                "Merge what is there",
                [call("merge", "ingest.merge"), store_facts("store", ["merge"])],
            ),
            expect={"uses_callables": ["ingest.merge"]},
            tier1=[hallucinate],
        )
    )
    return cases


def _research_cases() -> list[Case]:
    cases = []
    topics = ["tea", "coffee", "cocoa", "yerba mate", "rooibos"]
    for index, topic in enumerate(topics):
        steps = [
            call("fetch", "lab.fetch", topic="${task.context.topic}"),
            call("summarise", "lab.summarise", ["fetch"]),
        ]
        cases.append(
            Case(
                id=f"research-fetch-summarise-{topic.replace(' ', '-')}",
                template=RESEARCH,
                step="plan_lookup",
                description=f"fetch what is missing about {topic}, then summarise",
                context={"topic": topic},
                upstream={"gather": {"items": []}},
                answer=fragment(f"Learn about {topic}", steps),
                expect={"depends": [["lab.fetch", "lab.summarise"]], "max_steps": 3},
                tier1=[[], [too_many(3)], [as_text], [], [hallucinate, dangling_edge]][index],
                tier2=[[], [], [], [], [dangling_edge]][index],
            )
        )
    for topic in ["tea", "salt"]:
        cases.append(
            Case(
                id=f"research-known-{topic}",
                template=RESEARCH,
                step="plan_lookup",
                description=f"the answer about {topic} is known: plan nothing",
                context={"topic": topic, "known_answer": "already written"},
                upstream={"gather": {"items": [{"id": 1}]}},
                answer=fragment("Nothing to fetch", []),
                expect={"max_steps": 0},
                miss=fragment("Fetch anyway", [call("fetch", "lab.fetch")])
                if topic == "salt"
                else None,
            )
        )
    cases.append(
        Case(
            id="research-two-sources",
            template=RESEARCH,
            step="plan_lookup",
            description="two fetches side by side, one summary: the bounds' three steps",
            context={"topic": "tea"},
            upstream={"gather": {"items": []}},
            answer=fragment(
                "Two sources",
                [
                    call("fetch_a", "lab.fetch"),
                    call("fetch_b", "lab.fetch"),
                    call("summarise", "lab.summarise", ["fetch_a", "fetch_b"]),
                ],
            ),
            expect={"min_steps": 3, "max_depth": 2},
            tier1=[too_many(3)],
        )
    )
    return cases


def _region_cases() -> list[Case]:
    cases = []
    regions = ["eu", "us", "apac", "latam", "mea", "uk", "nordics"]
    for index, region in enumerate(regions):
        steps = [
            call("address", ORDER_CHECKS[2], region="${task.context.region}"),
            lookup(deps=["address"]),
            notify("announce", f"order.{region}_checked", ["lookup_customer"]),
        ]
        cases.append(
            Case(
                id=f"orders-region-{region}",
                template=ORDERS,
                step="plan_order",
                description=f"an order of region {region}: check the address, look up, announce",
                context={
                    "order_id": f"ORD-{index}",
                    "region": region,
                    "customer": {"id": f"C-{index}"},
                },
                upstream={"intake": INTAKE},
                callables=[*ORDER_CHECKS, "orders.Summarise"],
                answer=fragment(f"Handle a {region} order", steps),
                expect={
                    "references": ["${task.context.region}"],
                    "depends": [["address", "announce"]],
                    "uses_patterns": ["http_request", "notify"],
                },
                tier1=[
                    [],
                    [config_missing],
                    [],
                    [hallucinate],
                    [],
                    [wrong_edge("finish_order")],
                    [],
                ][index],
                tier2=[[], [], [], [], [], [], [config_missing]][index],
            )
        )
    return cases


CASES: list[Case] = [
    *_incident_cases(),
    *_orders_cases(),
    *_ingest_cases(),
    *_research_cases(),
    *_region_cases(),
]
