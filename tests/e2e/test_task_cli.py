"""``tasker-ctl task list|cancel|retry-step|resolve-step|complete-step`` as operators run them.

Each test has a database of its own (``TASKER_DATABASE_URL``). The checkout workflow's
``charge`` step fails for good until the file its context names exists: the "fix" an
operator makes before repairing the step.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.e2e.conftest import RunCli, assert_no_traceback

pytestmark = pytest.mark.slow

CHECKOUT_TEMPLATE = """\
name: checkout
namespace_name: shop
version: "1.0.0"
input_schema:
  type: object
  required: [fixed_when]
  properties:
    fixed_when: {type: string}
steps:
  - name: prepare
    handler: {callable: shop.prepare}
  - name: charge
    dependencies: [prepare]
    handler: {callable: shop.charge}
    result_schema:
      type: object
      required: [amount]
      properties:
        amount: {type: number, minimum: 0}
  - name: notify
    dependencies: [charge]
    handler: {callable: shop.notify}
"""
CHECKOUT_HANDLERS = """\
from pathlib import Path

from tasker_ctl.sdk.errors import PermanentError
from tasker_ctl.sdk.step_handler.functional import depends_on, inputs, step_handler


@step_handler("shop.prepare")
def prepare():
    return {"ok": True}


@step_handler("shop.charge")
@inputs("fixed_when")
def charge(fixed_when):
    if not Path(fixed_when).exists():
        raise PermanentError("card processor down", error_code="PROCESSOR_DOWN")
    return {"amount": 42}


@step_handler("shop.notify")
@depends_on(charge="charge")
def notify(charge):
    return {"told": charge["amount"]}
