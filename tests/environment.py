"""The environment of a command a test starts: the test run's own, without what it names.

Every command started this way runs in its own process (``TASKER_PRELOAD=off``): a preloader
started by one test would serve another's commands, and outlive the run. The tests of the
preloader itself (``tests/e2e/test_preload.py``) switch it on, each with a folder of its own.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def command_environment(drop: str | tuple[str, ...] = "TASKER_") -> dict[str, str]:
    """``os.environ`` without the variables whose names start with ``drop``, preloading off."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    environment["TASKER_PRELOAD"] = "off"
    return environment


def console_script() -> str:
    """The ``tasker-ctl`` console script installed beside this Python, whose process is the
    command's (a version manager's shim first on PATH would start it as a process of its own);
    else the first on PATH."""
    script = Path(sys.executable).with_name("tasker-ctl")
    found = str(script) if script.exists() else shutil.which("tasker-ctl")
    if found is None:
        raise RuntimeError("tasker-ctl is not installed next to this Python (pip install -e .)")
    return found
