"""Grammar compositions run by ``tasker-ctl run`` beside application handlers.

A local HTTP server (started here) plays the payment gateway. The composition acquires from
it, validates, transforms, persists into a table of the task database (checkpoint), reads an
audit endpoint that fails once, then emits into the outbox (checkpoint). The first attempt
fails after the persist checkpoint; the retry resumes after it: the gateway is not asked
again, the row is written once, and the outbox holds one event.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.e2e.conftest import RunCli, assert_no_traceback

pytestmark = pytest.mark.slow

TRANSACTIONS = [
    {"transaction_id": "txn-1", "amount": 100.0, "currency": "USD", "reference": "INV-1"},
    {"transaction_id": "txn-2", "amount": 250.5, "currency": "USD", "reference": "INV-2"},
    {"transaction_id": "txn-3", "amount": 75.0, "currency": "USD", "reference": "INV-9"},
]


class Gateway:
    """Counts requests per path; ``/audit`` answers 503 to its first request."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.queries: list[str] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                gateway.hits[path] = gateway.hits.get(path, 0) + 1
                gateway.queries.append(query)
                if path == "/audit" and gateway.hits[path] == 1:
                    self._send(503, {"error": "audit service warming up"})
                elif path == "/audit":
                    self._send(200, {"auditor": "A-7", "clean": True})
                elif path == "/transactions":
                    self._send(200, TRANSACTIONS)
                else:
                    self._send(404, {"error": "no such entity"})

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def __enter__(self) -> Gateway:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


TEMPLATE = """\
name: reconcile_payments
namespace_name: payments
version: "1.0.0"
input_schema:
  type: object
  required: [reconciliation_date, variance_threshold]
  properties:
    reconciliation_date: {{type: string}}
    variance_threshold: {{type: number}}
resources:
  gateway: {{kind: http, base_url: "http://127.0.0.1:{port}", allowed_hosts: [127.0.0.1],
             timeout_ms: 5000}}
  ledger: {{kind: postgres, schema: app, tables: {{reconciliation-reports: reports}}}}
  events: {{kind: outbox}}
steps:
  - name: load_internal
    handler: {{callable: payments.load_internal}}
    result_schema:
      type: object
      required: [records]
      properties:
        records:
          type: array
          items:
            type: object
            properties:
              reference: {{type: string}}
              amount: {{type: number}}
  - name: reconcile
    dependencies: [load_internal]
    handler: {{callable: "grammar:reconcile"}}
    retry: {{retryable: true, max_attempts: 3, backoff: exponential, backoff_base_ms: 50}}
    result_schema:
      type: object
      required: [matched_count, unmatched_count]
      properties:
        matched_count: {{type: integer}}
        unmatched_count: {{type: integer}}
        event_uuid: {{type: string}}
    composition:
      outcome:
        description: match gateway transactions to internal records and report
        output_schema:
          type: object
          required: [matched_count, unmatched_count]
          properties:
            matched_count: {{type: integer}}
            unmatched_count: {{type: integer}}
            event_uuid: {{type: string}}
      invocations:
        - capability: acquire
          config:
            resource: {{ref: gateway, entity: transactions}}
            params:
              expression: "{{date: .context.reconciliation_date}}"
            result_shape:
              expression: "{{transactions: .data, count: .record_count}}"
        - capability: validate
          config:
            schema:
              type: object
              required: [transactions]
              properties:
                transactions:
                  type: array
                  items:
                    type: object
                    required: [transaction_id, amount, reference]
        - capability: transform
          config:
            filter: >
              .deps.load_internal.records as $internal |
              [.prev.transactions[] | . as $t |
                {{reference: $t.reference, amount: $t.amount,
                  matched: ([$internal[] | select(.reference == $t.reference)] | length > 0)}}]
              | {{matched_count: (map(select(.matched)) | length),
                  unmatched_count: (map(select(.matched | not)) | length)}}
            output:
              type: object
              required: [matched_count, unmatched_count]
              properties:
                matched_count: {{type: integer}}
                unmatched_count: {{type: integer}}
        - capability: persist
          checkpoint: true
          config:
            resource: {{ref: ledger, entity: reconciliation-reports}}
            data:
              expression: >
                {{report_date: .context.reconciliation_date,
                  matched_count: .prev.matched_count,
                  unmatched_count: .prev.unmatched_count}}
            result_shape:
              expression: "{{report_id: .data.report_id, matched_count: .data.matched_count,
                            unmatched_count: .data.unmatched_count}}"
        - capability: acquire
          config:
            resource: {{ref: gateway, entity: audit}}
            result_shape:
              expression: "{{auditor: .data.auditor}}"
        - capability: emit
          checkpoint: true
          config:
            event_name: payments.reconciled
            payload:
              expression: >
                {{date: .context.reconciliation_date,
                  matched: .step.invocations["3"].matched_count,
                  auditor: .prev.auditor}}
        - capability: transform
          config:
            filter: >
              {{matched_count: .step.invocations["3"].matched_count,
                unmatched_count: .step.invocations["3"].unmatched_count,
                event_uuid: .prev.message_id}}
            output:
              type: object
              required: [matched_count, unmatched_count]
              properties:
                matched_count: {{type: integer}}
                unmatched_count: {{type: integer}}
                event_uuid: {{type: string}}
  - name: announce
    dependencies: [reconcile]
    handler: {{callable: payments.announce}}
"""

