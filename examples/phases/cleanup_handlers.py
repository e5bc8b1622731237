"""Handlers of examples/phases/cleanup.yaml: the frame's steps, and the checks and fixes the
planners may choose (``cleanup.checks.*``, ``cleanup.fixes.*``). A planned step receives its
inputs (the references its planner wrote, resolved when it runs) as ``context.step_inputs``."""

from __future__ import annotations

from tasker_ctl.sdk.step_handler.functional import inputs, step_handler


@step_handler("cleanup.profile_dataset")
@inputs("dataset")
def profile_dataset(dataset):
    # a sample of rows: more than a prompt takes whole, so the planner gets a summary of it
    sample = [
        {
            "order_id": f"o-{n:05d}",
            "email": None if n % 7 == 0 else f"buyer{n}@example.com",
            "shipped_at": f"2027-01-{n % 28 + 1:02d}"
            if n % 11 == 0
            else f"2026-11-{n % 28 + 1:02d}",
        }
        for n in range(60)
    ]
    return {
        "dataset": dataset,
        "rows": 120_000,
        "suspicious_columns": ["email", "shipped_at"],
        "sample": sample,
    }


@step_handler("cleanup.plan_cleanup")
def plan_cleanup():
    # never called: the engine plans a planning step (docs/planning.md)
    raise NotImplementedError


@step_handler("cleanup.checks.count_nulls")
def count_nulls(context):
    column = context.step_inputs.get("column")
    return {"finding": f"{column}: 1,204 nulls", "column": column}


@step_handler("cleanup.checks.check_dates")
def check_dates(context):
    column = context.step_inputs.get("column")
    return {"finding": f"{column}: 87 dates in the future", "column": column}


@step_handler("cleanup.fixes.fill_nulls")
def fill_nulls(context):
    return {"finding": f"filled the nulls of {context.step_inputs.get('column')}"}


@step_handler("cleanup.fixes.clamp_dates")
def clamp_dates(context):
    return {"finding": f"clamped the future dates of {context.step_inputs.get('column')}"}


@step_handler("cleanup.checks.verify")
def verify(context):
    return {"finding": f"verified {context.step_inputs.get('dataset')}: no nulls, no future dates"}


@step_handler("cleanup.write_summary")
def write_summary(context):
    # every step the planners added, phase after phase, through the planners' results
    findings, planners = [], ["plan_cleanup"]
    while planners:
        planned = context.get_dependency_result(planners.pop(0)) or {}
        for name in planned.get("steps", []):
            result = context.get_dependency_result(name) or {}
            if "finding" in result:
                findings.append(result["finding"])
            if "fragment_id" in result:  # a nested planner: its own steps come next
                planners.append(name)
    exhausted = (context.step_inputs.get("planning") or {}).get("exhausted")
    if exhausted:
        findings.append(f"planning stopped early: {exhausted[0]['code']}")
    return {"dataset": context.get_input("dataset"), "findings": findings}
