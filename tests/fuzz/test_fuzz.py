"""The fuzz harness in the test suite: a bounded, seeded run, and the harness's own checks.

``test_hostile_inputs_end_cleanly`` is the first 80 templates, 16 compositions and 16
contexts of the full run (same seed), in a fresh process so that nothing of pytest's state
reaches the forked children. It fails listing each failure signature with its reproducer.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import child
from tests.fuzz.cases import KINDS, Command, build_case
from tests.fuzz.runner import Limits, Outcome, Run, execute, innermost_frame
from tests.fuzz.seeds import PROJECT_ROOT, load_seeds

SUBSET = {"--cases": "80", "--compositions": "16", "--contexts": "16", "--seed": "1"}
EXAMPLE = PROJECT_ROOT / "examples" / "linear" / "linear.yaml"


def _failure_listing(out: Path) -> str:
    summary = json.loads((out / "summary.json").read_text())
    lines = [f"{summary['failures']} failing runs, by signature (figures: {out / 'summary.json'}):"]
    reproducers = {
        json.loads(path.read_text())["signature"]: path.parent
        for path in sorted((out / "reproducers").glob("*/case.json"))
    }
    for signature, group in summary["failures_by_signature"].items():
        lines.append(f"- {group['count']} x {signature}")
        lines.append(f"    cases: {', '.join(group['cases'])}")
        directory = reproducers.get(signature)
        if directory is not None:
            case = json.loads((directory / "case.json").read_text())
            lines.append(f"    reproducer: {directory} (cd there: {case['user_command']})")
            lines.append(f"    mutations: {'; '.join(case['mutations'])[:300]}")
    return "\n".join(lines)


@pytest.mark.slow
def test_hostile_inputs_end_cleanly(tmp_path: Path) -> None:
    """No traceback, no exit code but 0/1/2, no run over 10 s or 500 MB, nothing escapes."""
    arguments = [part for pair in SUBSET.items() for part in pair]
    arguments += ["--jobs", "2", "--out", str(tmp_path), "--shrink-seconds", "0"]
    completed = subprocess.run(
        [sys.executable, "-m", "tests.fuzz", *arguments],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["cases"] == {"template": 80, "composition": 16, "context": 16}
    assert completed.returncode == 0, _failure_listing(tmp_path)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), number=st.integers(min_value=0, max_value=10**6))
def test_a_case_is_rebuilt_identically_from_its_number(kind: str, number: int) -> None:
    seeds = load_seeds()
    first, second = build_case(seeds, 1, kind, number), build_case(seeds, 1, kind, number)
    assert first.files == second.files
    assert first.labels == second.labels
    assert first.commands == second.commands


# ---------------------------------------------------------------------------------------------
# the runner judges what a child did


def _crash(argv: tuple[str, ...]) -> int:
    raise KeyError("boom")


def _spin(argv: tuple[str, ...]) -> int:
    while True:
        pass


def _hog(argv: tuple[str, ...]) -> int:
    block = b"x" * (600 << 20)  # written, so resident
    return len(block) and 0


def _exit_four(argv: tuple[str, ...]) -> int:
    return 4


def _segfault(argv: tuple[str, ...]) -> int:
    os.kill(os.getpid(), signal.SIGSEGV)
    return 0


def _escape(argv: tuple[str, ...]) -> int:
    for attempt in (
        lambda: Path("/etc/passwd").read_text(),
        lambda: Path(argv[0]).write_text("x"),
        lambda: socket.create_connection(("192.0.2.1", 80), timeout=1),
    ):
        with contextlib.suppress(PermissionError):
            attempt()
    return 0


def _run_op(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    function: object,
    argv: tuple[str, ...] = (),
    limits: Limits | None = None,
) -> Outcome:
    monkeypatch.setitem(child.OPS, "fuzz-test", function)
    case = tmp_path / "case"
    (case / "tmp").mkdir(parents=True)
    run = Run("template-0", Command("probe", argv, op="fuzz-test"), case)
    return next(execute([run], jobs=1, limits=limits or Limits()))


def test_a_traceback_is_a_failure_named_by_its_exception(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outcome = _run_op(monkeypatch, tmp_path, _crash)
    assert outcome.problems == ["traceback", "exit 3"]
    assert outcome.signature == "probe | traceback | KeyError"


def test_a_run_past_the_time_limit_is_stopped_with_its_stack(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outcome = _run_op(monkeypatch, tmp_path, _spin, limits=Limits(seconds=1))
    assert outcome.problems == ["timeout"]
    assert "_spin" in outcome.output  # faulthandler's stack, asked for before the kill
    assert outcome.seconds < 5


def test_a_run_over_the_memory_limit_is_a_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outcome = _run_op(monkeypatch, tmp_path, _hog)
    assert outcome.exit_code == 0
    assert outcome.problems == ["memory"]
    assert outcome.peak_mb > 600


def test_exit_codes_outside_0_1_2_and_signals_are_failures(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert _run_op(monkeypatch, tmp_path / "a", _exit_four).problems == ["exit 4"]
    crashed = _run_op(monkeypatch, tmp_path / "b", _segfault)
    assert crashed.problems == ["signal"]
    assert crashed.signature == "probe | signal SIGSEGV"


def test_reads_of_named_files_writes_outside_the_case_and_connections_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outcome = _run_op(monkeypatch, tmp_path, _escape, (str(outside),))
    assert outcome.problems == ["escape"]
    assert [line.split(" ", 1)[0] for line in outcome.escapes] == ["read", "open", "connect"]
    assert not outside.exists()


def test_a_forked_run_ends_as_the_real_command_does(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    (tmp_path / "good.yaml").write_bytes(EXAMPLE.read_bytes())
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    runs = [
        Run("template-0", Command(name, ("validate", name, "--format", "json")), tmp_path, mode)
        for name in ("good.yaml", "bad.yaml", "missing.yaml")
        for mode in ("fork", "process")
    ]
    outcomes = {
        (o.run.command.argv[1], o.run.mode): o for o in execute(runs, jobs=2, limits=Limits())
    }
    for name, expected in (("good.yaml", 0), ("bad.yaml", 1), ("missing.yaml", 2)):
        assert outcomes[name, "fork"].exit_code == expected
        assert outcomes[name, "process"].exit_code == expected
        assert not outcomes[name, "fork"].failed


def test_the_innermost_frame_of_ours_names_a_traceback() -> None:
    output = (
        "Traceback (most recent call last):\n"
        '  File "/x/site-packages/tasker_ctl/cli/__init__.py", line 95, in main\n'
        '  File "/x/site-packages/tasker_ctl/template/source.py", line 12, in read_source\n'
        '  File "/usr/lib/python3.11/json/decoder.py", line 353, in raw_decode\n'
        "ValueError: Exceeds the limit\n"
    )
    assert innermost_frame(output) == "tasker_ctl/template/source.py:read_source"
