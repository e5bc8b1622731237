"""The figures of a campaign, its failures grouped by signature, and their reproducers."""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.fuzz.cases import Case, case_manifest
from tests.fuzz.runner import Limits, Outcome
from tests.fuzz.seeds import PROJECT_ROOT

_EXCERPT = 6000


@dataclass(frozen=True)
class RunFigure:
    case_id: str
    command: str
    mode: str
    seconds: float
    cpu_seconds: float
    peak_mb: float
    exit_code: int | None


def _figure(outcome: Outcome) -> RunFigure:
    return RunFigure(
        outcome.run.case_id,
        outcome.run.command.command_line(),
        outcome.run.mode,
        round(outcome.seconds, 3),
        round(outcome.cpu_seconds, 3),
        round(outcome.peak_mb, 1),
        outcome.exit_code,
    )


def excerpt(output: str) -> str:
    """The start of the output and, when there is one, its last traceback."""
    head = output[:_EXCERPT]
    marker = output.rfind("Traceback (most recent call last)")
    if marker > _EXCERPT:
        head += "\n[...]\n" + output[marker : marker + _EXCERPT]
    return head


def _git(*args: str) -> str:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        return subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    return ""


@dataclass
class Summary:
    plan: dict[str, Any]
    seeds: dict[str, int]
    limits: dict[str, Any]
    date: str
    commit: str
    uncommitted_changes: bool
    seconds: float = 0.0
    runs: int = 0
    cases: Counter[str] = field(default_factory=Counter)
    runs_by_command: Counter[str] = field(default_factory=Counter)
    seconds_by_command: dict[str, float] = field(default_factory=dict)
    exit_codes: Counter[str] = field(default_factory=Counter)
    slowest: RunFigure | None = None  # by CPU time, what the limit judges
    slowest_wall: RunFigure | None = None
    largest: RunFigure | None = None
    failures: list[Outcome] = field(default_factory=list)
    _seen_cases: set[str] = field(default_factory=set)

    @classmethod
    def start(cls, plan: dict[str, Any], seeds: dict[str, int], limits: Limits) -> Summary:
        return cls(
            plan=plan,
            seeds=seeds,
            limits=asdict(limits),
            date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            commit=_git("rev-parse", "--short", "HEAD"),
            uncommitted_changes=bool(_git("status", "--porcelain")),
        )

    def add(self, outcome: Outcome) -> None:
        self.runs += 1
        if outcome.run.case_id not in self._seen_cases:
            self._seen_cases.add(outcome.run.case_id)
            self.cases[outcome.run.case_id.rpartition("-")[0]] += 1
        command = f"{outcome.run.command.name} ({outcome.run.mode})"
        self.runs_by_command[command] += 1
        self.seconds_by_command[command] = self.seconds_by_command.get(command, 0) + outcome.seconds
        self.exit_codes[str(outcome.exit_code) if outcome.signal is None else "signal"] += 1
        figure = _figure(outcome)
        if self.slowest is None or figure.cpu_seconds > self.slowest.cpu_seconds:
            self.slowest = figure
        if self.slowest_wall is None or figure.seconds > self.slowest_wall.seconds:
            self.slowest_wall = figure
        if self.largest is None or figure.peak_mb > self.largest.peak_mb:
            self.largest = figure
        if outcome.failed:
            self.add_failure(outcome)

    def add_failure(self, outcome: Outcome) -> None:
        outcome.output = excerpt(outcome.output)
        self.failures.append(outcome)

    def failure_count(self) -> int:
        return len(self.failures)

    def by_kind(self) -> Counter[str]:
        return Counter(outcome.problems[0].split(" ")[0] for outcome in self.failures)

    def by_signature(self) -> dict[str, list[Outcome]]:
        groups: dict[str, list[Outcome]] = {}
        for outcome in self.failures:
            groups.setdefault(outcome.signature or "?", []).append(outcome)
        return dict(sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])))

    def representatives(self, sizes: Mapping[str, int] | None = None) -> dict[str, Outcome]:
        """Per signature, the failure of the smallest case (a forked run when there is one)."""
        sizes = sizes or {}
        return {
            signature: min(
                outcomes,
                key=lambda o: (o.run.mode != "fork", sizes.get(o.run.case_id, 0), o.run.case_id),
            )
            for signature, outcomes in self.by_signature().items()
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "commit": self.commit,
            "uncommitted_changes": self.uncommitted_changes,
            "plan": self.plan,
            "seeds": self.seeds,
            "limits": self.limits,
            "seconds": round(self.seconds, 1),
            "cases": dict(self.cases),
            "runs": self.runs,
            "runs_by_command": dict(sorted(self.runs_by_command.items())),
            "seconds_by_command": {
                command: round(seconds, 1)
                for command, seconds in sorted(self.seconds_by_command.items())
            },
            "exit_codes": dict(sorted(self.exit_codes.items())),
            "slowest": asdict(self.slowest) if self.slowest else None,
            "slowest_wall": asdict(self.slowest_wall) if self.slowest_wall else None,
            "largest_peak": asdict(self.largest) if self.largest else None,
            "failures": len(self.failures),
            "failures_by_kind": dict(self.by_kind()),
            "failures_by_signature": {
                signature: {
                    "count": len(outcomes),
                    "cases": sorted({o.run.case_id for o in outcomes})[:20],
                }
                for signature, outcomes in self.by_signature().items()
            },
        }

    def render(self) -> str:
        """The figures as Markdown (what tests/fuzz/README.md quotes)."""
        data = self.as_json()
        lines = [
            f"Run of {self.date} against {self.commit}"
            + (" (with uncommitted changes)" if self.uncommitted_changes else "")
            + f", seed {self.plan['seed']}, {self.plan['jobs']} jobs:",
            "",
            f"- cases: {', '.join(f'{n} {k}s' for k, n in self.cases.items())}; "
            f"{self.runs} runs in {self.seconds:.0f} s",
            "- runs by command: "
            + ", ".join(f"{k} {n}" for k, n in data["runs_by_command"].items()),
            f"- exit codes: {', '.join(f'{k}: {n}' for k, n in data['exit_codes'].items())}",
        ]
        for title, figure in (("CPU", self.slowest), ("wall", self.slowest_wall)):
            if figure:
                lines.append(
                    f"- slowest run by {title} time: {figure.cpu_seconds:.2f} s CPU, "
                    f"{figure.seconds:.2f} s wall, {figure.case_id} `{figure.command}` "
                    f"({figure.mode})"
                )
        if self.largest:
            lines.append(
                f"- largest peak memory: {self.largest.peak_mb:.0f} MB, {self.largest.case_id} "
                f"`{self.largest.command}` ({self.largest.mode})"
            )
        kinds = ", ".join(f"{kind} {count}" for kind, count in self.by_kind().items())
        lines.append(f"- failures: {len(self.failures)}" + (f" ({kinds})" if kinds else ""))
        for signature, outcomes in self.by_signature().items():
            lines.append(f"  - {len(outcomes)} x `{signature}` (e.g. {outcomes[0].run.case_id})")
        return "\n".join(lines) + "\n"

    def write(self, out: Path) -> None:
        (out / "summary.json").write_text(json.dumps(self.as_json(), indent=2) + "\n")
        (out / "summary.md").write_text(self.render())


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:80]


