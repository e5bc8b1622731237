"""The ``[mcp]`` extra: ``mcp serve`` without it names the install, and no other command
imports the SDK (each command in a subprocess of its own, through the entry point)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# the command line run as `tasker-ctl ARGS` does, then whether the SDK was loaded
RUN_AND_REPORT = """\
import json, sys
BLOCK
from tasker_ctl.cli import main
sys.argv = ["tasker-ctl", *sys.argv[1:]]
try:
    main()
except SystemExit as stop:
    code = stop.code
else:
    code = 0
print("MCP-SDK " + json.dumps({"code": code, "loaded": "mcp" in sys.modules}))
"""
# the SDK cannot be imported, as when the extra is not installed
BLOCK_SDK = """\
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "mcp":
            raise ImportError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Blocker())
"""


def _run(block: str, *args: str, cwd: Path) -> tuple[dict[str, object], str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TASKER_", "PYTEST_"))}
    environment["NO_COLOR"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", RUN_AND_REPORT.replace("BLOCK", block), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    marker = [line for line in result.stdout.splitlines() if line.startswith("MCP-SDK ")]
    assert marker, output
    return json.loads(marker[-1].removeprefix("MCP-SDK ")), output


def test_serve_without_the_extra_names_the_install(tmp_path: Path) -> None:
    found, output = _run(BLOCK_SDK, "mcp", "serve", "--offline", cwd=tmp_path)
    assert found == {"code": 2, "loaded": False}, output
    assert "MCP_EXTRA_MISSING" in output
    assert "pip install 'tasker-ctl[mcp]'" in output
    assert "Traceback" not in output


def test_validate_does_not_import_the_sdk(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    found, output = _run("", "validate", str(examples / "linear/linear.yaml"), cwd=tmp_path)
    assert found == {"code": 0, "loaded": False}, output
