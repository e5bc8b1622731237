"""The ``[mcp]`` extra: ``mcp serve`` without it names the install, and no other command
imports the SDK (each command in a subprocess of its own, through the entry point)."""

from __future__ import annotations

from pathlib import Path

from tests.entry_point import blocking, run_entry_point


def test_serve_without_the_extra_names_the_install(tmp_path: Path) -> None:
    # the SDK cannot be imported, as when the extra is not installed
    ran = run_entry_point("mcp", "serve", "--offline", cwd=tmp_path, prelude=blocking("mcp"))
    assert (ran.code, ran.loaded(["mcp"])) == (2, []), ran.output
    assert "MCP_EXTRA_MISSING" in ran.output
    assert "pip install 'tasker-ctl[mcp]'" in ran.output
    assert "Traceback" not in ran.output


def test_validate_does_not_import_the_sdk(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    ran = run_entry_point("validate", str(examples / "linear/linear.yaml"), cwd=tmp_path)
    assert (ran.code, ran.loaded(["mcp"])) == (0, []), ran.output
