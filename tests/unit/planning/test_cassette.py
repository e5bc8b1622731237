"""Cassettes: recorded from a real client path, replayed in order, refused with a code and a
place when they cannot be used."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from tasker_ctl.planning.cassette import (
    Cassette,
    ReplayPlanner,
    parse_cassette,
    read_cassette,
    write_cassette,
)
from tasker_ctl.planning.errors import CassetteError
from tasker_ctl.planning.planner import (
    PlannerRequest,
    open_planner,
    prompt_hash,
    tool_schema_hash,
)
from tests.openai_server import OpenAIServer

SCHEMA = {"type": "object", "properties": {"steps": {"type": "array"}}}
HEADER = "format: tasker-planner-cassette\nversion: 1\n"


@dataclass(frozen=True)
class Override:
    input_usd_per_million: str
    output_usd_per_million: str


def _request(prompt: str = "plan", schema: dict[str, object] | None = None) -> PlannerRequest:
    return PlannerRequest(
        system="sys",
        prompt=prompt,
        tool_schema=schema or SCHEMA,
        max_output_tokens=100,
        timeout_seconds=5,
    )


@pytest.mark.parametrize("name", ["run.yaml", "run.json"])
def test_a_recorded_run_replays_the_same_answers(
    tmp_path: Path, openai_server: OpenAIServer, name: str
) -> None:
    tricky = '{"steps": [], "note": "quotes \\" and\\nnew lines, ünïcode, a: colon"}'
    openai_server.push({"tool_arguments": tricky}, {"text": "plain text", "omit_usage": True})
    path = tmp_path / name
    recorder = open_planner(openai_server.spec(), record=path, price=Override("0.5", "1.5"))
    first = recorder.propose(_request("one"))
    assert len(read_cassette(path).interactions) == 1  # written after each answer
    second = recorder.propose(_request("two"))

    replay = open_planner(f"replay:{name}", base_dir=tmp_path)
    again = [replay.propose(_request("one")), replay.propose(_request("two"))]
    assert [a.text for a in again] == [first.text, second.text] == [tricky, "plain text"]
    assert again[0].tokens_in == 120
    assert again[1].tokens_in is None
    assert again[0].cost_usd == Decimal("0.5") * 120 / 1_000_000 + Decimal("1.5") * 40 / 1_000_000
    assert again[1].cost_usd is None  # no usage, no cost
    assert again[0].model == "test-model"
    assert again[0].provider == "openai"
    recorded = read_cassette(path).interactions[0].request
    assert recorded.prompt_hash == prompt_hash("sys", "one")
    assert recorded.tool_schema_hash == tool_schema_hash(SCHEMA)
    assert recorded.size == _request("one").size


def test_recording_adds_to_an_existing_cassette_and_leaves_no_temporary_file(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.push({"tool_arguments": "{}"}, {"tool_arguments": "[]"})
    path = tmp_path / "run.yaml"
    open_planner(openai_server.spec(), record=path).propose(_request())
    open_planner(openai_server.spec(), record=path).propose(_request())
    assert [i.answer.text for i in read_cassette(path).interactions] == ["{}", "[]"]
    assert [p.name for p in tmp_path.iterdir()] == ["run.yaml"]


def _cassette(tmp_path: Path, texts: list[str]) -> Path:
    interactions = "".join(
        f"""
  - request: {{prompt_hash: "{"0" * 64}", tool_schema_hash: "{tool_schema_hash(SCHEMA)}",
               size: 10}}
    answer: {{text: '{text}', tokens_in: 5, tokens_out: 2, provider: openai, model: m,
              latency_ms: 7, cost_usd: "0.001"}}"""
        for text in texts
    )
    path = tmp_path / "c.yaml"
    path.write_text(HEADER + "interactions:" + interactions + "\n", encoding="utf-8")
    return path


def test_replay_answers_in_order_then_is_exhausted(tmp_path: Path) -> None:
    planner = ReplayPlanner(spec="replay:c.yaml", path=_cassette(tmp_path, ["a", "b"]))
    assert [planner.propose(_request()).text for _ in range(2)] == ["a", "b"]
    with pytest.raises(CassetteError) as caught:
        planner.propose(_request())
    assert caught.value.code == "CASSETTE_EXHAUSTED"
    assert caught.value.retryable is False


def test_each_open_planner_has_its_own_cursor(tmp_path: Path) -> None:
    path = _cassette(tmp_path, ["a", "b"])
    first, second = (ReplayPlanner(spec="replay:c.yaml", path=path) for _ in range(2))
    assert first.propose(_request()).text == second.propose(_request()).text == "a"


def test_an_answer_recorded_for_another_schema_is_refused(tmp_path: Path) -> None:
    planner = ReplayPlanner(spec="replay:c.yaml", path=_cassette(tmp_path, ["a"]))
    with pytest.raises(CassetteError) as caught:
        planner.propose(_request(schema={"type": "object"}))
    assert caught.value.code == "CASSETTE_MISMATCH"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("format: other\nversion: 1\n", "c.yaml:1: $.format"),
        (
            HEADER + "interactions:\n  - request: {}\n",
            "c.yaml:4: $.interactions[0].request.prompt_hash",
        ),
        (HEADER + "extra: 1\n", "c.yaml:3: $.extra"),
        ("[1, 2]\n", "a cassette is a mapping"),
        ("format: [unclosed\n", "c.yaml:"),
    ],
)
def test_an_invalid_cassette_says_what_and_where(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CassetteError) as caught:
        open_planner("replay:c.yaml", base_dir=tmp_path)
    assert caught.value.code == "CASSETTE_INVALID"
    assert says in caught.value.message


def test_a_missing_cassette_is_a_coded_error(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="cannot read cassette"):
        open_planner("replay:absent.yaml", base_dir=tmp_path)


def test_costs_keep_their_decimal_text() -> None:
    cassette = parse_cassette(
        HEADER
        + "interactions:\n- request: {prompt_hash: '"
        + "a" * 64
        + "', tool_schema_hash: '"
        + "b" * 64
        + "', size: 1}\n  answer: {text: x, tokens_in: null, tokens_out: null, provider: p,"
        " model: m, latency_ms: 0, cost_usd: 0.1}\n"
    )
    assert cassette.interactions[0].answer.cost_usd == "0.1"


def test_a_cassette_written_and_read_back_is_the_same(tmp_path: Path) -> None:
    cassette = Cassette(format="tasker-planner-cassette", version=1)
    write_cassette(tmp_path / "empty.yaml", cassette)
    assert read_cassette(tmp_path / "empty.yaml") == cassette
