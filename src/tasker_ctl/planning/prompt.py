"""The prompt a planning step sends: what to plan, with what, within which bounds.

In the order of the context's priority (docs/planning.md, "The prompt"): the goal and the
template's instructions; the task context in full; upstream results (whole under 1 KB, else a
summary keeping their shape) with their result schemas; the vocabulary the step may use, in
tiers (names and one line each, then schemas while they fit); the bounds, the budget left and
the convergence the frame requires; the template's examples. Nothing of tasker-ctl's own
machinery (queues, transactions, tables) is described. The text is deterministic: the same
inputs give the same bytes, hence the same ``prompt_hash``.

A repair request is the original request plus the last answer (cut) and its findings (at most
``MAX_REPAIR_FINDINGS``), never the history: every attempt's request is at most
``REPAIR_GROWTH`` times the first's size.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tasker_ctl.grammar.capabilities import REGISTRY
from tasker_ctl.grammar.document import RULES, vocabulary
from tasker_ctl.grammar.patterns import PATTERNS
from tasker_ctl.planning.context_summary import canonical, view_result
from tasker_ctl.planning.fragment_schema import fragment_json_schema
from tasker_ctl.planning.planner import PlannerRequest, canonical_json, prompt_hash
from tasker_ctl.template.diagnostics import Finding
from tasker_ctl.template.model import PlanningBlock, StepDefinition, TaskTemplate

PROMPT_VERSION = "planning-prompt/1"
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
    tiers: Sequence[int] = (1, 2),
) -> PlanningPrompt:
    """The prompt for planning step ``step`` of ``template`` (which must be one). ``tiers``
    says how much of the vocabulary it shows: 1 names and one line each; 2 adds the schemas of
    what is allowed while they fit ``TIER2_LIMIT``; 3 adds every schema and the examples, with
    no cap."""
    definition = template.step(step)
    if definition is None or definition.planning is None:
        raise ValueError(f"step '{step}' of template '{template.name}' is not a planning step")
    if not tiers or not set(tiers) <= {1, 2, 3}:
        raise ValueError(f"tiers are among 1, 2 and 3, not {list(tiers)}")
    planning = definition.planning
    dynamic = planning.allow_dynamic_composition
    tool_schema = fragment_json_schema(callables, patterns, dynamic)
    known = [name for name in sorted(set(patterns)) if name in PATTERNS]
    if max(tiers) == 1:
        capability_text = _capabilities_tier1(sorted(set(callables)), known, dynamic)
    elif max(tiers) == 2:
        capability_text = capabilities_text(callables, patterns, dynamic)
    else:  # tier 3: every schema and example, however long
        every = vocabulary(tier=3, capabilities=list(REGISTRY) if dynamic else [], patterns=known)
        capability_text = "\n".join(
            [_capabilities_tier1(sorted(set(callables)), known, dynamic), "", "Schemas:"]
            + [line for _, line in _capabilities_tier2(known, dynamic)]
            + [f"- example of {doc.name}: {canonical(doc.examples)}" for doc in every.patterns]
            + [f"- example of {doc.name}: {canonical(doc.examples)}" for doc in every.capabilities]
        )
    sections = [
        _goal(definition, planning),
        "## Task context\n\n" + canonical(context),
        _upstream(template, planning, upstream),
        "## What the fragment may use\n\n" + capability_text,
        _constraints(template, step, planning, remaining, max_steps, max_depth),
        _examples(planning),
        "## Answer\n\nCall propose_fragment once with the complete fragment.",
    ]
    prompt = "\n\n".join(section for section in sections if section)
    request = PlannerRequest(
        system=SYSTEM_PROMPT,
        prompt=prompt,
        tool_schema=tool_schema,
        max_output_tokens=planning.max_output_tokens,
        timeout_seconds=float(planning.timeout_seconds),
    )
    capability_hash = hashlib.sha256(
        (capability_text + "\0" + canonical_json(tool_schema)).encode("utf-8")
    ).hexdigest()
    return PlanningPrompt(
        request=request,
        capability_text=capability_text,
        prompt_hash=prompt_hash(request.system, request.prompt),
        capability_hash=capability_hash,
    )


def _goal(definition: StepDefinition, planning: PlanningBlock) -> str:
    lines = ["## Goal", ""]
    lines.append(planning.goal or definition.description or f"Fill step '{definition.name}'.")
    if planning.prompt:
        lines += ["", "## Instructions", "", planning.prompt]
    return "\n".join(lines)


def _upstream(template: TaskTemplate, planning: PlanningBlock, upstream: Mapping[str, Any]) -> str:
    names = sorted(set(planning.context_from) | set(upstream))
    if not names:
        return ""
    lines = [
        "## Results of earlier steps",
        "",
        "Reference them as ${steps.<name>.result} or ${steps.<name>.result.<field>}.",
    ]
    for name in names:
        lines += ["", f"### {name}"]
        source = template.step(name)
        if source is not None and source.result_schema is not None:
            lines.append("result_schema: " + canonical(source.result_schema))
        if name in upstream:
            view = view_result(upstream[name])
            lines.append(("result (summarized): " if view.summarized else "result: ") + view.text)
        else:
            lines.append("result: not available")
    return "\n".join(lines)


def capabilities_text(callables: Sequence[str], patterns: Sequence[str], dynamic: bool) -> str:
    """What a step of the fragment may run: tier 1 (names, one line each, the composition
    rules) always, then tier 2 (schemas), the allowed patterns' first, one by one while the
    whole stays within ``TIER2_LIMIT``; the names whose schemas were left out are listed."""
    known_patterns = [name for name in sorted(set(patterns)) if name in PATTERNS]
    text = _capabilities_tier1(sorted(set(callables)), known_patterns, dynamic)
    schemas = _capabilities_tier2(known_patterns, dynamic)
    if not schemas:
        return text
    text += "\n\nSchemas:"
    left_out: list[str] = []
    for name, line in schemas:
        if _bytes(text) + _bytes(line) + 1 <= TIER2_LIMIT:
            text += "\n" + line
        else:
            left_out.append(name)
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


def _examples(planning: PlanningBlock) -> str:
    if not planning.examples:
        return ""
    lines = ["## Examples", ""]
    for number, example in enumerate(planning.examples, start=1):
        lines.append(f"Example fragment {number}: {canonical(example)}")
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
