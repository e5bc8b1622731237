"""The prompt a planning step sends: what to plan, with what, within which bounds.

In the order of the context's priority (docs/planning.md, "The prompt"): the goal and the
template's instructions; the task context and the upstream results, each as its context input
says (whole, a structured summary, a model's summary or a reference: ``context_plan``) with its
schema; the vocabulary the step may use, in tiers (names and one line each, then schemas while
they fit); the bounds, the budget left and the convergence the frame requires; the template's
examples. Nothing of tasker-ctl's own machinery (queues, transactions, tables) is described.
The text is deterministic: the same inputs give the same bytes, hence the same ``prompt_hash``.

The request stays within the step's ``planning.context.prompt_max_tokens`` by
``worst_case_input_tokens``: when it would not, it shrinks in this order, each reduction said
in the prompt or in the input's note: tier 2 schemas, then examples (the last first), then
inputs turned into references (the largest first). When even that does not fit, the fixed
parts alone are too large: ``PlanningPromptTooLarge``.

A repair request is the original request plus the last answer (cut) and its findings (at most
``MAX_REPAIR_FINDINGS``), never the history: every attempt's request is at most
``REPAIR_GROWTH`` times the first's size.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tasker_ctl.grammar.capabilities import REGISTRY
from tasker_ctl.grammar.document import RULES, vocabulary
from tasker_ctl.grammar.patterns import PATTERNS
from tasker_ctl.planning.context_plan import (
    TASK_CONTEXT,
    ContextInput,
    ContextPolicy,
    as_reference,
    context_policy,
    context_section,
    plan_input,
    upstream_section,
)
from tasker_ctl.planning.context_summary import canonical, utf8_size
from tasker_ctl.planning.errors import PlanningPromptTooLarge
from tasker_ctl.planning.fragment_schema import fragment_json_schema
from tasker_ctl.planning.planner import PlannerRequest, canonical_json, prompt_hash
from tasker_ctl.template.diagnostics import Finding
from tasker_ctl.template.model import PlanningBlock, StepDefinition, TaskTemplate

PROMPT_VERSION = "planning-prompt/2"
TIER2_LIMIT = 16 * 1024
"""Bytes of capability text up to which schemas (tier 2) are added: every prompt byte may be a
token, and the budget reserves for the worst case."""
REPAIR_GROWTH = 1.25
"""A repair request's size over the first request's, at most."""
MAX_REPAIR_FINDINGS = 20
MAX_REPAIR_ANSWER_BYTES = 8 * 1024
_FINDING_LINE = 300  # characters of one rendered finding

SYSTEM_PROMPT = (
    "You are a workflow planner. A workflow's frame is fixed; one of its steps is yours to "
    "fill with a workflow fragment: the steps that do the work described below, with their "
    "dependencies and inputs. You answer only by calling the tool propose_fragment exactly "
    "once, its arguments being the whole fragment (format 1.0); you write nothing else. Use "
    "only the handlers listed as allowed, reference only the task context and results of "
    "steps, stay within the bounds and the budget left, and never name a step of the frame."
)

SINGLE_MUTATION_RULE = (
    "A composition changes the world (persist, emit) in as few places as possible: prefer a "
    "single mutating invocation, placed last after every check that can fail, so that a failed "
    "step leaves no change behind."
)


@dataclass(frozen=True)
class PlanningPrompt:
    """A planning step's first request, with what identifies it."""

    request: PlannerRequest
    capability_text: str
    prompt_hash: str
    capability_hash: str
    version: str = PROMPT_VERSION
    context_inputs: list[dict[str, Any]] = field(default_factory=list)
    """How each input reached the prompt (``ContextInput.as_json``), the context first."""
    reductions: tuple[str, ...] = ()
    """What was left out to stay within ``prompt_max_tokens``, in the order it was."""


