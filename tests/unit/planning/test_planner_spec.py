"""Planner specs: parsed without importing anything, resolved in their order of precedence,
refused with a code that names the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasker_ctl.planning.errors import PlannerModelInvalid, PlannerModelMissing
from tasker_ctl.planning.planner import (
    OLLAMA_DEFAULT_BASE_URL,
    PlannerRequest,
    open_planner,
    parse_planner_spec,
    resolve_planner_spec,
)


@pytest.mark.parametrize(
    ("spec", "provider", "model", "base_url"),
    [
        ("openai:gpt-4.1-mini", "openai", "gpt-4.1-mini", None),
        ("anthropic:claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5", None),
        ("ollama:llama3.2", "ollama", "llama3.2", OLLAMA_DEFAULT_BASE_URL),
        ("openai:m@http://127.0.0.1:8000/v1", "openai", "m", "http://127.0.0.1:8000/v1"),
        ("replay:cassettes/run.yaml", "replay", "cassettes/run.yaml", None),
    ],
)
def test_specs_name_provider_model_and_server(
    spec: str, provider: str, model: str, base_url: str | None
) -> None:
    parsed = parse_planner_spec(spec)
    assert (parsed.provider, parsed.model, parsed.base_url) == (provider, model, base_url)


def test_ollama_takes_its_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://127.0.0.1:9999/v1")
    assert parse_planner_spec("ollama:qwen").base_url == "http://127.0.0.1:9999/v1"


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("gpt-4.1", "names no provider"),
        ("openai:", "names no provider"),
        ("gemini:pro", "unknown provider 'gemini'"),
        ("openai:has space", "is not a model name"),
        ("anthropic:m@http://127.0.0.1/v1", "only openai:MODEL@URL"),
        ("openai:m@ftp://host/v1", "is not an http(s) URL"),
    ],
)
def test_a_bad_spec_is_a_coded_error(spec: str, says: str) -> None:
    with pytest.raises(PlannerModelInvalid) as caught:
        parse_planner_spec(spec)
    assert caught.value.code == "PLANNER_MODEL_INVALID"
    assert says in caught.value.message
    assert caught.value.hint


def test_the_command_line_beats_the_template_which_beats_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TASKER_PLANNER_MODEL", "openai:from-env")
    assert resolve_planner_spec("openai:cli", "openai:template") == "openai:cli"
    assert resolve_planner_spec(None, "openai:template") == "openai:template"
    assert resolve_planner_spec(None, None) == "openai:from-env"


def test_no_planner_anywhere_is_a_coded_error() -> None:
    with pytest.raises(PlannerModelMissing) as caught:
        resolve_planner_spec(None, " ")
    assert caught.value.code == "PLANNER_MODEL_MISSING"
    assert "TASKER_PLANNER_MODEL" in (caught.value.hint or "")


def test_a_replay_path_is_relative_to_the_base_folder(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text(
        "format: tasker-planner-cassette\nversion: 1\ninteractions: []\n", encoding="utf-8"
    )
    planner = open_planner("replay:run.yaml", base_dir=tmp_path)
    assert (planner.provider, planner.model) == ("replay", str(tmp_path / "run.yaml"))


def test_request_size_and_worst_case_tokens_count_utf8_bytes() -> None:
    request = PlannerRequest(
        system="é", prompt="ab", tool_schema={"k": "€"}, max_output_tokens=1, timeout_seconds=1
    )
    assert request.size == 2 + 2 + len('{"k":"€"}'.encode())
    assert request.worst_case_input_tokens() > request.size
