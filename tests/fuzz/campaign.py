"""A fuzz campaign: build the cases, run their commands, keep the failures and their figures."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.fuzz.cases import KINDS, Case, Command, parse_case_id
from tests.fuzz.generator import CaseSource
from tests.fuzz.report import Summary, write_reproducers
from tests.fuzz.runner import Limits, Outcome, Run, execute
from tests.fuzz.shrink import shrink_case


@dataclass(frozen=True)
class Plan:
    templates: int
    compositions: int
    contexts: int
    seed: int
    jobs: int
    out: Path
    limits: Limits = field(default_factory=Limits)
    process_every: int = 50  # every Nth case of each kind also runs as a real tasker-ctl
    shrink_seconds: float = 60.0  # per failure signature; 0: keep the smallest case as it is
    only: tuple[str, ...] = ()  # case ids (template-12): run just these
    keep_cases: bool = False

    def case_ids(self) -> list[tuple[str, int]]:
        if self.only:
            return [parse_case_id(case_id) for case_id in self.only]
        counts = {"template": self.templates, "composition": self.compositions}
        counts["context"] = self.contexts
        return [(kind, number) for kind in KINDS for number in range(counts[kind])]


class _Workspace:
    """Case directories, deleted once every run of a case passed."""

    def __init__(self, root: Path, keep: bool) -> None:
        self.root = root
        self.keep = keep
        self.cases: dict[str, Case] = {}
        self.remaining: dict[str, int] = {}
        self.failed: set[str] = set()

    def directory(self, case_id: str) -> Path:
        return self.root / case_id

    def add(self, case: Case, runs: int) -> Path:
        self.cases[case.case_id] = case
        self.remaining[case.case_id] = runs
        return self.directory(case.case_id)

    def failed_cases(self) -> dict[str, Case]:
        """The cases kept on disk, with their files read back."""
        return {
            case_id: case.loaded(self.directory(case_id)) for case_id, case in self.cases.items()
        }

    def finished(self, outcome: Outcome) -> None:
        case_id = outcome.run.case_id
        if outcome.failed:
            self.failed.add(case_id)
        self.remaining[case_id] -= 1
        if self.remaining[case_id] == 0 and case_id not in self.failed:
            del self.cases[case_id]
            if not self.keep:
                shutil.rmtree(self.directory(case_id), ignore_errors=True)


def _runs(plan: Plan, source: CaseSource, workspace: _Workspace) -> Iterator[Run | None]:
    """The runs of each case as the builder delivers it; None while it has none ready."""
    while not source.finished:
        case = source.poll()
        if case is None:
            if not source.finished:
                yield None
            continue
        sampled = _sampled(plan, case.case_id)
        runs = [(command, "fork") for command in case.commands]
        if sampled:
            runs += [(command, "process") for command in case.commands if command.op == "cli"]
        directory = workspace.add(case, len(runs))
        for command, mode in runs:
            yield Run(case.case_id, command, directory, mode)


def _compare_modes(first: Outcome, second: Outcome) -> None:
    """A real tasker-ctl must end as the forked run of the same command did."""
    forked, process = (first, second) if first.run.mode == "fork" else (second, first)
    if forked.timed_out or process.timed_out or forked.exit_code == process.exit_code:
        return
    process.problems.append("mismatch")
    process.signature = (
        f"{process.run.command.name} | mismatch: forked exit {forked.exit_code}, "
        f"tasker-ctl exit {process.exit_code}"
    )


def run_campaign(plan: Plan, progress: Callable[[str], None] | None = None) -> Summary:
    say = progress or (lambda line: None)
    started = time.monotonic()
    plan.out.mkdir(parents=True, exist_ok=True)
    workspace = _Workspace(plan.out / "cases", plan.keep_cases)
    source = CaseSource(plan.case_ids(), plan.seed, workspace.root)
    summary = Summary.start(plan_figures(plan), source.seeds, plan.limits)
    twins: dict[tuple[str, Command], Outcome] = {}  # sampled runs waiting for their twin
    say(f"seeds: {source.seeds}; writing to {plan.out}")
    runs = _runs(plan, source, workspace)
    outcomes = execute(runs, jobs=plan.jobs, limits=plan.limits, wake_fd=source.fd)
    for index, outcome in enumerate(outcomes, 1):
        if outcome.run.command.op == "cli" and _sampled(plan, outcome.run.case_id):
            key = (outcome.run.case_id, outcome.run.command)
            twin = twins.pop(key, None)
            if twin is None:
                twins[key] = outcome
            else:
                _compare_modes(twin, outcome)
        workspace.finished(outcome)
        summary.add(outcome)
        if outcome.failed:
            say(f"FAIL {outcome.run.case_id} {outcome.run.mode}: {outcome.signature}")
        if index % 500 == 0:
            elapsed = time.monotonic() - started
            say(f"{index} runs, {summary.failure_count()} failures, {elapsed:.0f} s")
    source.close()
    summary.seconds = time.monotonic() - started
    shrunk: dict[str, bytes] = {}
    failed = workspace.failed_cases()
    sizes = {case_id: case.size for case_id, case in failed.items()}
    if plan.shrink_seconds > 0:
        for signature, outcome in summary.representatives(sizes).items():
            case = failed.get(outcome.run.case_id)
            if case is not None and outcome.run.mode == "fork":
                say(f"shrinking {outcome.run.case_id} ({signature})")
                shrunk[signature] = shrink_case(case, outcome, plan.limits, plan.shrink_seconds)
    write_reproducers(summary, failed, plan.out / "reproducers", shrunk)
    summary.write(plan.out)
    return summary


def plan_figures(plan: Plan) -> dict[str, object]:
    return {
        "templates": plan.templates,
        "compositions": plan.compositions,
        "contexts": plan.contexts,
        "seed": plan.seed,
        "jobs": plan.jobs,
        "process_every": plan.process_every,
        "only": list(plan.only),
        "python": sys.version.split()[0],
    }


def _sampled(plan: Plan, case_id: str) -> bool:
    return plan.process_every > 0 and int(case_id.rpartition("-")[2]) % plan.process_every == 0
