"""Handlers of examples/templates/incident_triage.yaml, so that it runs end to end:
   tasker-ctl run examples/templates/incident_triage.yaml --context '{"incident_id": "INC-7"}' \
     --handlers examples/planning/triage_handlers.py \
     --planner replay:examples/planning/triage.cassette.yaml
The planner may choose the checks under examples.incident_triage.checks.*."""

from __future__ import annotations

from tasker_ctl.sdk.step_handler.functional import inputs, step_handler


@step_handler("examples.incident_triage.handlers.collect_signals")
@inputs("incident_id")
def collect_signals(incident_id):
    return {"signals": [f"{incident_id}: 5xx on /checkout", "queue depth rising"]}


@step_handler("examples.incident_triage.checks.inspect_errors")
def inspect_errors(context):
    return {"observation": f"{len(context.step_inputs.get('signals') or [])} signal(s) read"}


@step_handler("examples.incident_triage.checks.inspect_queues")
def inspect_queues():
    return {"observation": "the worker pool is saturated"}


@step_handler("examples.incident_triage.handlers.write_report")
def write_report(context):
    planned = context.get_dependency_result("plan_investigation")["fragment_id"]
    return {"summary": f"investigated by fragment {planned}"}
