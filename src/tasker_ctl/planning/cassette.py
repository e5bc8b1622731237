"""Cassettes: a model's answers recorded once and replayed, so that a planning run repeats
without a model, a key or a network.

A cassette is a YAML (or JSON) file, read with the template reader's limits::

    format: tasker-planner-cassette
    version: 1
    interactions:
      - request: {prompt_hash: <sha256 hex>, tool_schema_hash: <sha256 hex>, size: <bytes>}
        answer: {text: "...", tokens_in: 812, tokens_out: 240, provider: openai,
                 model: gpt-4.1-mini, latency_ms: 930, cost_usd: "0.000709"}

A replay answers calls in the recorded order, one cursor per open planner. A call whose tool
schema differs from the recorded one is refused (``CASSETTE_MISMATCH``): the answer was written
for other steps' names. Prompts may differ (a context, a prompt version), so they are not
matched. Recording rewrites the file after every answer (a temporary file renamed over it), so
an interrupted run leaves every answer it received.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tasker_ctl.errors import FileReadError
from tasker_ctl.planning.errors import CassetteError
from tasker_ctl.planning.planner import (
    Planner,
    PlannerAnswer,
    PlannerRequest,
    prompt_hash,
    tool_schema_hash,
)
from tasker_ctl.planning.pricing import PriceOverride, cost, find_price
from tasker_ctl.template.source import format_path, parse_document, read_document

CASSETTE_FORMAT = "tasker-planner-cassette"
CASSETTE_VERSION = 1
YAML_SUFFIXES = (".yaml", ".yml")

_CLOSED = ConfigDict(extra="forbid", frozen=True)


class RecordedRequest(BaseModel):
    model_config = _CLOSED

    prompt_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    tool_schema_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class RecordedAnswer(BaseModel):
    model_config = _CLOSED

    text: str
    tokens_in: int | None = Field(ge=0)
    tokens_out: int | None = Field(ge=0)
    provider: str
    model: str
    latency_ms: int = Field(ge=0)
    cost_usd: str | None = None
    """Exact decimal text (``"0.000709"``), or null when no price was known."""

    @field_validator("cost_usd", mode="before")
    @classmethod
    def _decimal_text(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError("cost_usd is a decimal number or null")
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"cost_usd '{value}' is not a decimal number") from None
        if not amount.is_finite() or amount < 0:
            raise ValueError("cost_usd is a finite, non-negative amount")
        return str(amount)


class Interaction(BaseModel):
    model_config = _CLOSED

    request: RecordedRequest
    answer: RecordedAnswer


class Cassette(BaseModel):
    model_config = _CLOSED

    format: Literal["tasker-planner-cassette"]
    version: Literal[1]
    interactions: list[Interaction] = Field(default_factory=list)


def read_cassette(path: Path) -> Cassette:
    """The cassette at ``path``; ``CassetteError`` (``CASSETTE_INVALID``) says what is wrong
    and where."""
    try:
        document = read_document(path)
    except FileReadError as error:
        raise CassetteError(f"cannot read cassette: {error.message}") from None
    return _cassette_of(document.data, document.problems, document.positions, str(path))


def parse_cassette(text: str, *, name: str = "<cassette>") -> Cassette:
    """A cassette from its text (YAML or JSON)."""
    document = parse_document(text, path=Path(name), display_path=name)
    return _cassette_of(document.data, document.problems, document.positions, name)


def _cassette_of(data: Any, problems: Any, positions: Any, shown: str) -> Cassette:
    # the reader's own wording of a non-mapping speaks of templates: said below instead
    problems = [problem for problem in problems if problem.code != "NOT_A_MAPPING"]
    if problems:
        first = problems[0]
        where = f"{shown}:{first.position[0]}" if first.position else shown
        raise CassetteError(f"{where}: {first.message}", hint=_FORMAT_HINT)
    if not isinstance(data, dict):
        raise CassetteError(f"{shown}: a cassette is a mapping", hint=_FORMAT_HINT)
    try:
        return Cassette.model_validate(data)
    except ValidationError as error:
        detail = error.errors(include_url=False)[0]
        path = tuple(detail["loc"])
        position = positions.locate(path)
        where = f"{shown}:{position[0]}" if position else shown
        raise CassetteError(
            f"{where}: {format_path(path)}: {detail['msg']}", hint=_FORMAT_HINT
        ) from None


_FORMAT_HINT = (
    f"a cassette has format: {CASSETTE_FORMAT}, version: {CASSETTE_VERSION} and interactions "
    "(docs/planning.md, 'Cassettes')"
)


def write_cassette(path: Path, cassette: Cassette) -> None:
    """Write ``cassette`` atomically: a temporary file beside ``path``, renamed over it. YAML
    for a .yaml or .yml path, JSON otherwise."""
    data = cassette.model_dump(mode="json")
    if path.suffix.lower() in YAML_SUFFIXES:
        from io import StringIO

        from ruamel.yaml import YAML

        yaml = YAML(typ="safe", pure=True)
        yaml.default_flow_style = False
        yaml.width = 4096
        buffer = StringIO()
        yaml.dump(data, buffer)
        text = buffer.getvalue()
    else:
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class ReplayPlanner:
    """Answers from a cassette, in the recorded order."""

    provider = "replay"

    def __init__(self, *, spec: str, path: Path) -> None:
        self.spec = spec
        self.model = str(path)
        self.path = path
        self._interactions = read_cassette(path).interactions
        self._cursor = 0
        self._lock = threading.Lock()

    def next_cost(self) -> Decimal | None:
        """What the next answer cost when it was recorded (what replaying it spends), or
        None when it was not priced or none is left: a budget reserves it before the call."""
        with self._lock:
            if self._cursor >= len(self._interactions):
                return None
            recorded = self._interactions[self._cursor].answer.cost_usd
        return None if recorded is None else Decimal(recorded)

    def propose(self, request: PlannerRequest) -> PlannerAnswer:
        with self._lock:
            position = self._cursor
            if position >= len(self._interactions):
                raise CassetteError(
                    f"cassette {self.path} has {len(self._interactions)} answers; call "
                    f"{position + 1} has none",
                    code="CASSETTE_EXHAUSTED",
                    hint="record the run again (--record) with a model that answers",
                )
            self._cursor += 1
        interaction = self._interactions[position]
        expected = interaction.request.tool_schema_hash
        if tool_schema_hash(request.tool_schema) != expected:
            raise CassetteError(
                f"cassette {self.path}, answer {position + 1}: recorded for another fragment "
                "schema (the planning step's allowed names or bounds changed)",
                code="CASSETTE_MISMATCH",
                hint="record the run again (--record)",
            )
        answer = interaction.answer
        return PlannerAnswer(
            text=answer.text,
            tokens_in=answer.tokens_in,
            tokens_out=answer.tokens_out,
            provider=answer.provider,
            model=answer.model,
            latency_ms=answer.latency_ms,
            cost_usd=None if answer.cost_usd is None else Decimal(answer.cost_usd),
        )


class RecordingPlanner:
    """Another planner's answers, each appended to a cassette as it arrives."""

    def __init__(self, inner: Planner, path: Path, *, price: PriceOverride | None = None) -> None:
        self.inner = inner
        self.spec = inner.spec
        self.provider = inner.provider
        self.model = inner.model
        self.path = path
        self._price = price
        self._lock = threading.Lock()
        # an existing cassette is added to, so that several runs can fill one file
        self._cassette = (
            read_cassette(path)
            if path.exists()
            else Cassette(format=CASSETTE_FORMAT, version=CASSETTE_VERSION)
        )

    def propose(self, request: PlannerRequest) -> PlannerAnswer:
        answer = self.inner.propose(request)
        recorded_cost = answer.cost_usd
        if recorded_cost is None and answer.tokens_in is not None:
            price = find_price(answer.provider, answer.model, self._price)
            if price is not None:
                recorded_cost = cost(price, answer.tokens_in, answer.tokens_out or 0)
        interaction = Interaction(
            request=RecordedRequest(
                prompt_hash=prompt_hash(request.system, request.prompt),
                tool_schema_hash=tool_schema_hash(request.tool_schema),
                size=request.size,
            ),
            answer=RecordedAnswer(
                text=answer.text,
                tokens_in=answer.tokens_in,
                tokens_out=answer.tokens_out,
                provider=answer.provider,
                model=answer.model,
                latency_ms=answer.latency_ms,
                cost_usd=None if recorded_cost is None else str(recorded_cost),
            ),
        )
        with self._lock:
            self._cassette = self._cassette.model_copy(
                update={"interactions": [*self._cassette.interactions, interaction]}
            )
            write_cassette(self.path, self._cassette)
        return answer