HANDLERS = """\
from tasker_ctl.sdk.step_handler.functional import depends_on, step_handler


@step_handler("payments.load_internal")
def load_internal():
    return {"records": [{"reference": "INV-1", "amount": 100.0},
                        {"reference": "INV-2", "amount": 250.0}]}


@step_handler("payments.announce")
@depends_on(report="reconcile")
def announce(report):
    return {"announced": report["matched_count"]}
"""


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    with Gateway() as running:
        yield running


@pytest.fixture
def workspace(tmp_path: Path, gateway: Gateway, fresh_database_url: str) -> Path:
    template = TEMPLATE.format(port=gateway.port)
    (tmp_path / "reconcile.yaml").write_text(template, encoding="utf-8")
    (tmp_path / "handlers.py").write_text(HANDLERS, encoding="utf-8")
    (tmp_path / "context.json").write_text(
        json.dumps({"reconciliation_date": "2026-03-10", "variance_threshold": 5.0}),
        encoding="utf-8",
    )
    with psycopg.connect(fresh_database_url, autocommit=True) as connection:
        connection.execute(
            "CREATE SCHEMA app; CREATE TABLE app.reports (report_id serial PRIMARY KEY, "
            "report_date text NOT NULL, matched_count int, unmatched_count int)"
        )
    return tmp_path


def test_run_mixes_handlers_and_a_composition_and_resumes_after_the_checkpoint(
    invoke_cli: RunCli, workspace: Path, gateway: Gateway, fresh_database_url: str
) -> None:
    result = invoke_cli(
        "run",
        "reconcile.yaml",
        "--context",
        "@context.json",
        "--handlers",
        "handlers.py",
        "--json",
        # the gateway plays a service on the worker's own network (loopback)
        "--allow-private-network",
        cwd=workspace,
        env={"TASKER_DATABASE_URL": fresh_database_url},
    )
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr + result.stdout
    report = json.loads(result.stdout)
    steps = {step["name"]: step for step in report["steps"]}
    assert report["task"]["status"] == "complete"
    assert steps["reconcile"]["attempts"] == 2  # the audit endpoint failed the first one
    assert steps["reconcile"]["result"]["matched_count"] == 2
    assert steps["reconcile"]["result"]["unmatched_count"] == 1
    assert steps["announce"]["result"] == {"announced": 2}
    # the retry resumed after the persist checkpoint: the gateway was asked once
    assert gateway.hits["/transactions"] == 1
    assert gateway.hits["/audit"] == 2
    assert "date=2026-03-10" in gateway.queries[0]
    with psycopg.connect(fresh_database_url) as connection:
        reports = connection.execute(
            "SELECT report_date, matched_count, unmatched_count FROM app.reports"
        ).fetchall()
        events = connection.execute(
            "SELECT event_name, payload, event_uuid::text, invocation_index "
            "FROM tasker.grammar_outbox"
        ).fetchall()
        effects = connection.execute(
            "SELECT invocation_index, capability, resource, entity FROM tasker.grammar_effects"
        ).fetchall()
        step = connection.execute(
            "SELECT handler_type, composition_source, checkpoint FROM tasker.workflow_steps "
            "WHERE name = 'reconcile'"
        ).fetchone()
    assert reports == [("2026-03-10", 2, 1)]
    assert len(events) == 1
    assert events[0][0] == "payments.reconciled"
    assert events[0][1] == {"date": "2026-03-10", "matched": 2, "auditor": "A-7"}
    assert events[0][3] == 5
    assert effects == [(3, "persist", "ledger", "reconciliation-reports")]
    assert steps["reconcile"]["result"]["event_uuid"] == events[0][2]
    assert step is not None
    assert step[0] == "grammar"
    assert step[2]["composition"]["completed_index"] == 5