def build_prompt(
    *,
    template: TaskTemplate,
    step: str,
    context: Any,
    upstream: Mapping[str, Any],
    callables: Sequence[str],
    patterns: Sequence[str],
    remaining: Mapping[str, float | None],
    max_steps: int,
    max_depth: int,
    context_inputs: Sequence[ContextInput] | None = None,
    policy: ContextPolicy | None = None,
    tiers: Sequence[int] = (1, 2),
    definition: StepDefinition | None = None,
    upstream_schemas: Mapping[str, Any] | None = None,
) -> PlanningPrompt:
    """The prompt for planning step ``step`` of ``template`` (which must be one), within
    ``policy.prompt_max_tokens`` (the step's ``planning.context`` when no policy is given).
    ``tiers`` says how much of the vocabulary it shows: 1 names and one line each; 2 adds the
    schemas of what is allowed within ``TIER2_LIMIT``; 3 every schema and example, no cap.

    ``context_inputs`` (from ``context_plan.plan_context``, summaries made) say how the task
    context (``task.context``) and each upstream result are given; a value without one is
    planned here with no model to summarize it, and a "summarize" input never summarized
    becomes a reference."""
    definition = definition or template.step(step)
    if definition is None or definition.planning is None:
        raise ValueError(f"step '{step}' of template '{template.name}' is not a planning step")
    planning = definition.planning
    policy = policy or context_policy(planning)
    dynamic = planning.allow_dynamic_composition
    # a level of nested planning left: the fragment may hold a nested planning step
    nested = planning.max_nesting > 0
    tool_schema = fragment_json_schema(callables, patterns, dynamic, allow_nested=nested)
    values, schemas = _context_values(template, planning, context, upstream, upstream_schemas)
    inputs = _inputs(values, schemas, context_inputs, policy)
    if not tiers or not set(tiers) <= {1, 2, 3}:
        raise ValueError(f"tiers are among 1, 2 and 3, not {list(tiers)}")
    known = [name for name in sorted(set(patterns)) if name in PATTERNS]
    tier3_text = ""
    if max(tiers) == 3:
        every = vocabulary(tier=3, capabilities=list(REGISTRY) if dynamic else [], patterns=known)
        examples_of = [(doc.name, doc.examples) for doc in every.patterns]
        examples_of += [(doc.name, doc.examples) for doc in every.capabilities]
        tier3_text = "".join(
            f"\n- example of {name}: {canonical(shown)}" for name, shown in examples_of
        )
    tier2_limit = TIER2_LIMIT
    examples = len(planning.examples)
    reductions: list[str] = []

    tier1, tier2 = _capability_parts(callables, patterns, dynamic)

    def build() -> tuple[PlannerRequest, str]:
        if max(tiers) == 1:
            capability_text = tier1
        else:  # tier 3: no section cap, only the prompt's
            limit = sys.maxsize if max(tiers) == 3 and tier2_limit == TIER2_LIMIT else tier2_limit
            capability_text = _assemble_capabilities(tier1, tier2, limit)
            capability_text += tier3_text if max(tiers) == 3 else ""
        sections = [
            _goal(definition, planning),
            context_section(inputs[TASK_CONTEXT]),
            upstream_section(sorted(set(planning.context_from) | set(upstream)), inputs, schemas),
            "## What the fragment may use\n\n" + capability_text,
            _constraints(template, step, planning, remaining, max_steps, max_depth),
            _examples(planning, examples),
            "## Answer\n\nCall propose_fragment once with the complete fragment.",
        ]
        request = PlannerRequest(
            system=SYSTEM_PROMPT,
            prompt="\n\n".join(section for section in sections if section),
            tool_schema=tool_schema,
            max_output_tokens=planning.max_output_tokens,
            timeout_seconds=float(planning.timeout_seconds),
        )
        return request, capability_text

    cap = policy.prompt_max_tokens
    request, capability_text = build()
    # 1. tier 2 schemas: the room they may take shrinks by what is over, until none is left
    full_capabilities = utf8_size(capability_text)
    while _over(request, cap) > 0 and tier2_limit > 0:
        tier2_limit = max(0, min(tier2_limit, utf8_size(capability_text)) - _over(request, cap))
        request, capability_text = build()
    if tier2_limit < TIER2_LIMIT:
        reductions.append(
            f"capability schemas (tier 2) cut: {full_capabilities} to "
            f"{utf8_size(capability_text)} bytes"
        )
    # 2. examples, the last first
    while _over(request, cap) > 0 and examples > 0:
        examples -= 1
        request, capability_text = build()
    if examples < len(planning.examples):
        reductions.append(f"examples left out: {len(planning.examples) - examples}")
    # 3. inputs to references, the largest first (one whose reference is no smaller stays)
    while _over(request, cap) > 0:
        smaller = [
            reference
            for item in inputs.values()
            if item.strategy != "reference"
            for reference in [
                as_reference(
                    item,
                    values.get(item.name),
                    f"made a reference to keep the prompt within {cap} tokens",
                )
            ]
            if reference.bytes_after < item.bytes_after
        ]
        if not smaller:
            break
        largest = max(smaller, key=lambda item: (inputs[item.name].bytes_after, item.name))
        inputs[largest.name] = largest
        reductions.append(f"'{largest.name}' made a reference")
        request, capability_text = build()
    if _over(request, cap) > 0:
        needed = request.worst_case_input_tokens()
        raise PlanningPromptTooLarge(
            f"the prompt of planning step '{step}' needs up to {needed} tokens with every "
            f"reduction made (tier 2 schemas and examples left out, every context input a "
            f"reference); planning.context.prompt_max_tokens is {cap}",
            needed_tokens=needed,
            max_tokens=cap,
        )
    capability_hash = hashlib.sha256(
        (capability_text + "\0" + canonical_json(tool_schema)).encode("utf-8")
    ).hexdigest()
    return PlanningPrompt(
        request=request,
        capability_text=capability_text,
        prompt_hash=prompt_hash(request.system, request.prompt),
        capability_hash=capability_hash,
        context_inputs=[item.as_json() for item in inputs.values()],
        reductions=tuple(reductions),
    )


