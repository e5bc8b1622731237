"""The planner: what the engine asks a model for and what it gets back, whoever answers.

A planner is opened from a spec string (``openai:gpt-4.1-mini``, ``replay:run.yaml``, ...).
This module imports nothing of the ``[planning]`` extra: a replay needs none, and a model's
adapter (``planning/llm.py``) is imported only when a spec names a provider, so commands that do
not plan never load pydantic-ai or a provider's SDK.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tasker_ctl.planning.errors import (
    PlannerExtraMissing,
    PlannerModelInvalid,
    PlannerModelMissing,
)

if TYPE_CHECKING:
    from tasker_ctl.planning.pricing import PriceOverride

PLANNER_MODEL_VARIABLE = "TASKER_PLANNER_MODEL"
OLLAMA_BASE_URL_VARIABLE = "OLLAMA_BASE_URL"
OLLAMA_DEFAULT_BASE_URL = "http://localhost:11434/v1"
DEFAULT_TOOL_NAME = "propose_fragment"
MODEL_PROVIDERS = ("openai", "anthropic", "ollama")
# what one message costs beyond its text (role and framing tokens), and the tool definition's
# framing: generous, so that the bound stays a bound for every tokenizer in use
PER_MESSAGE_OVERHEAD_TOKENS = 16
TOOL_OVERHEAD_TOKENS = 512  # the tool definition's wrapper and description, the request's keys
SPEC_FORMS = (
    "openai:MODEL, anthropic:MODEL, ollama:MODEL, openai:MODEL@http://HOST:PORT/v1 or replay:FILE"
)
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+-]{0,199}\Z")
_BASE_URL = re.compile(r"https?://[^\s/@]+(?::\d+)?(?:/[^\s]*)?\Z")


def canonical_json(value: Any) -> str:
    """The one text of a JSON value: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def prompt_hash(system: str, prompt: str) -> str:
    """SHA-256 (hex) of the system prompt and the user message, a NUL between them."""
    return hashlib.sha256(f"{system}\0{prompt}".encode()).hexdigest()


