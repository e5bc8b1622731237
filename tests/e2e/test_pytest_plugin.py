"""tasker-ctl's pytest plugin as a user meets it: the tests of a generated package, run by
pytest in a process of its own.

A generated package's tests fail when one of its handlers is broken, on every run (each run
is a new task in a throwaway database, never the task an earlier run finished), and leave
no server running: the embedded server lives in a folder of the system's temporary
directory (here a folder of the test's own, through TMPDIR) and is stopped when pytest ends,
also when pytest is ended with SIGTERM. With TASKER_DATABASE_URL the plugin works in
databases of its own on that server and drops them.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tasker_ctl.codegen import generate_scaffold, write_scaffold
from tasker_ctl.db.server_access import running_as_root
from tasker_ctl.testing.server import DATABASE_PREFIX, HOME_PREFIX
from tests.e2e.interrupting import interruptible
from tests.environment import command_environment

pytestmark = pytest.mark.slow

ORDERS = """\
name: orders
namespace_name: shop
version: 1.0.0
input_schema:
  type: object
  required: [orderId]
  properties: {orderId: {type: string}}
steps:
  - name: validate
    handler: {callable: shop.validate}
    result_schema: {type: object, required: [ok], properties: {ok: {type: boolean}}}
  - name: ship
    dependencies: [validate]
    handler: {callable: shop.ship}
    retry: {max_attempts: 2, backoff: none}
    result_schema: {type: object, required: [tracking], properties: {tracking: {type: string}}}
"""

RUN_TEST = "test_template_runs_on_the_local_orchestrator"
BROKEN = "broken on purpose"


@pytest.fixture
def scratch() -> Iterator[Path]:
    """The TMPDIR of the pytest runs: a folder the embedded server's user can pass through
    when the suite runs as root (as the system's temporary directory is)."""
    folder = Path(tempfile.mkdtemp(prefix="tasker-plugin-e2e-"))
    if running_as_root():
        folder.chmod(0o711)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project: the template and the package generated from it."""
    (tmp_path / "orders.yaml").write_text(ORDERS, encoding="utf-8")
    write_scaffold(
        generate_scaffold(tmp_path / "orders.yaml", tmp_path / "orders"), tmp_path / "orders"
    )
    return tmp_path


def _break_ship(project: Path) -> None:
    handlers = project / "orders" / "handlers.py"
    source = handlers.read_text(encoding="utf-8")
    start = source.index("def ship(")
    todo = source.index("# TODO: implement the step.", start)
    broken = source[:todo] + f"raise RuntimeError({BROKEN!r})\n    " + source[todo:]
    handlers.write_text(broken, encoding="utf-8")


def _environment(scratch: Path, **extra: str) -> dict[str, str]:
    environment = command_environment()
    environment.update(TMPDIR=str(scratch), NO_COLOR="1", **extra)
    return environment


def _pytest(project: Path, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "orders"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _postgres_below(folder: Path) -> list[str]:
    """Command lines of running PostgreSQL servers whose data lies below ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            words = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue  # the process ended meanwhile
        if words and Path(words[0]).name == "postgres" and str(folder) in " ".join(words):
            found.append(" ".join(words))
    return found


def _outcome(result: subprocess.CompletedProcess[str], test: str) -> str:
    for line in result.stdout.splitlines():
        if f"::{test}" in line and line.split(" ")[0] in {"PASSED", "FAILED", "ERROR"}:
            return line.split(" ")[0]
    raise AssertionError(f"{test} did not run:\n{result.stdout}\n{result.stderr}")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="processes are read from /proc")
def test_a_broken_handler_fails_on_every_run_and_no_server_is_left(
    project: Path, scratch: Path
) -> None:
    environment = _environment(scratch)
    passing = _pytest(project, environment)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert _outcome(passing, RUN_TEST) == "PASSED"

    _break_ship(project)
    for run in (1, 2):
        result = _pytest(project, environment)
        output = result.stdout + result.stderr
        assert result.returncode == 1, f"run {run}:\n{output}"
        assert _outcome(result, RUN_TEST) == "FAILED", f"run {run}:\n{output}"
        # the failure names the step and shows its handler's error and where it was raised
        assert "steps not complete: ship" in result.stdout, output
        assert f"RuntimeError: {BROKEN}" in result.stdout, output
        assert "orders/handlers.py" in result.stdout, output
        assert _postgres_below(scratch) == [], f"run {run} left a server running"
        assert not any(scratch.glob(f"{HOME_PREFIX}*")), f"run {run} left its folder"

    # nothing in the project: no .tasker, no server started where pytest ran
    assert not (project / ".tasker").exists()
    assert not (project / "orders" / ".tasker").exists()


WAIT_TEST = ["orders/test_wait.py"]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="processes are read from /proc")
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_ending_the_run_stops_the_server(project: Path, scratch: Path, stop: int) -> None:
    marker = project / "started"
    (project / "orders" / "test_wait.py").write_text(
        "from pathlib import Path\n"
        "import sys\n\n\n"
        "def test_wait(tasker_database_url: str) -> None:\n"
        f"    Path({str(marker)!r}).write_text(tasker_database_url)\n"
        "    sys.stdin.read()  # until the run is ended\n",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        interruptible(
            [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *WAIT_TEST]
        ),
        cwd=project,
        env=_environment(scratch),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():  # the server is up and the test holds a database
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "the test never got its database"
            time.sleep(0.1)
        assert _postgres_below(scratch), "the plugin's server should be running now"
        process.send_signal(stop)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode != 0, output
    assert _postgres_below(scratch) == [], output
    assert not any(scratch.glob(f"{HOME_PREFIX}*")), output


def _plugin_databases(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{DATABASE_PREFIX}%",)
        ).fetchall()
    return {str(row[0]) for row in rows}


def test_a_configured_server_gets_throwaway_databases_only(
    project: Path, scratch: Path, fresh_database_url: str, postgres_url: str
) -> None:
    before = _plugin_databases(postgres_url)
    result = _pytest(project, _environment(scratch, TASKER_DATABASE_URL=fresh_database_url))
    assert result.returncode == 0, result.stdout + result.stderr
    assert _outcome(result, RUN_TEST) == "PASSED"
    assert _plugin_databases(postgres_url) == before  # every database it made is dropped
    with psycopg.connect(fresh_database_url) as connection:
        tasks = connection.execute("SELECT count(*) FROM tasker.tasks").fetchone()
    assert tasks == (0,)  # the database the URL names got no task
    assert not any(scratch.glob(f"{HOME_PREFIX}*"))  # and no embedded server was started
