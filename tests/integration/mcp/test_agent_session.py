"""An agent's whole session with ``tasker-ctl mcp serve --allow-write`` over stdio, scripted:
describe a workflow, generate its template, validate it, fix a finding, generate handlers,
submit the task (preview, confirm), watch it reach an approval gate, approve it (preview,
confirm), and see it complete, run by a real ``tasker-ctl worker`` process."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp_types import Implementation
from ruamel.yaml import YAML

from tests.environment import command_environment

pytestmark = pytest.mark.slow

AGENT = "scripted-agent"
# what the user asked for, as the agent decomposes it: steps and their typed outputs
WORKFLOW = {
    "name": "refund",
    "namespace": "shop",
    "version": "1.0.0",
    "description": "Quote a refund, have a person approve it, then pay it",
    "steps": [
        {"name": "quote", "outputs": [{"name": "amount", "type": "number"}]},
        {"name": "pay", "depends_on": ["quote"], "outputs": [{"name": "paid", "type": "number"}]},
    ],
}
# the approval the agent adds by hand, first with a misspelt dependency
APPROVAL_STEP = {
    "name": "approve_refund",
    "dependencies": ["qoute"],
    "handler": {"callable": "grammar:approve_refund"},
    "composition": {
        "outcome": {
            "description": "a refund a person agreed to",
            "output_schema": {"type": "object", "properties": {"refund": {"type": "number"}}},
        },
        "invocations": [
            {
                "capability": "transform",
                "config": {
                    "filter": "{refund: .deps.quote.amount}",
                    "output": {"type": "object", "properties": {"refund": {"type": "number"}}},
                },
            },
            {
                "capability": "gate",
                "config": {
                    "prompt": "Refund this order?",
                    "summary": {"expression": "{refund: .prev.refund}"},
                },
            },
        ],
    },
}
HANDLERS = """\
from tasker_ctl.sdk.step_handler.functional import depends_on, step_handler


@step_handler("shop.quote")
def quote():
    return {"amount": 80}


@step_handler("shop.pay")
@depends_on(approval="approve_refund")
def pay(approval):
    return {"paid": approval["refund"]}
