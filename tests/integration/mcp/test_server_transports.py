"""``tasker-ctl mcp serve`` as a client starts it: a real stdio subprocess and streamable HTTP
on loopback, each in both protocol generations, against a database with tasks in it. Every
read tool's case (and the agent tools') answers its command's ``--json`` document; a server
started without ``--allow-write`` lists no write tool and changes nothing whatever is called."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp import Client, StdioServerParameters

from tasker_ctl.mcp.catalog import all_tools
from tasker_ctl.mcp.spec import ToolTier
from tests.environment import command_environment
from tests.integration.mcp.conftest import TasksDatabase
from tests.integration.mcp.test_tools_read import NOW, command_json, database_parity_cases
from tests.mcp_fuzz import database_snapshot

pytestmark = pytest.mark.slow

WRITE_TOOLS = [spec.name for spec in all_tools() if spec.tier is ToolTier.WRITE]


def _command() -> list[str]:
    executable = shutil.which("tasker-ctl")
    return [executable] if executable else [sys.executable, "-m", "tasker_ctl"]


def _environment() -> dict[str, str]:
    return command_environment()


def _serve_arguments(database: TasksDatabase, *more: str) -> list[str]:
    # the engine clock fixed, as the commands compared with see it
    return [
        "mcp",
        "serve",
        "--project",
        str(database.workspace),
        "--database-url",
        database.at(NOW),
        *more,
    ]


def _cases(database: TasksDatabase) -> list[tuple[str, dict[str, Any], list[str]]]:
    """Every read tool's cases, and the agent tools' on the blocked and the gated task."""
    blocked, gated = database.blocked, database.gated
    return [
        *database_parity_cases(database),
        ("task_explain", {"task": blocked}, ["task", "explain", blocked]),
        ("task_explain", {"task": gated}, ["task", "explain", gated]),
        (
            "step_diagnose",
            {"task": blocked, "step": database.failed_step},
            ["task", "diagnose", blocked, database.failed_step],
        ),
    ]


async def _session(client: Client, database: TasksDatabase) -> dict[str, Any]:
    async with client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        refused = {name: await client.call_tool(name, {"reason": "x"}) for name in WRITE_TOOLS}
        answers = [
            await client.call_tool(name, arguments) for name, arguments, _ in _cases(database)
        ]
        return {
            "protocol": client.protocol_version,
            "names": names,
            "refused": refused,
            "answers": answers,
        }


def _check(outcome: dict[str, Any], database: TasksDatabase) -> None:
    assert not set(WRITE_TOOLS) & outcome["names"]
    for name, result in outcome["refused"].items():
        assert result.is_error, name
    url = database.at(NOW)
    for (name, arguments, argv), result in zip(_cases(database), outcome["answers"], strict=True):
        assert not result.is_error, (name, arguments, result.structured_content)
        printed, _stderr = command_json(argv, url)
        answer = result.structured_content
        assert (answer["events"] if name == "events" else answer) == printed, (name, arguments)


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
