"""Domain events as users meet them: a template whose steps publish events, run with a custom
publisher; ``events --domain`` lists them (text and JSON lines, by task and name) and
``stats`` counts them (text and JSON)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import RunCli, assert_no_traceback

pytestmark = pytest.mark.slow

TEMPLATE = """\
name: checkout
namespace_name: shop
version: 1.0.0
steps:
  - name: charge
    handler: {callable: shop.charge}
    publishes_events:
      - name: payment.processed
        description: the card was charged
        condition: success
        delivery_mode: durable
        publisher: shop.Receipts
        schema: {type: object, required: [transaction_id]}
      - name: payment.audited
        description: every outcome, for the auditors
        condition: always
        delivery_mode: broadcast
        schema: {type: object, required: [auditor]}
  - name: ship
    dependencies: [charge]
    handler: {callable: shop.ship}
    publishes_events:
      - name: order.shipped
        description: the parcel left
        delivery_mode: fast
        schema: {type: object}
"""

HANDLERS = """\
from tasker_core import StepHandler
from tasker_core.domain_events import BasePublisher


class Charge(StepHandler):
    handler_name = "shop.charge"

    def call(self, context):
        return self.success({"transaction_id": "TXN-1", "amount": 12})


class Ship(StepHandler):
    handler_name = "shop.ship"

    def call(self, context):
        return self.success({"parcel": "P-1"})


class Receipts(BasePublisher):
    publisher_name = "shop.Receipts"

    def transform_payload(self, ctx):
        return {"transaction_id": ctx.result["transaction_id"], "receipt": True}
"""


@pytest.fixture
def env(fresh_database_url: str) -> dict[str, str]:
    return {"TASKER_DATABASE_URL": fresh_database_url, "OTEL_SDK_DISABLED": "true"}


def cli(
    invoke_cli: RunCli, env: dict[str, str], cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    result = invoke_cli(*args, cwd=cwd, env=env)
    assert_no_traceback(result)
    return result


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_events_domain_lists_and_stats_counts_the_published_events(
    invoke_cli: RunCli, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "checkout.yaml").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "shop.py").write_text(HANDLERS, encoding="utf-8")
    ran = cli(invoke_cli, env, tmp_path, "run", "checkout.yaml", "--handlers", "shop.py", "--json")
    assert ran.returncode == 0, ran.stderr
    task = json.loads(ran.stdout)["task"]["uuid"]

    listed = cli(invoke_cli, env, tmp_path, "events", "--domain", "--json")
    assert listed.returncode == 0, listed.stderr
    events = lines(listed.stdout)
    by_name = {event["event_name"]: event for event in events}
    assert set(by_name) == {"payment.processed", "payment.audited", "order.shipped"}
    processed = by_name["payment.processed"]
    assert processed["payload"] == {"transaction_id": "TXN-1", "receipt": True}
    assert (processed["delivery_mode"], processed["step_name"]) == ("durable", "charge")
    assert (processed["task_uuid"], processed["attempt"]) == (task, 1)
    assert processed["rejection"] is None
    # the default publisher's payload broke its schema: kept, with why
    audited = by_name["payment.audited"]
    assert audited["rejection"]["code"] == "DOMAIN_EVENT_SCHEMA_VIOLATION"
    assert by_name["order.shipped"]["payload"] == {"parcel": "P-1"}

    named = cli(
        invoke_cli, env, tmp_path, "events", "--domain", "--json", "--name", "order.shipped"
    )
    assert [event["event_name"] for event in lines(named.stdout)] == ["order.shipped"]
    of_task = cli(invoke_cli, env, tmp_path, "events", "--domain", "--json", "--task", task)
    assert len(lines(of_task.stdout)) == 3

    # following a task prints its events so far first; --limit ends it
    followed = cli(
        invoke_cli,
        env,
        tmp_path,
        "events",
        "--domain",
        "-f",
        "--json",
        "--task",
        task,
        "--limit",
        "2",
    )
    assert followed.returncode == 0, followed.stderr
    assert lines(followed.stdout) == events[:2]

    text = cli(invoke_cli, env, tmp_path, "events", "--domain")
    assert text.returncode == 0, text.stderr
    assert "payment.processed" in text.stdout
    assert "[shop.Receipts]" in text.stdout
    assert "rejected DOMAIN_EVENT_SCHEMA_VIOLATION" in text.stdout

    stats = json.loads(cli(invoke_cli, env, tmp_path, "stats", "--json").stdout)
    assert stats["domain_events"] == {
        "published": 2,
        "durable": 1,
        "fast": 1,
        "broadcast": 0,
        "emitted": 0,
        "rejected": 1,
        "by_name": {"order.shipped": 1, "payment.processed": 1},
    }
    shown = cli(invoke_cli, env, tmp_path, "stats").stdout
    assert "Domain events" in shown
    assert "2 published (1 durable, 1 fast) · 1 rejected" in shown


def test_name_without_domain_is_a_usage_error(
    invoke_cli: RunCli, env: dict[str, str], tmp_path: Path
) -> None:
    result = cli(invoke_cli, env, tmp_path, "events", "--name", "order.shipped")
    assert result.returncode == 2
    assert "--domain" in result.stderr
