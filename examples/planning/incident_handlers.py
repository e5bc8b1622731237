"""Handlers of examples/planning/incident.yaml: the frame's steps and the checks a planner may
choose (``incident.checks.*``). The planned steps receive their inputs (references the planner
wrote, resolved when they run) as ``context.step_inputs``."""

from __future__ import annotations

from tasker_ctl.sdk.step_handler.functional import inputs, step_handler


@step_handler("incident.collect_signals")
@inputs("service")
def collect_signals(service):
    return {
        "service": service,
        "alerts": ["p99 latency above 2 s", "error rate 4 %"],
        "recent_deploys": [f"{service}@2026.12.07-1"],
    }


@step_handler("incident.plan_investigation")
def plan_investigation():
    # never called: the engine plans a planning step (docs/planning.md)
    raise NotImplementedError


@step_handler("incident.checks.query_logs")
def query_logs(context):
    service = context.step_inputs.get("service")
    return {"check": "logs", "finding": f"{service}: timeouts calling the payments API"}


@step_handler("incident.checks.check_deploys")
def check_deploys(context):
    deploys = context.step_inputs.get("deploys") or []
    return {"check": "deploys", "finding": f"{len(deploys)} deploy(s) before the alert"}


@step_handler("incident.checks.check_dependencies")
def check_dependencies(context):
    service = context.step_inputs.get("service")
    return {"check": "dependencies", "finding": f"{service}: payments API degraded"}


@step_handler("incident.write_report")
def write_report(context):
    # the planning step's result names the steps it planned; their results are ancestors'
    planned = context.get_dependency_result("plan_investigation")["steps"]
    findings = [
        result["finding"]
        for name in planned
        if isinstance(result := context.get_dependency_result(name), dict) and "finding" in result
    ]
    return {"incident_id": context.get_input("incident_id"), "findings": findings}
