"""``tasker-ctl mcp serve`` as a client starts it: a real stdio subprocess and streamable HTTP
on loopback, each in both protocol generations, against a database with tasks in it. A server
started without ``--allow-write`` lists no write tool and changes nothing whatever is called."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from mcp import Client, StdioServerParameters

from tasker_ctl.cli import build_command
from tasker_ctl.mcp.catalog import all_tools
from tasker_ctl.mcp.spec import ToolTier
from tests.integration.mcp.conftest import TasksDatabase
from tests.mcp_fuzz import database_snapshot

pytestmark = pytest.mark.slow

WRITE_TOOLS = [spec.name for spec in all_tools() if spec.tier is ToolTier.WRITE]
HAS_TASK_LIST = any(spec.name == "task_list" for spec in all_tools())


def _command() -> list[str]:
    executable = shutil.which("tasker-ctl")
    return [executable] if executable else [sys.executable, "-m", "tasker_ctl"]


def _environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("TASKER_")}


def _serve_arguments(database: TasksDatabase, *more: str) -> list[str]:
    return [
        "mcp",
        "serve",
        "--project",
        str(database.workspace),
        "--database-url",
        database.url,
        *more,
    ]


def _cli_json(database: TasksDatabase, *argv: str) -> Any:
    printed = CliRunner().invoke(
        build_command(), [*argv, "--database-url", database.url], catch_exceptions=False
    )
    return json.loads(printed.stdout)


async def _session(client: Client, database: TasksDatabase) -> dict[str, Any]:
    async with client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        refused = {name: await client.call_tool(name, {"reason": "x"}) for name in WRITE_TOOLS}
        listed = await client.call_tool("task_list", {}) if "task_list" in names else None
        return {
            "protocol": client.protocol_version,
            "names": names,
            "refused": refused,
            "listed": listed,
        }


def _check(outcome: dict[str, Any], database: TasksDatabase) -> None:
    assert not set(WRITE_TOOLS) & outcome["names"]
    for name, result in outcome["refused"].items():
        assert result.is_error, name
    if HAS_TASK_LIST:
        assert outcome["listed"].structured_content == _cli_json(database, "task", "list", "--json")


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_over_stdio_a_read_only_server_answers_and_changes_nothing(
    tasks_database: TasksDatabase, mode: str
) -> None:
    before = database_snapshot(tasks_database.url)
    command, *prefix = _command()
    parameters = StdioServerParameters(
        command=command,
        args=[*prefix, *_serve_arguments(tasks_database)],
        env=_environment(),
    )
    outcome = asyncio.run(_session(Client(parameters, mode=mode), tasks_database))
    assert outcome["protocol"] == ("2025-11-25" if mode == "legacy" else "2026-07-28")
    _check(outcome, tasks_database)
    assert database_snapshot(tasks_database.url) == before


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def http_server(tasks_database: TasksDatabase) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            *_command(),
            *_serve_arguments(tasks_database, "--transport", "http", "--port", str(port)),
        ],
        env=_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(process.stderr.read() if process.stderr else "") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            with process.stderr:
                stderr = process.stderr.read()
            assert "Traceback" not in stderr, stderr


def test_over_http_on_loopback_both_generations_answer_and_change_nothing(
    tasks_database: TasksDatabase, http_server: str
) -> None:
    before = database_snapshot(tasks_database.url)
    for mode, protocol in (("legacy", "2025-11-25"), ("auto", "2026-07-28")):
        outcome = asyncio.run(_session(Client(http_server, mode=mode), tasks_database))
        assert outcome["protocol"] == protocol
        _check(outcome, tasks_database)
    assert database_snapshot(tasks_database.url) == before