"""


@pytest.fixture
def env(fresh_database_url: str) -> dict[str, str]:
    return {"TASKER_DATABASE_URL": fresh_database_url, "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture
def checkout(tmp_path: Path) -> tuple[str, ...]:
    """The arguments of ``run`` for the checkout workflow, not fixed yet."""
    (tmp_path / "checkout.yaml").write_text(CHECKOUT_TEMPLATE, encoding="utf-8")
    (tmp_path / "checkout_handlers.py").write_text(CHECKOUT_HANDLERS, encoding="utf-8")
    context = json.dumps({"fixed_when": str(tmp_path / "fixed")})
    return (
        "run",
        str(tmp_path / "checkout.yaml"),
        "--context",
        context,
        "--handlers",
        str(tmp_path / "checkout_handlers.py"),
    )


def run(invoke_cli: RunCli, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = invoke_cli(*args, env=env)
    assert_no_traceback(result)
    return result


def blocked_task(invoke_cli: RunCli, env: dict[str, str], checkout: tuple[str, ...]) -> str:
    result = run(invoke_cli, env, *checkout, "--json")
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["task"]["status"] == "blocked_by_failures"
    return str(data["task"]["uuid"])


def step_rows(database_url: str, task_uuid: str) -> dict[str, dict[str, Any]]:
    with psycopg.connect(database_url, row_factory=dict_row) as connection:
        rows = connection.execute(
            "SELECT name, current_state, results FROM tasker.workflow_steps WHERE task_uuid = %s",
            [task_uuid],
        ).fetchall()
    return {row["name"]: row for row in rows}


def last_transition(database_url: str, task_uuid: str, step: str) -> dict[str, Any]:
    with psycopg.connect(database_url, row_factory=dict_row) as connection:
        row = connection.execute(
            "SELECT t.* FROM tasker.workflow_step_transitions t"
            " JOIN tasker.workflow_steps s USING (workflow_step_uuid)"
            " WHERE s.task_uuid = %s AND s.name = %s AND t.most_recent",
            [task_uuid, step],
        ).fetchone()
    assert row is not None
    return row


def assert_coded(result: subprocess.CompletedProcess[str], code: str, *fragments: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"error[{code}]" in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    assert result.stdout == ""


def test_list_then_retry_step_resumes_a_blocked_task(
    invoke_cli: RunCli, env: dict[str, str], checkout: tuple[str, ...], tmp_path: Path
) -> None:
    task_uuid = blocked_task(invoke_cli, env, checkout)

    listed = run(invoke_cli, env, "task", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert list(data) == ["version", "tool", "tasks", "truncated", "next_cursor"]
    assert (data["truncated"], data["next_cursor"]) == (False, None)
    (task,) = data["tasks"]
    assert task["uuid"] == task_uuid
    assert (task["status"], task["namespace"], task["name"]) == (
        "blocked_by_failures",
        "shop",
        "checkout",
    )
    assert task["steps"] == {"complete": 1, "error": 1, "pending": 1}
    assert task["step_total"] == 3
    text = run(invoke_cli, env, "task", "list", "--status", "blocked_by_failures")
    assert task_uuid in text.stdout
    assert "shop/checkout@1.0.0" in text.stdout
    assert "1/3 done, 1 error, 1 pending" in text.stdout
    none = run(invoke_cli, env, "task", "list", "--status", "complete", "--namespace", "shop")
    assert "no tasks found" in none.stdout

    unexplained = run(invoke_cli, env, "task", "retry-step", task_uuid, "charge")
    assert_coded(unexplained, "REASON_REQUIRED", "--reason")

    (tmp_path / "fixed").write_text("yes", encoding="utf-8")
    retried = run(
        invoke_cli,
        env | {"TASKER_ACTOR": "oncall"},
        "task",
        "retry-step",
        task_uuid,
        "charge",
        "--reason",
        "processor is back",
    )
    assert retried.returncode == 0, retried.stderr
    assert f"step 'charge' of task {task_uuid}" in retried.stdout
    assert "error → pending → enqueued (attempts reset)" in retried.stdout
    assert "by oncall: processor is back" in retried.stdout
    assert "blocked_by_failures → steps_in_process (resumed)" in retried.stdout
    reset = last_transition(env["TASKER_DATABASE_URL"], task_uuid, "charge")
    assert reset["to_state"] == "enqueued"

    resumed = run(invoke_cli, env, *checkout, "--json")
    assert resumed.returncode == 0, resumed.stderr
    data = json.loads(resumed.stdout)
    assert data["task"]["status"] == "complete"
    assert data["steps"][-1]["result"] == {"told": 42}


def test_complete_step_checks_the_result_then_hands_it_on(
    invoke_cli: RunCli, env: dict[str, str], checkout: tuple[str, ...], tmp_path: Path
) -> None:
    task_uuid = blocked_task(invoke_cli, env, checkout)
    command = ("task", "complete-step", task_uuid, "charge", "--reason", "charged by phone")

    assert_coded(run(invoke_cli, env, *command), "INVALID_RESULT_JSON", "needs the step's result")
    assert_coded(
        run(invoke_cli, env, *command, "--result", '{"amount": 5,}'),
        "INVALID_RESULT_JSON",
        "--result is not valid JSON",
    )
    assert_coded(
        run(invoke_cli, env, *command, "--result", "[5]"),
        "INVALID_RESULT_JSON",
        "must be a JSON object, not an array",
    )
    assert_coded(
        run(invoke_cli, env, *command, "--result", '{"amount": -5}'),
        "RESULT_SCHEMA_VIOLATION",
        "'charge'",
        "$.amount: -5 is less than the minimum of 0",
    )
    assert_coded(
        run(invoke_cli, env, *command, "--result", "@missing.json"),
        "PATH_NOT_FOUND",
        "missing.json",
    )
    assert step_rows(env["TASKER_DATABASE_URL"], task_uuid)["charge"]["current_state"] == "error"

    (tmp_path / "result.json").write_text('{"amount": 17.5}', encoding="utf-8")
    completed = run(
        invoke_cli,
        env,
        *command,
        "--result",
        f"@{tmp_path / 'result.json'}",
        "--by",
        "dana",
        "--json",
    )
    assert completed.returncode == 0, completed.stderr
    data = json.loads(completed.stdout)
    assert list(data) == ["version", "tool", "action", "task", "steps"]
    assert data["action"] == {
        "name": "complete_step",
        "by": "dana",
        "reason": "charged by phone",
        "step": "charge",
        "step_state_before": "error",
        "step_state_after": "complete",
        "task_state_before": "blocked_by_failures",
        "task_state_after": "steps_in_process",
        "resumed": True,
        "cancelled_steps": [],
        "enqueued": 1,
        "blocking_steps": [],
    }
    charge = next(step for step in data["steps"] if step["name"] == "charge")
    assert (charge["state"], charge["result"]) == ("complete", {"amount": 17.5})
    transition = last_transition(env["TASKER_DATABASE_URL"], task_uuid, "charge")
    assert transition["metadata"] == {
        "action": "complete_step",
        "by": "dana",
        "reason": "charged by phone",
    }

    # the handler is still broken, but it is not run again: notify sees the manual result
    resumed = run(invoke_cli, env, *checkout, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["steps"][-1]["result"] == {"told": 17.5}


def test_cancel_and_its_refusals(
    run_cli: RunCli, env: dict[str, str], checkout: tuple[str, ...]
) -> None:
    submit = ("task", "submit", *checkout[1:4])
    submitted = run(run_cli, env, *submit)
    assert submitted.returncode == 0, submitted.stderr
    task_uuid = submitted.stdout.split()[2]

    unknown_step = run(
        run_cli, env, "task", "resolve-step", task_uuid, "chrage", "--reason", "typo"
    )
    assert_coded(unknown_step, "STEP_NOT_FOUND", "has no step 'chrage'", "did you mean 'charge'?")
    waiting = run(run_cli, env, "task", "resolve-step", task_uuid, "notify", "--reason", "skip")
    assert_coded(waiting, "STEP_WAITING_FOR_PARENTS", "'charge'")

    cancelled = run(
        run_cli, env, "task", "cancel", task_uuid, "--reason", "order withdrawn", "--json"
    )
    assert cancelled.returncode == 0, cancelled.stderr
    action = json.loads(cancelled.stdout)["action"]
    assert action["name"] == "cancel_task"
    assert action["cancelled_steps"] == ["charge", "notify", "prepare"]
    assert action["task_state_after"] == "cancelled"
    rows = step_rows(env["TASKER_DATABASE_URL"], task_uuid)
    assert {row["current_state"] for row in rows.values()} == {"cancelled"}

    again = run(run_cli, env, "task", "cancel", task_uuid, "--reason", "twice")
    assert_coded(again, "TASK_ALREADY_FINISHED", "is already cancelled")
    missing = "00000000-0000-0000-0000-000000000000"
    assert_coded(
        run(run_cli, env, "task", "cancel", missing, "--reason", "x"),
        "TASK_NOT_FOUND",
        missing,
    )
    assert_coded(
        run(run_cli, env, "task", "list", "--status", "blocked"),
        "UNKNOWN_TASK_STATUS",
        "did you mean 'blocked_by_failures'?",
    )
    bad_uuid = run(run_cli, env, "task", "cancel", "not-a-uuid", "--reason", "x")
    assert bad_uuid.returncode == 2


def _insert_twins(database_url: str, template_task: str) -> list[str]:
    """Two tasks whose UUIDs share the prefix 'abcdef01', copied from ``template_task``."""
    twins = [f"abcdef01-0000-4000-8000-00000000000{n}" for n in (1, 2)]
    with psycopg.connect(database_url) as connection:
        for twin in twins:
            connection.execute(
                "INSERT INTO tasker.tasks (task_uuid, named_task_uuid, namespace_name,"
                " identity_hash, correlation_id)"
                " SELECT %s, named_task_uuid, namespace_name, md5(random()::text),"
                " gen_random_uuid() FROM tasker.tasks WHERE task_uuid = %s",
                [twin, template_task],
            )
    return twins


def _arguments(
    path: tuple[str, ...], command: Any, reference: str, run_args: tuple[str, ...]
) -> list[str]:
    """The command line of ``command`` with ``reference`` as its task and harmless values for
    its other required arguments."""
    from tests.unit.test_task_references import names_a_task

    if path == ("run",):
        return [*run_args, "--resume", reference]
    argv = list(path)
    for param in command.params:
        if param.param_type_name == "argument":
            argv.append(reference if names_a_task(param) else "charge")
        elif names_a_task(param):
            argv.extend([param.opts[0], reference])
        elif "--reason" in param.opts:
            argv.extend(["--reason", "checking references"])
        elif "--result" in param.opts:
            argv.extend(["--result", "{}"])  # read before the task: it must be usable
    return argv


def test_every_command_that_takes_a_task_resolves_it_the_same_way(
    invoke_cli: RunCli, env: dict[str, str], checkout: tuple[str, ...]
) -> None:
    from tests.unit.test_task_references import task_commands

    task_uuid = blocked_task(invoke_cli, env, checkout)
    twins = _insert_twins(env["TASKER_DATABASE_URL"], task_uuid)
    unknown = "ffffffff" if not task_uuid.startswith("ffffffff") else "eeeeeeee"
    found = task_commands()
    assert len(found) >= 13
    for path, command, _ in found:
        ambiguous = run(invoke_cli, env, *_arguments(path, command, "abcdef01", checkout))
        assert_coded(ambiguous, "AMBIGUOUS_TASK_REFERENCE", *twins)  # the candidates
        missing = run(invoke_cli, env, *_arguments(path, command, unknown, checkout))
        assert_coded(missing, "TASK_NOT_FOUND", f"'{unknown}'", "the newest tasks:", task_uuid)
        garbled = run(invoke_cli, env, *_arguments(path, command, "not-a-task", checkout))
        assert_coded(garbled, "INVALID_TASK_REFERENCE", "'not-a-task'")

    # a unique prefix and 'latest' name the task wherever a task is taken
    prefix = task_uuid[:8]
    shown = run(invoke_cli, env, "task", "show", prefix, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["task"]["uuid"] == task_uuid
    events = run(invoke_cli, env, "events", "--task", task_uuid[:13])
    assert events.returncode == 0, events.stderr
    assert f"{task_uuid[:8]}  task  shop" in events.stdout
    retried = run(
        invoke_cli, env, "task", "retry-step", prefix, "charge", "--reason", "by prefix", "--json"
    )
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout)["action"]["step_state_after"] == "enqueued"


def test_retry_step_help_names_the_states_its_output_shows(invoke_cli: RunCli) -> None:
    shown = invoke_cli("task", "retry-step", "--help")
    assert shown.returncode == 0
    text = " ".join(shown.stdout.split())
    # test_list_then_retry_step_resumes_a_blocked_task sees 'error → pending → enqueued'
    assert "error -> pending, its attempts reset to 0, then pending -> enqueued" in text


def test_list_pages_by_cursor_and_filters_by_time_and_template(
    invoke_cli: RunCli, env: dict[str, str], checkout: tuple[str, ...]
) -> None:
    submit = ("task", "submit", *checkout[1:4])
    first = run(invoke_cli, env, *submit, "--json")
    second = run(invoke_cli, env, *submit, "--new", "--json")
    uuids = [json.loads(result.stdout)["task"]["uuid"] for result in (second, first)]

    page = run(invoke_cli, env, "task", "list", "--limit", "1")
    assert page.returncode == 0, page.stderr
    assert uuids[0] in page.stdout
    assert uuids[1] not in page.stdout
    assert "1 task shown (--limit 1); more match. Next page: --after " in page.stdout
    cursor = page.stdout.split("--after ")[-1].split()[0]
    rest = json.loads(run(invoke_cli, env, "task", "list", "--after", cursor, "--json").stdout)
    assert [task["uuid"] for task in rest["tasks"]] == [uuids[1]]
    assert (rest["truncated"], rest["next_cursor"]) == (False, None)
    limited = json.loads(run(invoke_cli, env, "task", "list", "--limit", "1", "--json").stdout)
    assert limited["truncated"] is True
    assert limited["next_cursor"] == cursor

    def listed(*options: str) -> list[str]:
        result = run(invoke_cli, env, "task", "list", "--json", *options)
        assert result.returncode == 0, result.stderr
        return [task["uuid"] for task in json.loads(result.stdout)["tasks"]]

    assert listed("--since", "1h") == uuids
    assert listed("--since", "2999-01-01") == []
    assert listed("--template", "shop/checkout") == uuids
    assert listed("--template", "shop/checkout@1.0.0") == uuids
    assert listed("-t", "checkout@2.0.0") == []
    assert listed("--template", "other/checkout") == []
    text = run(invoke_cli, env, "task", "list", "--template", "shop/checkout")
    assert "changed " in text.stdout
    assert "2 tasks" in text.stdout

    assert_coded(run(invoke_cli, env, "task", "list", "--since", "soon"), "INVALID_SINCE")
    assert_coded(
        run(invoke_cli, env, "task", "list", "--template", "a/b/c"), "INVALID_TEMPLATE_FILTER"
    )
    assert_coded(
        run(invoke_cli, env, "task", "list", "--after", "garbage"), "INVALID_CURSOR", "next_cursor"
    )
