"""The MCP server through the SDK's own client, in process, for each protocol generation (the
initialize handshake and the per-request envelope): the tool list (hints, schemas, its size),
the resources and instructions, and every offline parity case answered exactly as its command
prints with ``--json``."""

from __future__ import annotations

import asyncio
import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mcp import Client

from tasker_ctl.cli import build_command
from tasker_ctl.mcp.server import INSTRUCTIONS, ServeOptions, build_server
from tasker_ctl.mcp.spec import ToolTier

PROJECT = Path(__file__).resolve().parents[2]
GENERATIONS = ("legacy", "2026-07-28")
OFFLINE_LIST_BUDGET = 32 * 1024
WHOLE_LIST_BUDGET = 60 * 1024


def _parity_cases() -> list[tuple[str, dict[str, Any], list[str]]]:
    """The offline cases each area's tests export (``PARITY_CASES``)."""
    cases: list[tuple[str, dict[str, Any], list[str]]] = []
    for path in sorted((PROJECT / "tests/unit/mcp").glob("test_tools_*.py")):
        module = importlib.import_module(f"tests.unit.mcp.{path.stem}")
        cases.extend(getattr(module, "PARITY_CASES", []))
    return cases


PARITY_CASES = _parity_cases()


def _call(server: Any, mode: str, work: Any) -> Any:
    async def session() -> Any:
        async with Client(server, mode=mode) as client:
            return await work(client)

    return asyncio.run(session())


@pytest.fixture(scope="module")
def offline_server() -> Any:
    server, _caller = build_server(ServeOptions(project_root=PROJECT, offline=True))
    return server


@pytest.fixture(scope="module")
def whole_server() -> Any:
    server, _caller = build_server(ServeOptions(project_root=PROJECT, allow_write=True))
    return server


def _listed(server: Any, mode: str) -> list[dict[str, Any]]:
    async def work(client: Any) -> Any:
        return (await client.list_tools()).tools

    return [
        tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        for tool in _call(server, mode, work)
    ]


@pytest.mark.parametrize("mode", GENERATIONS)
def test_the_tool_lists_stay_within_their_budgets(
    offline_server: Any, whole_server: Any, mode: str
) -> None:
    offline = _listed(offline_server, mode)
    whole = _listed(whole_server, mode)
    assert {tool["name"] for tool in offline} < {tool["name"] for tool in whole}
    offline_size = len(json.dumps({"tools": offline}, separators=(",", ":")))
    whole_size = len(json.dumps({"tools": whole}, separators=(",", ":")))
    assert offline_size <= OFFLINE_LIST_BUDGET, offline_size
    assert whole_size <= WHOLE_LIST_BUDGET, whole_size


def test_every_tool_has_its_hints_and_both_schemas(whole_server: Any) -> None:
    tools = _listed(whole_server, "legacy")
    assert tools
    for tool in tools:
        hints = tool["annotations"]
        for hint in ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"):
            assert isinstance(hints.get(hint), bool), (tool["name"], hint)
        assert tool["inputSchema"]["type"] == "object", tool["name"]
        assert tool["outputSchema"]["type"] == "object", tool["name"]
        assert tool["description"], tool["name"]


def test_the_offline_server_lists_neither_database_nor_write_tools(offline_server: Any) -> None:
    from tasker_ctl.mcp.catalog import all_tools

    tiers = {spec.name: spec.tier for spec in all_tools()}
    assert {tiers[tool["name"]] for tool in _listed(offline_server, "legacy")} <= {ToolTier.OFFLINE}


@pytest.mark.parametrize("mode", GENERATIONS)
def test_instructions_and_resources(whole_server: Any, mode: str) -> None:
    async def work(client: Any) -> Any:
        resources = (await client.list_resources()).resources
        uris = {str(resource.uri) for resource in resources}
        vocabulary = await client.read_resource("tasker://vocabulary")
        template = await client.read_resource("tasker://templates/examples/linear/linear.yaml")
        return client.instructions, uris, vocabulary, template

    instructions, uris, vocabulary, template = _call(whole_server, mode, work)
    if mode == "legacy":  # the per-request envelope carries no instructions
        assert instructions == INSTRUCTIONS
    assert "tasker://vocabulary" in uris
    assert "tasker://templates/examples/linear/linear.yaml" in uris
    assert any(uri.startswith("tasker://schemas/") for uri in uris)
    assert "transform" in vocabulary.contents[0].text
    assert template.contents[0].text == (PROJECT / "examples/linear/linear.yaml").read_text()


@pytest.fixture
def in_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT)
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.mark.skipif(not PARITY_CASES, reason="no parity cases exported yet")
@pytest.mark.parametrize("mode", GENERATIONS)
@pytest.mark.usefixtures("in_project")
def test_each_offline_tool_answers_its_command_s_json(offline_server: Any, mode: str) -> None:
    runner = CliRunner()
    command = build_command()

    async def work(client: Any) -> Any:
        return [await client.call_tool(name, arguments) for name, arguments, _argv in PARITY_CASES]

    results = _call(offline_server, mode, work)
    for (name, arguments, argv), result in zip(PARITY_CASES, results, strict=True):
        printed = runner.invoke(command, argv, catch_exceptions=False)
        assert result.structured_content == json.loads(printed.stdout), (name, arguments, argv)
        assert json.loads(result.content[0].text) == result.structured_content
        assert result.is_error == (printed.exit_code == 2), (name, printed.exit_code)


@pytest.mark.parametrize("mode", GENERATIONS)
def test_a_bad_call_is_a_coded_tool_error(offline_server: Any, mode: str) -> None:
    async def work(client: Any) -> Any:
        tools = (await client.list_tools()).tools
        return await client.call_tool(tools[0].name, {"no such argument": 1})

    result = _call(offline_server, mode, work)
    assert result.is_error
    assert result.structured_content["error"]["code"] == "TOOL_ARGUMENTS_INVALID"
