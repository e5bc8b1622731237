"""The jq evaluator process leaves no bytecode in the package it runs from.

The package may be installed read-only or shared between users; the evaluator is a Python
process of its own, started with an environment of its own, so it has to be told.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tasker_ctl

pytestmark = pytest.mark.slow

EVALUATE = """
import sys
import tasker_ctl.grammar.expressions._process as process
from tasker_ctl.grammar.expressions import evaluate
from tasker_ctl.grammar.expressions._sandbox import shutdown_sandboxes

assert process.__file__.startswith(sys.argv[1]), process.__file__
print(evaluate(".a + 1", {"a": 41}))
shutdown_sandboxes()
"""


def test_an_evaluation_writes_no_bytecode_into_the_package(tmp_path: Path) -> None:
    installed = Path(tasker_ctl.__file__).parent
    copy = tmp_path / "site" / "tasker_ctl"
    shutil.copytree(installed, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    environment["PYTHONPATH"] = str(copy.parent)
    # -B: this process writes none itself; only the evaluator it starts could
    result = subprocess.run(
        [sys.executable, "-B", "-c", EVALUATE, str(copy)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "42"
    written = sorted(str(p.relative_to(copy)) for p in copy.rglob("*.pyc"))
    assert written == []
    assert not any(copy.rglob("__pycache__"))
