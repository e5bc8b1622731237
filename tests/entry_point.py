"""The console script's entry point run as a user runs it, in a Python of its own: for tests of
what a command line loads (its exit code, its output and every module it imported).

``run_entry_point("validate", "t.yaml", cwd=...)`` calls ``tasker_ctl.cli.main`` with those
words as ``tasker-ctl validate t.yaml`` would, after ``prelude`` (code run first: an import to
make, or ``blocking(...)`` packages, as when an extra is not installed). The environment is
this one without the ``TASKER_*`` and ``PYTEST_*`` variables of the test run, colours off.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.environment import command_environment

_MARKER = "ENTRY-POINT-RUN "
_SCRIPT = """\
import json, sys
{prelude}
from tasker_ctl.cli import main
sys.argv = ["tasker-ctl", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as stop:
    code = stop.code
else:
    code = 0
# on a line of its own, whatever the command printed last
print("\\n{marker}" + json.dumps({{"code": code, "modules": sorted(sys.modules)}}))
"""
_BLOCKER = """\
class _Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {packages!r}:
            raise ImportError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _Blocker())
"""


@dataclass(frozen=True)
class EntryPointRun:
    code: object  # what the command exited with (SystemExit.code)
    modules: frozenset[str]
    output: str  # stdout, then stderr

    def loaded(self, packages: Iterable[str]) -> list[str]:
        """Which of ``packages`` (top-level names) the command imported, sorted."""
        return sorted({name.split(".")[0] for name in self.modules} & set(packages))


def blocking(*packages: str) -> str:
    """A prelude after which importing any of ``packages`` fails, as if not installed."""
    return _BLOCKER.format(packages=set(packages))


def clean_environment() -> dict[str, str]:
    """This environment without the test run's ``TASKER_*`` and ``PYTEST_*`` variables, colours
    off: what a command started by a test sees."""
    environment = command_environment(("TASKER_", "PYTEST_"))
    environment["NO_COLOR"] = "1"
    return environment


def run_entry_point(
    *words: str, cwd: Path, prelude: str = "", timeout: float = 180
) -> EntryPointRun:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(prelude=prelude, marker=_MARKER), json.dumps(words)],
        cwd=cwd,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = result.stdout + result.stderr
    marker = [line for line in result.stdout.splitlines() if line.startswith(_MARKER)]
    assert marker, output
    ran = json.loads(marker[-1].removeprefix(_MARKER))
    return EntryPointRun(ran["code"], frozenset(ran["modules"]), output)