def write_reproducers(
    summary: Summary, cases: Mapping[str, Case], target: Path, shrunk: Mapping[str, bytes]
) -> None:
    """One directory per signature: the case's files (the mutated one shrunk when it could be),
    the command, its output and the case's description."""
    shutil.rmtree(target, ignore_errors=True)
    sizes = {case_id: case.size for case_id, case in cases.items()}
    groups = summary.by_signature()
    for index, (signature, outcome) in enumerate(summary.representatives(sizes).items(), 1):
        case = cases.get(outcome.run.case_id)
        if case is None:
            continue
        directory = target / f"{index:02d}-{_slug(signature)}"
        case.write(directory)
        (directory / "tmp").rmdir()
        if signature in shrunk:
            (directory / next(iter(case.files))).write_bytes(shrunk[signature])
        command = outcome.run.command
        description = json.loads(case_manifest(case))
        description.update(
            signature=signature,
            failing_runs=len(groups[signature]),
            failing_cases=sorted({o.run.case_id for o in groups[signature]})[:50],
            command={"name": command.name, "op": command.op, "argv": list(command.argv)},
            command_line=command.command_line(),
            user_command=command.user_command(),
            mode=outcome.run.mode,
            problems=outcome.problems,
            exit_code=outcome.exit_code,
            seconds=round(outcome.seconds, 2),
            cpu_seconds=round(outcome.cpu_seconds, 2),
            peak_mb=round(outcome.peak_mb, 1),
            escapes=outcome.escapes,
            shrunk=signature in shrunk,
            rebuild=f"python -m tests.fuzz --seed {summary.plan['seed']} --case {case.case_id}",
        )
        (directory / "case.json").write_text(json.dumps(description, indent=2) + "\n")
        (directory / "output.txt").write_text(outcome.output, errors="replace")