def tool_schema_hash(schema: dict[str, Any]) -> str:
    """SHA-256 (hex) of the tool schema's canonical JSON (sorted keys, no spaces)."""
    return hashlib.sha256(canonical_json(schema).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PlannerRequest:
    """One call to a model: the system prompt, the user message and the tool it must call."""

    system: str
    prompt: str
    tool_schema: dict[str, Any]
    max_output_tokens: int
    timeout_seconds: float
    tool_name: str = DEFAULT_TOOL_NAME

    @property
    def size(self) -> int:
        """UTF-8 bytes of the system prompt, the user message and the tool schema."""
        return (
            len(self.system.encode("utf-8"))
            + len(self.prompt.encode("utf-8"))
            + len(canonical_json(self.tool_schema).encode("utf-8"))
        )

    def worst_case_input_tokens(self) -> int:
        """An upper bound on the input tokens of this request with any byte-level BPE
        tokenizer: a token covers at least one byte, so the request's texts and tool schema
        as the wire carries them (JSON-escaped, every non-ASCII character as ``\\uXXXX``:
        never fewer bytes than their UTF-8), plus a fixed overhead per message and for the
        tool's definition. A provider that counted every byte of the request body would
        still not pass it."""
        wire = (
            len(json.dumps(self.system))
            + len(json.dumps(self.prompt))
            + len(json.dumps(self.tool_schema))
        )
        return (
            wire
            + len(json.dumps(self.tool_name))
            + 2 * PER_MESSAGE_OVERHEAD_TOKENS
            + TOOL_OVERHEAD_TOKENS
        )


@dataclass(frozen=True)
class PlannerAnswer:
    """What a model answered: the tool call's arguments as written (or the message text),
    never parsed here; the validators judge them."""

    text: str
    tokens_in: int | None
    tokens_out: int | None
    provider: str
    model: str
    latency_ms: int
    cost_usd: Decimal | None = None
    truncated_bytes: int = 0
    """Bytes of the answer cut off at the answer cap (``llm.MAX_ANSWER_BYTES``); 0 when whole."""


class Planner(Protocol):
    """Anything that answers a ``PlannerRequest``: a model's adapter, a cassette, a recorder."""

    spec: str
    provider: str
    model: str

    def propose(self, request: PlannerRequest) -> PlannerAnswer: ...


@dataclass(frozen=True)
class PlannerSpec:
    """A spec string read without opening anything: which provider, which model, where."""

    spec: str
    provider: str  # openai, anthropic, ollama or replay
    model: str  # the model name, or the cassette's path as written for replay
    base_url: str | None = None


def parse_planner_spec(spec: str) -> PlannerSpec:
    """Read a spec; raises ``PlannerModelInvalid`` naming what is wrong. Imports nothing."""
    provider, separator, rest = spec.strip().partition(":")
    if not separator or not rest:
        raise PlannerModelInvalid(
            f"planner '{spec}' names no provider and model", hint=f"write one of {SPEC_FORMS}"
        )
    if provider == "replay":
        return PlannerSpec(spec=spec, provider="replay", model=rest)
    if provider not in MODEL_PROVIDERS:
        raise PlannerModelInvalid(
            f"planner '{spec}': unknown provider '{provider}'",
            hint=f"known: {', '.join(MODEL_PROVIDERS)}, replay; write one of {SPEC_FORMS}",
        )
    model, at, base_url = rest.partition("@")
    if not _MODEL_NAME.match(model):
        raise PlannerModelInvalid(
            f"planner '{spec}': '{model}' is not a model name",
            hint="a model name is letters, digits and . _ : / + - (at most 200)",
        )
    if at:
        if provider != "openai":
            raise PlannerModelInvalid(
                f"planner '{spec}': only openai:MODEL@URL takes a server's URL",
                hint="any OpenAI-compatible server: openai:MODEL@http://HOST:PORT/v1",
            )
        if not _BASE_URL.match(base_url):
            raise PlannerModelInvalid(
                f"planner '{spec}': '{base_url}' is not an http(s) URL",
                hint="for example openai:my-model@http://127.0.0.1:8000/v1",
            )
        return PlannerSpec(spec=spec, provider=provider, model=model, base_url=base_url)
    if provider == "ollama":
        url = os.environ.get(OLLAMA_BASE_URL_VARIABLE) or OLLAMA_DEFAULT_BASE_URL
        return PlannerSpec(spec=spec, provider=provider, model=model, base_url=url)
    return PlannerSpec(spec=spec, provider=provider, model=model)


def resolve_planner_spec(cli_value: str | None, template_value: str | None) -> str:
    """The planner to use: ``--planner`` beats the template's ``planning.model``, which beats
    ``TASKER_PLANNER_MODEL``; none of them raises ``PlannerModelMissing``."""
    for value in (cli_value, template_value, os.environ.get(PLANNER_MODEL_VARIABLE)):
        if value is not None and value.strip():
            return value.strip()
    raise PlannerModelMissing(
        "no planner: a planning step needs a model to ask",
        hint=f"pass --planner, set planning.model in the template or {PLANNER_MODEL_VARIABLE} "
        f"({SPEC_FORMS})",
    )


def open_planner(
    spec: str,
    *,
    record: Path | None = None,
    base_dir: Path | None = None,
    price: PriceOverride | None = None,
) -> Planner:
    """The planner ``spec`` names. ``replay:FILE`` reads a cassette (relative to ``base_dir``,
    else the working directory) and needs no extra; a model's spec needs the ``[planning]``
    extra (``PlannerExtraMissing`` otherwise). With ``record`` every answer is appended to that
    cassette, priced with ``price`` (the template's override) or genai-prices."""
    parsed = parse_planner_spec(spec)
    planner: Planner
    if parsed.provider == "replay":
        from tasker_ctl.planning.cassette import ReplayPlanner

        path = Path(parsed.model)
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        planner = ReplayPlanner(spec=spec, path=path)
    else:
        try:
            from tasker_ctl.planning.llm import ModelPlanner
        except ImportError as error:
            raise PlannerExtraMissing(error.name or str(error)) from None
        planner = ModelPlanner(parsed)
    if record is None:
        return planner
    from tasker_ctl.planning.cassette import RecordingPlanner

    return RecordingPlanner(planner, record, price=price)
