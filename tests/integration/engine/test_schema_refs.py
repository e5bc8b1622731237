"""At run time a schema's outside ``$ref`` is a coded failure naming it: never a fetch, never a
crashed worker, never a file's content in a stored error.

These templates are registered directly, as a template stored by an older tasker-ctl (or any
other client) would be, so ``validate``'s own finding does not stop them first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasker_ctl.sdk.contracts import SchemaRefError
from tests.counting_server import CountingServer, counting_server
from tests.integration.engine.conftest import Engine, make_template, step

SECRET = "TOPSECRET-5d21e0"


@pytest.fixture
def server() -> Iterator[CountingServer]:
    with counting_server() as running:
        yield running


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(f"{SECRET}\n", encoding="utf-8")  # not JSON: reading it crashed the worker
    return path


@pytest.fixture
def secret_json(tmp_path: Path) -> Path:
    path = tmp_path / "secret.json"
    path.write_text(json.dumps(SECRET), encoding="utf-8")  # a JSON string: a schema of 'const'
    return path


def _refs(server: CountingServer, secret_file: Path, secret_json: Path) -> list[str]:
    return [f"{server.url}/result.json", f"file://{secret_file}", f"file://{secret_json}"]


def test_a_result_schema_reference_fails_the_step_with_a_code(
    engine: Engine, server: CountingServer, secret_file: Path, secret_json: Path
) -> None:
    for ref in _refs(server, secret_file, secret_json):
        schema = {"type": "object", "properties": {"result": {"$ref": ref}}}
        template = make_template(
            [step("linear_1", "arith.square", result_schema=schema)], name=f"refs_{len(ref)}"
        )
        task = engine.submit(template, {"even_number": 2})
        assert engine.run(task.task_uuid) == "blocked_by_failures"

        row = engine.steps(task.task_uuid)["linear_1"]
        assert (row["current_state"], row["attempts"]) == ("error", 1)
        envelope = row["results"]
        assert envelope["metadata"]["error_code"] == "SCHEMA_REF_UNRESOLVABLE"
        assert envelope["error"]["error_type"] == "schema_ref_unresolvable"
        assert ref in envelope["error"]["message"]
        stored = json.dumps(engine.rows("SELECT * FROM tasker.workflow_steps"), default=str)
        stored += json.dumps(
            engine.rows("SELECT * FROM tasker.workflow_step_transitions"), default=str
        )
        assert SECRET not in stored
    assert server.count == 0


def test_an_input_schema_reference_refuses_the_task(
    engine: Engine, server: CountingServer, secret_file: Path, secret_json: Path
) -> None:
    for ref in _refs(server, secret_file, secret_json):
        template = make_template(
            [step("linear_1", "arith.square")],
            input_schema={"type": "object", "properties": {"even_number": {"$ref": ref}}},
        )
        with pytest.raises(SchemaRefError) as caught:
            engine.submit(template, {"even_number": 2})
        assert caught.value.code == "SCHEMA_REF_UNRESOLVABLE"
        assert ref in caught.value.message
        assert SECRET not in caught.value.message
    assert engine.one("SELECT count(*) AS n FROM tasker.tasks")["n"] == 0
    assert server.count == 0
