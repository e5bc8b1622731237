"""The README's commands, run in the README's order as a new user would run them.

Every ``bash`` block line and every ``$ `` line of a ``console`` block is a command. They run
one after another in a copy of the repository's examples and configuration, against one fresh
database (``TASKER_DATABASE_URL``), so a command that depends on what an earlier one left
behind (``latest`` is the task the previous ``run`` created) is checked as the README says it.
"""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.interrupting import interruptible
from tests.environment import command_environment

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
_FENCE = re.compile(r"^```(\w*)\s*$")

# Commands a test cannot run as written, each with why. Everything else must exit 0.
_NOT_RUN = {
    "pip": "installs the package; the tests run the installed command",
    ".ci/check": "the suite that runs this test",
}
# Commands that show output for paths a reader would have, not files in this repository.
_ILLUSTRATIVE = {
    "tasker-ctl validate templates/ more/**/*.yaml": "shows findings for a reader's own files",
}
# Commands that run until stopped: they must still be running after a moment, then end on
# SIGINT without a traceback.
_FOLLOWING = ("--follow",)


@dataclass(frozen=True)
class ReadmeCommand:
    line: int
    argv: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.argv)


def readme_commands(text: str) -> list[ReadmeCommand]:
    """The commands of the README's ``bash`` and ``console`` blocks, in order."""
    commands: list[ReadmeCommand] = []
    language: str | None = None
    pending = ""
    pending_line = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        fence = _FENCE.match(raw)
        if fence:
            language = None if language is not None else fence.group(1)
            continue
        if language not in ("bash", "console"):
            continue
        line = raw.rstrip()
        if not pending:
            if language == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            pending_line = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line
        for part in pending.split("&&"):
            argv = tuple(shlex.split(part, comments=True))
            if argv:
                commands.append(ReadmeCommand(pending_line, argv))
        pending = ""
    return commands


def test_the_parser_reads_continuations_chains_and_comments() -> None:
    text = (
        "```console\n$ tasker-ctl run a.yaml \\\n    --new   # a comment\nout\n```\n"
        "```bash\npip install . && tasker-ctl db status\n```\n```yaml\nrev: x\n```\n"
    )
    assert [c.argv for c in readme_commands(text)] == [
        ("tasker-ctl", "run", "a.yaml", "--new"),
        ("pip", "install", "."),
        ("tasker-ctl", "db", "status"),
    ]


def test_the_readme_has_commands_to_run() -> None:
    commands = readme_commands(README.read_text(encoding="utf-8"))
    assert sum(c.argv[0] == "tasker-ctl" for c in commands) >= 15


def _workspace(tmp_path: Path) -> Path:
    workspace = tmp_path / "checkout"
    workspace.mkdir()
    for name in ("examples", "evals", "pyproject.toml", "README.md"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, workspace / name)
        else:
            shutil.copy2(source, workspace / name)
    return workspace


def _resolve(argv: tuple[str, ...]) -> list[str]:
    """Run tools from this interpreter's environment, as an activated venv would."""
    program, *rest = argv
    if program in ("pytest", "mypy", "ruff"):
        return [sys.executable, "-m", program, *rest]
    found = shutil.which(program)
    if program == "tasker-ctl" and not found:
        return [sys.executable, "-m", "tasker_ctl", *rest]
    return [found or program, *rest]


def _run_following(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[bool, str]:
    process = subprocess.Popen(
        interruptible(command),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        process.wait(timeout=3)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        try:
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            # killed and reaped here, its pipes closed: what it printed says where it hung
            process.kill()
            _, stderr = process.communicate()
            return False, f"still running 30 s after SIGINT; it printed:\n{stderr}"
        return "Traceback" not in stderr, stderr
    _, stderr = process.communicate()
    return False, f"ended by itself with {process.returncode}: {stderr}"


def test_the_readme_commands_run_in_order(tmp_path: Path, fresh_database_url: str) -> None:
    workspace = _workspace(tmp_path)
    # neither this run's TASKER_* settings nor its PYTEST_* ones (an xdist worker's)
    env = command_environment(("TASKER_", "PYTEST_"))
    env.update(
        TASKER_DATABASE_URL=fresh_database_url,
        NO_COLOR="1",
        COLUMNS="120",
        PYTHONDONTWRITEBYTECODE="1",
    )
    failures: list[str] = []
    for command in readme_commands(README.read_text(encoding="utf-8")):
        if command.argv[0] in _NOT_RUN or command.text in _ILLUSTRATIVE:
            continue
        argv = _resolve(command.argv)
        if any(flag in command.argv for flag in _FOLLOWING):
            ok, detail = _run_following(argv, workspace, env)
            if not ok:
                failures.append(f"README.md:{command.line}: {command.text}\n{detail}")
            continue
        result = subprocess.run(
            argv, cwd=workspace, env=env, capture_output=True, text=True, timeout=300
        )
        if result.returncode != 0 or "Traceback" in result.stderr:
            failures.append(
                f"README.md:{command.line}: {command.text} exited {result.returncode}\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
            )
    assert not failures, "\n\n".join(failures)