"""


def _command() -> list[str]:
    executable = shutil.which("tasker-ctl")
    return [executable] if executable else [sys.executable, "-m", "tasker_ctl"]


def _environment() -> dict[str, str]:
    return command_environment()


class Agent:
    """The client side: each call's structured answer, and errors kept apart."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def ask(self, tool: str, **arguments: Any) -> dict[str, Any]:
        result = await self.client.call_tool(tool, arguments)
        assert not result.is_error, (tool, result.structured_content)
        return dict(result.structured_content or {})

    async def change(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """A write as an agent must make it: the preview, shown, then the confirm."""
        preview = await self.ask(tool, **arguments)
        assert preview["status"] == "preview", preview
        return await self.ask(tool, **arguments, confirm=True, token=preview["token"])

    async def until(
        self, check: Callable[[], Awaitable[bool]], worker: subprocess.Popen[str]
    ) -> None:
        deadline = time.monotonic() + 90
        while not await check():
            assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
            assert time.monotonic() < deadline, "the worker did not get there in time"
            await asyncio.sleep(0.1)


def _yaml_text(document: Any) -> str:
    out = io.StringIO()
    YAML().dump(document, out)
    return out.getvalue()


async def _session(project: Path, database_url: str) -> dict[str, Any]:
    command, *prefix = _command()
    server = StdioServerParameters(
        command=command,
        args=[
            *prefix,
            "mcp",
            "serve",
            "--allow-write",
            "--project",
            str(project),
            "--database-url",
            database_url,
        ],
        env=_environment(),
        cwd=str(project),
    )
    seen: dict[str, Any] = {}
    client = Client(server, mode="legacy", client_info=Implementation(name=AGENT, version="1"))
    async with client:
        agent = Agent(client)
        generated = await agent.ask("template_generate", **WORKFLOW)
        assert generated["valid"], generated
        template = YAML(typ="safe").load(generated["yaml"])
        template["steps"].insert(1, APPROVAL_STEP)
        template["steps"][2]["dependencies"] = ["approve_refund"]
        (project / "refund.yaml").write_text(_yaml_text(template), encoding="utf-8")

        first = await agent.ask("template_validate", path="refund.yaml")
        seen["first_findings"] = [
            finding for file in first["files"] for finding in file["findings"]
        ]
        APPROVAL_STEP["dependencies"] = ["quote"]
        template["steps"][1]["dependencies"] = ["quote"]
        (project / "refund.yaml").write_text(_yaml_text(template), encoding="utf-8")
        second = await agent.ask("template_validate", path="refund.yaml")
        seen["second_errors"] = second["summary"]["errors"]

        handlers = await agent.ask("handler_generate", path="refund.yaml")
        seen["generated_handlers"] = "\n".join(file["content"] for file in handlers["files"])
        (project / "refund_handlers.py").write_text(HANDLERS, encoding="utf-8")

        submitted = await agent.change(
            "task_submit", template="refund.yaml", context={}, reason="customer asked"
        )
        task = submitted["task"]["uuid"]
        worker = subprocess.Popen(
            [
                *_command(),
                "worker",
                "--handlers",
                str(project / "refund_handlers.py"),
                "--database-url",
                database_url,
                "--quiet",
            ],
            cwd=project,
            env=_environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:

            async def waiting() -> bool:
                explained = await agent.ask("task_explain", task=task)
                seen["explained_at_gate"] = explained
                return bool(explained["waiting"])

            await agent.until(waiting, worker)
            seen["inspected_at_gate"] = await agent.ask("task_inspect", task=task)
            seen["approved"] = await agent.change(
                "gate_approve", task=task, step="approve_refund", reason="within policy"
            )

            async def complete() -> bool:
                explained = await agent.ask("task_explain", task=task)
                seen["explained"] = explained
                return bool(explained["task"]["status"] == "complete")

            await agent.until(complete, worker)
            seen["audit"] = await agent.ask("step_audit", task=task, step="approve_refund")
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            if worker.stderr is not None:
                with worker.stderr:
                    seen["worker_stderr"] = worker.stderr.read()
    return seen


def test_an_agent_designs_submits_approves_and_completes_a_workflow(
    tmp_path: Path, fresh_database_url: str
) -> None:
    seen = asyncio.run(_session(tmp_path, fresh_database_url))
    errors = [finding for finding in seen["first_findings"] if finding["severity"] == "error"]
    assert errors, seen["first_findings"]
    assert any("qoute" in finding["message"] for finding in errors), errors
    assert seen["second_errors"] == 0
    assert "shop.quote" in seen["generated_handlers"]
    (gate,) = seen["explained_at_gate"]["waiting"]
    assert gate["step"] == "approve_refund"
    assert gate["prompt"] == "Refund this order?"
    assert "waiting_for_approval" in str(seen["inspected_at_gate"])
    assert seen["approved"]["action"]["by"] == "mcp:scripted-agent"
    explained = seen["explained"]
    assert explained["task"]["initiator"] == "mcp:scripted-agent"
    assert explained["task"]["reason"] == "customer asked"
    assert {step["name"]: step["state"] for step in explained["ran"]} == {
        "quote": "complete",
        "approve_refund": "complete",
        "pay": "complete",
    }
    (pay,) = [step for step in explained["ran"] if step["name"] == "pay"]
    assert json.loads(pay["result"]) == {"paid": 80}
    assert explained["failed"] == []
    assert explained["waiting"] == []
    assert "Traceback" not in seen["worker_stderr"], seen["worker_stderr"]
    assert "mcp:scripted-agent" in str(seen["audit"])
    assert "within policy" in str(seen["audit"])
