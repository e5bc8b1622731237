"""How each input of a planning prompt reaches the model: the task context and every upstream
result, by size (docs/planning.md, "Context between phases").

With the step's ``planning.context`` policy, a value whose compact JSON is at most
``verbatim_max_bytes`` goes in whole ("verbatim"); at most ``summary_max_bytes``, as a
structured summary guided by its schema ("structured"); at most ``summarize_max_bytes``, as a
summary a model writes first ("summarize": the engine makes that call with
``summarization_request`` and gives the answer to ``summarized``); larger, it stays in the
database ("reference": the prompt holds its name, its schema, its size and a small sample, and
the planned steps still read it by reference). Each input says what was elided and how it was
reduced, and ``as_json`` is what ``planning_attempts.context_inputs`` keeps, so that nothing
is dropped silently.

Bounded whatever the value: sizes are counted by walking the value, never by rendering it;
summaries and samples are built within their own bounds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from tasker_ctl.planning.context_summary import (
    canonical,
    cut_utf8,
    json_excerpt,
    json_size,
    sample,
    storable,
    structured_summary,
    utf8_size,
)
from tasker_ctl.planning.planner import PlannerRequest

Strategy = Literal["verbatim", "structured", "summarize", "reference"]
STRATEGIES: tuple[Strategy, ...] = ("verbatim", "structured", "summarize", "reference")
TASK_CONTEXT = "task.context"
"""The name of the task context among the inputs (an upstream input has its step's name)."""
STRUCTURED_SHARE = 0.4
"""A structured summary takes at most this share of ``summary_max_bytes`` (and never less
than ``verbatim_max_bytes``): 4 KB with the defaults."""
REFERENCE_SAMPLE_BYTES = 256
"""Bytes of the sample a reference shows."""
SUMMARIZE_TIMEOUT_SECONDS = 60.0

SUMMARIZE_SYSTEM_PROMPT = (
    "You summarize one JSON value for a workflow planner, who will plan the next steps from "
    "your summary alone. Be faithful: keep its structure (every key, in order of importance), "
    "counts, identifiers, totals, extremes, errors and anything unusual; never invent a value. "
    "Say what you left out. Answer with the summary as plain text and nothing else."
)


class ContextPolicy(Protocol):
    """The thresholds of a ``planning.context`` block (``template.model.PlanningContextPolicy``)."""

    @property
    def verbatim_max_bytes(self) -> int: ...
    @property
    def summary_max_bytes(self) -> int: ...
    @property
    def summarize_max_bytes(self) -> int: ...
    @property
    def prompt_max_tokens(self) -> int: ...


@dataclass(frozen=True)
class DefaultContextPolicy:
    """The policy of a planning step that sets none."""

    verbatim_max_bytes: int = 1024
    summary_max_bytes: int = 10_240
    summarize_max_bytes: int = 102_400
    prompt_max_tokens: int = 16_000


def context_policy(block: Any) -> ContextPolicy:
    """The ``planning.context`` of a planning block, else the defaults."""
    policy = getattr(block, "context", None)
    return DefaultContextPolicy() if policy is None else policy


@dataclass(frozen=True)
class ContextInput:
    """One input of a planning prompt, as the prompt holds it."""

    name: str
    """``task.context`` or an upstream step's name."""
    strategy: Strategy
    bytes_before: int
    """Compact JSON bytes of the value."""
    bytes_after: int
    """Bytes of what the prompt holds for it (0 while a summary is awaited)."""
    text: str | None
    """What the prompt holds (None for "summarize" until summarized)."""
    schema: Any = None
    """The producing step's ``result_schema`` (the template's ``input_schema`` for the context)."""
    note: str | None = None
    """What was elided and how it was reduced, said plainly."""

    def as_json(self) -> dict[str, Any]:
        """What ``planning_attempts.context_inputs`` keeps (the text is in the prompt)."""
        return {
            "name": self.name,
            "strategy": self.strategy,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "note": self.note,
        }

    def noted(self, sentence: str) -> ContextInput:
        """This input with ``sentence`` added to its note."""
        note = sentence if not self.note else f"{self.note}; {sentence}"
        return dataclasses.replace(self, note=note)


def structured_limit(policy: ContextPolicy) -> int:
    """Bytes a structured summary may take under ``policy``."""
    return max(policy.verbatim_max_bytes, int(policy.summary_max_bytes * STRUCTURED_SHARE))


def plan_context(
    values: Mapping[str, Any],
    schemas: Mapping[str, Any],
    policy: ContextPolicy,
    *,
    summarize: bool = True,
) -> list[ContextInput]:
    """One input per value of ``values`` (by name, in the given order), its strategy chosen by
    its size. With ``summarize=False`` (no model to summarize with) the summarize band gets a
    structured summary instead."""
    return [
        plan_input(name, value, schemas.get(name), policy, summarize=summarize)
        for name, value in values.items()
    ]


def plan_input(
    name: str, value: Any, schema: Any, policy: ContextPolicy, *, summarize: bool = True
) -> ContextInput:
    """The input ``value`` becomes under ``policy``."""
    size = json_size(value)
    if size <= policy.verbatim_max_bytes:
        text = storable(canonical(value))
        return ContextInput(name, "verbatim", size, utf8_size(text), text, schema)
    if size <= policy.summary_max_bytes or (not summarize and size <= policy.summarize_max_bytes):
        summary = structured_summary(value, schema, structured_limit(policy), size=size)
        note = summary.note
        if size > policy.summary_max_bytes:
            note += f" (over {policy.summary_max_bytes} bytes, and no model to summarize it)"
        return ContextInput(
            name, "structured", size, utf8_size(summary.text), summary.text, schema, note
        )
    if size <= policy.summarize_max_bytes:
        return ContextInput(
            name,
            "summarize",
            size,
            0,
            None,
            schema,
            f"{size} bytes, over {policy.summary_max_bytes}: to be summarized by a model call",
        )
    return as_reference(
        ContextInput(name, "reference", size, 0, None, schema),
        value,
        f"{size} bytes, over {policy.summarize_max_bytes}: kept in the database",
    )


def as_reference(item: ContextInput, value: Any, why: str) -> ContextInput:
    """``item`` as a reference: its size and a small sample, the value left in the database."""
    shown = sample(value, REFERENCE_SAMPLE_BYTES)
    text = f"kept in the database: {item.bytes_before} bytes, sample {shown}"
    return dataclasses.replace(
        item, strategy="reference", text=text, bytes_after=utf8_size(text)
    ).noted(why)


def summarization_request(
    item: ContextInput, value: Any, policy: ContextPolicy, *, max_output_tokens: int
) -> PlannerRequest:
    """A model request for a faithful, structured summary of one value, within
    ``structured_limit``-like room: no tool, the answer's text is the summary. The value is cut
    to ``summarize_max_bytes`` (said in the request), so the request is bounded whatever it is."""
    excerpt, was_cut = json_excerpt(value, policy.summarize_max_bytes)
    what = "the task's context" if item.name == TASK_CONTEXT else f"the result of step {item.name}"
    lines = [
        f"Summarize {what} ({item.bytes_before} bytes of JSON) in at most "
        f"{policy.summary_max_bytes} bytes.",
    ]
    if item.schema is not None:
        lines += ["", "Its JSON Schema: " + storable(canonical(item.schema))]
    cut_note = (
        f" (its first {utf8_size(excerpt)} bytes; the rest was cut: say so in the summary)"
        if was_cut
        else ""
    )
    lines += ["", f"The value{cut_note}:", excerpt]
    return PlannerRequest(
        system=SUMMARIZE_SYSTEM_PROMPT,
        prompt="\n".join(lines),
        tool_schema={},
        max_output_tokens=max_output_tokens,
        timeout_seconds=SUMMARIZE_TIMEOUT_SECONDS,
        tool_name="",
    )


def summarized(item: ContextInput, answer_text: str, policy: ContextPolicy) -> ContextInput:
    """``item`` with a model's summary as its text, cut to ``summary_max_bytes`` (noted)."""
    text = storable(answer_text.strip())
    size = utf8_size(text)
    note = f"summarized by a model call from {item.bytes_before} bytes to {size}"
    if size > policy.summary_max_bytes:
        text = cut_utf8(text, policy.summary_max_bytes)
        note += f", cut to {utf8_size(text)} bytes"
    return dataclasses.replace(
        item, strategy="summarize", text=text, bytes_after=utf8_size(text), note=note
    )


# -- how the prompt shows the inputs --------------------------------------------------------


def _described(item: ContextInput) -> tuple[str, str]:
    """How an input is introduced to the model, and what follows."""
    text = item.text or ""
    if item.strategy == "verbatim":
        return "", text
    if item.strategy == "structured":
        return f"structured summary of {item.bytes_before} bytes, bulk elided", text
    if item.strategy == "summarize":
        return f"summarized by a model from {item.bytes_before} bytes", text
    return "a reference: the steps you plan read it whole", text


def context_section(item: ContextInput) -> str:
    """The prompt's "Task context": whole, or introduced with how it was reduced."""
    how, text = _described(item)
    lines = ["## Task context", ""]
    if how:
        lines.append(f"({how})")
        if item.schema is not None:
            lines.append("input_schema: " + storable(canonical(item.schema)))
    lines.append(text)
    return "\n".join(lines)


def upstream_section(
    names: Sequence[str], inputs: Mapping[str, ContextInput], schemas: Mapping[str, Any]
) -> str:
    """The prompt's "Results of earlier steps": each named step's result schema and input."""
    if not names:
        return ""
    lines = [
        "## Results of earlier steps",
        "",
        "Reference them as ${steps.<name>.result} or ${steps.<name>.result.<field>}.",
    ]
    for name in names:
        lines += ["", f"### {name}"]
        item = inputs.get(name)
        schema = item.schema if item is not None and item.schema is not None else schemas.get(name)
        if schema is not None:
            lines.append("result_schema: " + storable(canonical(schema)))
        if item is None:
            lines.append("result: not available")
            continue
        how, text = _described(item)
        lines.append((f"result ({how}): " if how else "result: ") + text)
    return "\n".join(lines)