def _over(request: PlannerRequest, cap: int) -> int:
    return request.worst_case_input_tokens() - cap


def _context_values(
    template: TaskTemplate,
    planning: PlanningBlock,
    context: Any,
    upstream: Mapping[str, Any],
    known: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The values of the prompt by input name (the context first, then the upstream results in
    name order) and their schemas (``known``: those of steps the template does not declare,
    steps planners added)."""
    values: dict[str, Any] = {TASK_CONTEXT: context}
    schemas: dict[str, Any] = {TASK_CONTEXT: template.input_schema}
    for name in sorted(set(planning.context_from) | set(upstream)):
        source = template.step(name)
        if source is not None:
            schemas[name] = source.result_schema
        else:
            schemas[name] = (known or {}).get(name)
        if name in upstream:
            values[name] = upstream[name]
    return values, schemas


def _inputs(
    values: Mapping[str, Any],
    schemas: Mapping[str, Any],
    given: Sequence[ContextInput] | None,
    policy: ContextPolicy,
) -> dict[str, ContextInput]:
    by_name = {item.name: item for item in given or ()}
    inputs: dict[str, ContextInput] = {}
    for name, value in values.items():
        item = by_name.get(name)
        if item is not None and item.schema is None:
            item = dataclasses.replace(item, schema=schemas.get(name))
        if item is None:
            item = plan_input(name, value, schemas.get(name), policy, summarize=False)
        elif item.text is None:
            item = as_reference(item, value, "not summarized: given as a reference")
        inputs[name] = item
    return inputs


def _goal(definition: StepDefinition, planning: PlanningBlock) -> str:
    lines = ["## Goal", ""]
    lines.append(planning.goal or definition.description or f"Fill step '{definition.name}'.")
    if planning.prompt:
        lines += ["", "## Instructions", "", planning.prompt]
    return "\n".join(lines)


def capabilities_text(
    callables: Sequence[str], patterns: Sequence[str], dynamic: bool, *, limit: int = TIER2_LIMIT
) -> str:
    """What a step of the fragment may run: tier 1 (names, one line each, the composition
    rules) always, then tier 2 (schemas), the allowed patterns' first, one by one while the
    whole stays within ``limit`` bytes; the names whose schemas were left out are listed."""
    return _assemble_capabilities(*_capability_parts(callables, patterns, dynamic), limit)


def _capability_parts(
    callables: Sequence[str], patterns: Sequence[str], dynamic: bool
) -> tuple[str, list[tuple[str, str]]]:
    """Tier 1's text and tier 2's lines (name, line): built once per prompt, however many
    times the prompt is assembled to fit its cap."""
    known_patterns = [name for name in sorted(set(patterns)) if name in PATTERNS]
    tier1 = _capabilities_tier1(sorted(set(callables)), known_patterns, dynamic)
    return tier1, _capabilities_tier2(known_patterns, dynamic)


def _assemble_capabilities(text: str, schemas: list[tuple[str, str]], limit: int) -> str:
    if not schemas:
        return text
    header = "\n\nSchemas:"
    shown: list[str] = []
    left_out: list[str] = []
    size = _bytes(text) + _bytes(header)
    for name, line in schemas:
        if size + _bytes(line) + 1 <= limit:
            shown.append(line)
            size += _bytes(line) + 1
        else:
            left_out.append(name)
    if shown:
        text += header + "".join("\n" + line for line in shown)
    if left_out:
        text += (
            "\n(left out for size, follow the names and rules above: " + ", ".join(left_out) + ")"
        )
    return text


def _capabilities_tier1(callables: list[str], patterns: list[str], dynamic: bool) -> str:
    index = vocabulary(tier=1, capabilities=list(REGISTRY) if dynamic else [], patterns=patterns)
    lines = ["Each fragment step has exactly one handler:", ""]
    if callables:
        lines.append("- {callable: NAME}, an application handler; allowed: " + ", ".join(callables))
    else:
        lines.append("- no application handler (callable) is allowed")
    if index.patterns:
        lines.append("- {grammar: PATTERN, config: {...}}, a named composition; allowed:")
        lines += [
            f"  - {doc.name}: {doc.summary} (runs {', '.join(doc.capabilities)})"
            for doc in index.patterns
        ]
    else:
        lines.append("- no named composition (grammar) is allowed")
    if dynamic:
        lines.append("- {composition: {...}}, a composition written out from these capabilities:")
        lines += [
            f"  - {doc.name} ({doc.category}{', mutating' if doc.mutating else ''}): {doc.summary}"
            for doc in index.capabilities
        ]
        lines += ["", "Composition rules:"]
        lines += [f"- {rule}" for rule in RULES]
        lines.append(f"- {SINGLE_MUTATION_RULE}")
    elif index.patterns:
        lines += ["", f"Composition rule: {SINGLE_MUTATION_RULE}"]
    return "\n".join(lines)


def _capabilities_tier2(patterns: list[str], dynamic: bool) -> list[tuple[str, str]]:
    detail = vocabulary(tier=2, capabilities=list(REGISTRY) if dynamic else [], patterns=patterns)
    lines = [
        (pattern.name, f"- grammar {pattern.name}: config {canonical(pattern.params_schema)}")
        for pattern in detail.patterns
    ]
    lines += [
        (
            capability.name,
            f"- capability {capability.name}: reads {capability.input_contract}; produces "
            f"{capability.output_contract}; config {canonical(capability.config_schema)}",
        )
        for capability in detail.capabilities
    ]
    return lines


def _constraints(
    template: TaskTemplate,
    step: str,
    planning: PlanningBlock,
    remaining: Mapping[str, float | None],
    max_steps: int,
    max_depth: int,
) -> str:
    frame = sorted(definition.name for definition in template.steps)
    budget = [
        f"- {resource}: " + ("no limit" if left is None else f"{left:g} left")
        for resource, left in sorted(remaining.items())
    ]
    lines = [
        "## Bounds",
        "",
        f"- at most {max_steps} steps, and dependency chains at most {max_depth} steps deep",
        f"- the frame's step '{planning.convergence}' runs after the fragment and converges it: "
        "give the fragment a convergence step where its branches meet",
        f"- the fragment fills step '{step}'; it must not name a step of the frame: "
        + ", ".join(frame),
        "",
        "Budget left for this task:",
        *(budget or ["- no limit"]),
    ]
    return "\n".join(lines)


def _examples(planning: PlanningBlock, count: int) -> str:
    """The first ``count`` of the template's examples, and how many were left out for size."""
    if not planning.examples:
        return ""
    lines = ["## Examples", ""]
    for number, example in enumerate(planning.examples[:count], start=1):
        lines.append(f"Example fragment {number}: {canonical(example)}")
    if count < len(planning.examples):
        lines.append(f"({len(planning.examples) - count} examples left out for size)")
    return "\n".join(lines)


# -- repair ---------------------------------------------------------------------------------


def render_finding(finding: Finding) -> str:
    """One line: stage, code, path, message, hint."""
    stage = getattr(finding, "stage", None)
    where = finding.path if isinstance(finding.path, str) else str(finding.path)
    text = f"stage {stage} " if stage is not None else ""
    text += f"{finding.code} at {where}: {finding.message}"
    if finding.hint:
        text += f" (hint: {finding.hint})"
    text = " ".join(text.split())
    return text if len(text) <= _FINDING_LINE else text[: _FINDING_LINE - 1] + "…"


def repair_request(
    original: PlanningPrompt, last_answer: str, findings: Sequence[Finding]
) -> PlannerRequest:
    """The original request with the last answer (cut) and its findings: never the history,
    so it is at most ``REPAIR_GROWTH`` times the original's size whatever the attempt."""
    first = original.request
    allowance = int(first.size * (REPAIR_GROWTH - 1))
    header = (
        "\n\n## Your last answer was refused\n\n"
        "Fix every finding below and call propose_fragment again with the complete fragment.\n"
    )
    budget = allowance - _bytes(header) - 200  # the framing lines below
    finding_lines: list[str] = []
    for index, finding in enumerate(findings[:MAX_REPAIR_FINDINGS]):
        line = "- " + render_finding(finding)
        # the findings say what to fix: they get two thirds of the room, the answer the rest
        if sum(map(_bytes, finding_lines)) + _bytes(line) + 1 > budget * 2 // 3:
            finding_lines.append(f"- ({len(findings) - index} more findings not shown)")
            break
        finding_lines.append(line)
    else:
        if len(findings) > MAX_REPAIR_FINDINGS:
            finding_lines.append(
                f"- ({len(findings) - MAX_REPAIR_FINDINGS} more findings not shown)"
            )
    findings_text = "Findings:\n" + "\n".join(finding_lines) + "\n"
    answer_room = max(0, min(MAX_REPAIR_ANSWER_BYTES, budget - _bytes(findings_text)))
    answer_bytes = last_answer.encode("utf-8")
    shown = answer_bytes[:answer_room].decode("utf-8", "ignore")
    cut = len(answer_bytes) - _bytes(shown)
    answer_note = (
        f"Your last answer ({len(answer_bytes)} bytes"
        + (f"; the first {_bytes(shown)} shown, {cut} cut" if cut else "")
        + "):\n"
    )
    prompt = first.prompt + header + answer_note + shown + "\n" + findings_text
    return dataclasses.replace(first, prompt=prompt)


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))
