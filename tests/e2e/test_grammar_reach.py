"""What a composition reaches when ``tasker-ctl run`` runs it, and the options that grant more.

A local HTTP server (127.0.0.1) plays an API. Without ``--allow-private-network`` acquire may
not connect to it; without ``--allow-env`` a header read from the environment is refused and
the variable's value appears nowhere: not in the output, not in the database.
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

SECRET = "e2e-secret-value-never-stored"

TEMPLATE = """\
name: reach
namespace_name: reach
version: "1.0.0"
resources:
  api:
    kind: http
    base_url: "http://127.0.0.1:{port}"
    allowed_hosts: [127.0.0.1]
    timeout_ms: 5000
    {headers}
steps:
  - name: fetch
    handler: {{callable: "grammar:fetch"}}
    composition:
      outcome:
        description: what the API says
        output_schema: {{type: object}}
      invocations:
        - capability: acquire
          config:
            resource: {{ref: api, entity: whoami}}
            result_shape: {{expression: ".data"}}
            output: {{type: object}}
"""


class Api:
    """Answers ``/whoami`` with the Authorization header it received."""

    def __init__(self) -> None:
        self.requests = 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.requests += 1
                body = json.dumps({"authorization": self.headers.get("Authorization")}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def __enter__(self) -> Api:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api() -> Iterator[Api]:
    with Api() as running:
        yield running


def write_template(tmp_path: Path, api: Api, headers: str = "") -> Path:
    path = tmp_path / "reach.yaml"
    path.write_text(TEMPLATE.format(port=api.port, headers=headers), encoding="utf-8")
    return path


def stored_text(database_url: str) -> str:
    """Everything stored about steps and tasks, as text."""
    with psycopg.connect(database_url) as connection:
        rows = [
            connection.execute(
                f"SELECT coalesce(string_agg(t::text, ' '), '') FROM {table} t"
            ).fetchone()
            for table in (
                "tasker.workflow_steps",
                "tasker.workflow_step_transitions",
                "tasker.tasks",
                "tasker.task_transitions",
            )
        ]
    return " ".join(str(row[0]) for row in rows if row is not None)


def test_loopback_needs_the_private_network_option(
    invoke_cli: RunCli, tmp_path: Path, api: Api, fresh_database_url: str
) -> None:
    template = write_template(tmp_path, api)
    env = {"TASKER_DATABASE_URL": fresh_database_url}
    refused = invoke_cli("run", str(template), "--json", env=env)
    assert_no_traceback(refused)
    assert refused.returncode == 1, refused.stderr
    assert "acquire may not connect to 127.0.0.1" in refused.stderr
    step = json.loads(refused.stdout)["steps"][0]
    assert step["error"]["error_type"] == "grammar_execution"
    assert "TASKER_ACQUIRE_PRIVATE_NETWORK=1" in json.dumps(step["error"])
    assert api.requests == 0

    allowed = invoke_cli(
        "run", str(template), "--json", "--new", "--allow-private-network", env=env
    )
    assert_no_traceback(allowed)
    assert allowed.returncode == 0, allowed.stderr
    assert api.requests == 1


def test_an_environment_variable_is_sent_only_when_the_operator_allows_it(
    invoke_cli: RunCli, tmp_path: Path, api: Api, fresh_database_url: str
) -> None:
    template = write_template(tmp_path, api, "headers_from_env: {Authorization: CLOUD_SECRET}")
    env = {"TASKER_DATABASE_URL": fresh_database_url, "CLOUD_SECRET": SECRET}
    refused = invoke_cli("run", str(template), "--json", "--allow-private-network", env=env)
    assert_no_traceback(refused)
    assert refused.returncode == 1, refused.stderr
    assert "CLOUD_SECRET" in refused.stderr
    report = json.loads(refused.stdout)
    assert "--allow-env CLOUD_SECRET" in json.dumps(report)
    assert report["steps"][0]["attempts"] == 1  # permanent: not retried
    assert api.requests == 0
    assert SECRET not in refused.stdout + refused.stderr
    assert SECRET not in stored_text(fresh_database_url)

    allowed = invoke_cli(
        "run",
        str(template),
        "--json",
        "--new",
        "--allow-private-network",
        "--allow-env",
        "CLOUD_SECRET",
        env=env,
    )
    assert_no_traceback(allowed)
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["steps"][0]["result"] == {"authorization": SECRET}


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--allow-table", "tasker.tasks"], {}),
        (["--allow-table", "orders"], {}),
        (["--persist-role", "bad role"], {}),
        (["--allow-env", "NOT-A-NAME"], {}),
        ([], {"TASKER_ACQUIRE_PRIVATE_NETWORK": "maybe"}),
    ],
)
def test_a_malformed_grant_is_a_usage_error(
    run_cli: RunCli, tmp_path: Path, api: Api, args: list[str], env: dict[str, str]
) -> None:
    template = write_template(tmp_path, api)
    for command in (["run", str(template)], ["worker"]):
        result = run_cli(
            *command, *args, env={"TASKER_DATABASE_URL": "postgresql://nowhere/x", **env}
        )
        assert_no_traceback(result)
        assert result.returncode == 2, result.stderr
        assert "POLICY_INVALID" in result.stderr
