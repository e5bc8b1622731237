"""Rules for ``type: planning`` steps: the frame a planner fills must be sound."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TypeGuard

from tasker_ctl.template.context import RuleContext
from tasker_ctl.template.issue import Issue, suggestion_hint
from tasker_ctl.template.rules import rule


@rule("EXTENSION_STEP_TYPE", "PLANNING_BLOCK_MISSING", "PLANNING_BLOCK_MISPLACED")
def planning_blocks(context: RuleContext) -> Iterator[Issue]:
    for step in context.steps:
        has_block = "planning" in step.data
        type_key = "type" if "type" in step.data else "step_type"
        if step.type == "planning":
            yield Issue(
                "EXTENSION_STEP_TYPE",
                f"Step '{step.label}' uses 'type: planning', a tasker-ctl extension that "
                "Tasker Core cannot load",
                (*step.path, type_key),
                step=step.name,
            )
            if not has_block:
                yield Issue(
                    "PLANNING_BLOCK_MISSING",
                    f"planning step '{step.label}' has no 'planning:' block",
                    (*step.path, "name"),
                    "add 'planning: {convergence: <deferred_convergence step>, ...}'",
                    step=step.name,
                )
        elif has_block:
            yield Issue(
                "PLANNING_BLOCK_MISPLACED",
                f"Step '{step.label}' has a 'planning:' block but its type is '{step.type}'",
                (*step.path, "planning"),
                "set 'type: planning' or remove the block",
                step=step.name,
                at_key=True,
            )


@rule(
    "PLANNING_CONVERGENCE_UNKNOWN",
    "PLANNING_CONVERGENCE_NOT_DOWNSTREAM",
    "PLANNING_CONVERGENCE_NOT_DEFERRED",
    "PLANNING_CONTEXT_UNKNOWN_STEP",
    "PLANNING_NOTHING_ALLOWED",
    "PLANNING_BOUNDS_INCONSISTENT",
)
def planning_frame(context: RuleContext) -> Iterator[Issue]:
    graph = context.graph
    for step in context.steps:
        block = step.mapping("planning")
        if step.type != "planning" or block is None or step.name is None:
            continue
        base = (*step.path, "planning")
        convergence = block.get("convergence")
        if isinstance(convergence, str):
            target = context.named_steps.get(convergence)
            if target is None:
                yield Issue(
                    "PLANNING_CONVERGENCE_UNKNOWN",
                    f"planning.convergence '{convergence}' names no step",
                    (*base, "convergence"),
                    suggestion_hint(convergence, list(context.named_steps)),
                    step=step.name,
                )
            else:
                if step.name in graph and convergence not in graph.descendants(step.name):
                    yield Issue(
                        "PLANNING_CONVERGENCE_NOT_DOWNSTREAM",
                        f"convergence step '{convergence}' does not depend on planning "
                        f"step '{step.name}', so it could run before the planned steps",
                        (*base, "convergence"),
                        f"add '{step.name}' to the dependencies of '{convergence}'",
                        step=step.name,
                    )
                if target.type != "deferred_convergence":
                    yield Issue(
                        "PLANNING_CONVERGENCE_NOT_DEFERRED",
                        f"convergence step '{convergence}' is '{target.type}', not "
                        "deferred_convergence, so it cannot wait on planned steps",
                        (*base, "convergence"),
                        f"set 'type: deferred_convergence' on '{convergence}'",
                        step=step.name,
                    )
        context_from = block.get("context_from")
        ancestors = graph.ancestors(step.name) if step.name in graph else set()
        for index, name in enumerate(context_from if isinstance(context_from, list) else []):
            if isinstance(name, str) and name not in ancestors:
                yield Issue(
                    "PLANNING_CONTEXT_UNKNOWN_STEP",
                    f"planning.context_from names '{name}', which is not upstream of '{step.name}'",
                    (*base, "context_from", index),
                    suggestion_hint(name, sorted(ancestors)),
                    step=step.name,
                )
        allowed = [block.get("allowed_callables"), block.get("allowed_patterns")]
        if block.get("allow_dynamic_composition") is not True and not any(
            isinstance(items, list) and items for items in allowed
        ):
            yield Issue(
                "PLANNING_NOTHING_ALLOWED",
                f"planning step '{step.name}' allows no callables, no patterns and no "
                "dynamic composition, so a planner could produce nothing",
                base,
                "list 'allowed_callables' or 'allowed_patterns', or set "
                "'allow_dynamic_composition: true'",
                step=step.name,
            )
        bounds = block.get("bounds")
        if isinstance(bounds, dict):
            steps_bound, depth_bound = bounds.get("max_steps"), bounds.get("max_depth")
            if _is_int(steps_bound) and _is_int(depth_bound) and depth_bound > steps_bound > 0:
                yield Issue(
                    "PLANNING_BOUNDS_INCONSISTENT",
                    f"planning.bounds.max_depth ({depth_bound}) exceeds max_steps "
                    f"({steps_bound}); a fill cannot be deeper than it has steps",
                    (*base, "bounds", "max_depth"),
                    f"set max_depth to at most {steps_bound}",
                    step=step.name,
                )


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


PLANNER_PROVIDERS = ("openai", "anthropic", "ollama", "replay")
_MODEL_NAME = re.compile(r"[^\s@]+\Z")
_CALLABLE_ENTRY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?:\.\*)?\Z")


def model_problem(model: str) -> str | None:
    """Why ``model`` is not a planner model reference (``provider:model``), or None."""
    provider, colon, rest = model.partition(":")
    if not colon or not rest:
        return "is not 'provider:model'"
    if provider not in PLANNER_PROVIDERS:
        return f"names provider '{provider}', not one of {', '.join(PLANNER_PROVIDERS)}"
    if provider == "replay":
        return None if rest.strip() == rest else "names a cassette file with surrounding spaces"
    name, at, url = rest.partition("@")
    if at:
        if provider != "openai":
            return "gives a base URL, which only openai: (any OpenAI-compatible server) takes"
        if not name or not re.match(r"https?://[^\s/@]+", url):
            return "is not 'openai:MODEL@URL' with an http:// or https:// URL"
    if not _MODEL_NAME.match(name):
        return "has a model name that is empty or holds spaces"
    return None


_MODEL_HINT = (
    "write e.g. 'openai:gpt-4.1-mini', 'anthropic:claude-sonnet-4-0', "
    "'ollama:qwen2.5-coder:7b', 'openai:MODEL@http://host:port/v1' or 'replay:FILE'"
)
_CONTEXT_THRESHOLDS = ("verbatim_max_bytes", "summary_max_bytes", "summarize_max_bytes")
_CONTEXT_DEFAULTS = {
    "verbatim_max_bytes": 1024,
    "summary_max_bytes": 10_240,
    "summarize_max_bytes": 102_400,
}


@rule("PLANNING_MODEL_INVALID", "PLANNING_CALLABLE_ENTRY_INVALID")
def planning_settings(context: RuleContext) -> Iterator[Issue]:
    for step in context.steps:
        block = step.mapping("planning")
        if step.type != "planning" or block is None:
            continue
        base = (*step.path, "planning")
        model = block.get("model")
        if isinstance(model, str):
            problem = model_problem(model)
            if problem is not None:
                yield Issue(
                    "PLANNING_MODEL_INVALID",
                    f"planning.model '{model}' {problem}",
                    (*base, "model"),
                    _MODEL_HINT,
                    step=step.name,
                )
        fallbacks = block.get("fallback_models")
        for index, fallback in enumerate(fallbacks if isinstance(fallbacks, list) else []):
            problem = model_problem(fallback) if isinstance(fallback, str) else None
            if problem is not None:
                yield Issue(
                    "PLANNING_MODEL_INVALID",
                    f"planning.fallback_models entry '{fallback}' {problem}",
                    (*base, "fallback_models", index),
                    _MODEL_HINT,
                    step=step.name,
                )
        entries = block.get("allowed_callables")
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, str) and not _CALLABLE_ENTRY.match(entry):
                yield Issue(
                    "PLANNING_CALLABLE_ENTRY_INVALID",
                    f"planning.allowed_callables entry '{entry}' is neither a dotted name nor "
                    "a dotted prefix ending in '.*'",
                    (*base, "allowed_callables", index),
                    "write 'module.Name' for one callable, 'module.*' for every one under it",
                    step=step.name,
                )


@rule("PLANNING_CONTEXT_POLICY_INVALID")
def planning_context_policy(context: RuleContext) -> Iterator[Issue]:
    """An input is given verbatim, then cut, then summarized as it grows: a threshold below
    the one before it would leave a tier that no input can reach."""
    for step in context.steps:
        block = step.mapping("planning")
        if step.type != "planning" or block is None:
            continue
        policy = block.get("context")
        if not isinstance(policy, dict):
            continue
        previous_key, previous = "", 0
        for key in _CONTEXT_THRESHOLDS:
            value = policy.get(key, _CONTEXT_DEFAULTS.get(key))
            if not _is_int(value):
                continue  # a missing key keeps the default; a wrong type is WRONG_TYPE
            if value < previous:
                given = "" if key in policy else " (its default)"
                yield Issue(
                    "PLANNING_CONTEXT_POLICY_INVALID",
                    f"planning.context.{key}{given} is {value}, below {previous_key} "
                    f"({previous}); the byte thresholds must not decrease",
                    (*step.path, "planning", "context", key if key in policy else previous_key),
                    f"set {key} to at least {previous}",
                    step=step.name,
                )
            previous_key, previous = key, value
