"""A template with a planning step, shared by the prompt tests and the repair benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tasker_ctl.planning.prompt import PlanningPrompt, build_prompt
from tasker_ctl.template.model import TaskTemplate
from tasker_ctl.template.validator import load_template

TEMPLATE = """\
name: research
namespace_name: lab
version: 1.0.0
description: Look something up and act on it
input_schema:
  type: object
  properties:
    topic: {type: string}
steps:
  - name: gather
    handler: {callable: lab.Gather}
    result_schema:
      type: object
      properties:
        items: {type: array, items: {type: object}}
  - name: plan_work
    type: planning
    dependencies: [gather]
    handler: {callable: lab.Plan}
    planning:
      convergence: report
      goal: Decide which sources to fetch and how to store them
      prompt: Prefer few steps.
      allowed_callables: ["lab.fetch", "lab.store"]
      allowed_patterns: [fetch_and_validate, transform_and_persist]
      allow_dynamic_composition: DYNAMIC
      context_from: [gather]
      examples:
        - fragment_version: "1.0"
          planning_context:
            {goal: fetch, reasoning: one source, estimated_steps: 1, estimated_depth: 1}
          steps: [{name: only, handler: {callable: lab.fetch}}]
          convergence: only
          resource_bounds: {max_downstream_steps: 1, max_downstream_depth: 1}
  - name: report
    type: deferred_convergence
    dependencies: [plan_work]
    handler: {callable: lab.Report}
"""


def research_template(folder: Path, *, dynamic: bool = True) -> TaskTemplate:
    path = folder / "research.yaml"
    path.write_text(TEMPLATE.replace("DYNAMIC", "true" if dynamic else "false"), encoding="utf-8")
    return load_template(path)


def research_prompt(
    template: TaskTemplate, upstream: dict[str, Any] | None = None
) -> PlanningPrompt:
    return build_prompt(
        template=template,
        step="plan_work",
        context={"topic": "tea", "region": "Assam"},
        upstream={"gather": {"items": [{"id": 1}]}} if upstream is None else upstream,
        callables=["lab.store", "lab.fetch"],
        patterns=["transform_and_persist", "fetch_and_validate"],
        remaining={"llm_calls": 2, "tokens": 40_000, "cost_usd": None},
        max_steps=10,
        max_depth=3,
    )
