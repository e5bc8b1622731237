"""The transition tables of ``states.py``: their shape, and the engine's lifecycle over them.

``StepLifecycle`` is a hypothesis state machine that drives a few steps of a task through the
operations the engine performs (enqueue, claim, complete, fail, lose a lease, block, cancel,
resolve), moving states exactly as the engine's SQL functions do, and checks that every move
is a transition the tables allow. ``TableWalk`` wanders the tables at random and checks that
terminal states are traps and that a way out always exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tasker_ctl.engine.rules.states import (
    STEP_TRANSITIONS,
    TASK_TRANSITIONS,
    TERMINAL_STEP_STATES,
    TERMINAL_TASK_STATES,
    StepState,
    TaskState,
    can_transition_step,
    can_transition_task,
)

S, T = StepState, TaskState


def _targets(table: Mapping[Any, str], source: object) -> list[Any]:
    return sorted((to for (frm, to) in table if frm == source), key=str)


def _reachable(table: Mapping[Any, str], start: object) -> set[object]:
    seen, frontier = {start}, [start]
    while frontier:
        for target in _targets(table, frontier.pop()):
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


@pytest.mark.parametrize(
    ("table", "states", "terminal"),
    [
        (TASK_TRANSITIONS, list(TaskState), TERMINAL_TASK_STATES),
        (STEP_TRANSITIONS, list(StepState), TERMINAL_STEP_STATES),
    ],
)
def test_table_shape(
    table: Mapping[Any, str], states: list[object], terminal: frozenset[object]
) -> None:
    # the only initial transition creates the entity as pending
    assert _targets(table, None) == ["pending"]
    # every state is reachable, terminal states are traps, and every other state can end
    assert _reachable(table, None) == {None, *states}
    for state in states:
        if state in terminal:
            assert _targets(table, state) == [], state
        else:
            assert _reachable(table, state) & terminal, state
    # events are named, never "Invalid"
    assert all(event and event != "Invalid" for event in table.values())


def test_the_two_additions_to_tasker_core() -> None:
    assert STEP_TRANSITIONS[(S.WAITING_FOR_RETRY, S.ENQUEUED)] == "RetryReady"
    assert TASK_TRANSITIONS[(T.BLOCKED_BY_FAILURES, T.EVALUATING_RESULTS)] == "StepRepaired"
    # the task stays in steps_in_process while work goes on: no shortcut back to it
    assert not can_transition_task(T.EVALUATING_RESULTS, T.STEPS_IN_PROCESS)


@dataclass
class Step:
    state: StepState
    attempts: int
    max_attempts: int
    retryable: bool
    claimable: bool = False


class StepLifecycle(RuleBasedStateMachine):
    """A task's steps under the engine's operations; every move must be in the tables."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[Step] = []
        self.task = T.PENDING
        self.task_path: list[TaskState] = []

    def _step(self, index: int, target: StepState) -> None:
        step = self.steps[index % len(self.steps)]
        assert can_transition_step(step.state, target), (step.state, target)
        step.state = target

    def _task(self, target: TaskState) -> None:
        assert can_transition_task(self.task, target), (self.task, target)
        self.task = target
        self.task_path.append(target)

    def _settle(self, target: TaskState) -> None:
        """tasker.settle_task: through evaluating_results to a resting state."""
        if self.task == target or self.task.is_terminal:
            return
        if self.task != T.EVALUATING_RESULTS:
            self._task(T.EVALUATING_RESULTS)
        self._task(target)

    def _running(self) -> bool:
        return not self.task.is_terminal and self.task != T.BLOCKED_BY_FAILURES

    def _pick(self, index: int, *states: StepState) -> int | None:
        matching = [i for i, step in enumerate(self.steps) if step.state in states]
        return matching[index % len(matching)] if matching else None

    @initialize(plan=st.lists(st.tuples(st.integers(0, 4), st.booleans()), min_size=1, max_size=5))
    def submit(self, plan: list[tuple[int, bool]]) -> None:
        """tasker-ctl submission: the task and its steps, then the roots are enqueued."""
        self.task_path = [T.PENDING]
        assert can_transition_task(None, T.PENDING)
        self._task(T.INITIALIZING)
        for max_attempts, retryable in plan:
            assert can_transition_step(None, S.PENDING)
            self.steps.append(Step(S.PENDING, 0, max_attempts, retryable))
        self._task(T.ENQUEUING_STEPS)
        self._step(0, S.ENQUEUED)
        self.steps[0].claimable = True
        self._task(T.STEPS_IN_PROCESS)

    @precondition(lambda self: self._running())
    @rule(index=st.integers(0, 10))
    def enqueue_ready_child(self, index: int) -> None:
        chosen = self._pick(index, S.PENDING)
        if chosen is not None:
            self._step(chosen, S.ENQUEUED)
            self.steps[chosen].claimable = True

    @rule(index=st.integers(0, 10))
    def claim(self, index: int) -> None:
        chosen = self._pick(index, S.ENQUEUED, S.WAITING_FOR_RETRY)
        if chosen is None or not self.steps[chosen].claimable:
            return
        if self.steps[chosen].state == S.WAITING_FOR_RETRY:
            self._step(chosen, S.ENQUEUED)
        self._step(chosen, S.IN_PROGRESS)
        self.steps[chosen].attempts += 1
        # a running step comes back only through `fail(lost_lease=True)`
        self.steps[chosen].claimable = False

    @rule(index=st.integers(0, 10))
    def complete(self, index: int) -> None:
        chosen = self._pick(index, S.IN_PROGRESS)
        if chosen is None:
            return
        self._step(chosen, S.COMPLETE)
        self.steps[chosen].claimable = False
        if all(step.state == S.COMPLETE for step in self.steps) and (
            self.task == T.STEPS_IN_PROCESS
        ):
            self._settle(T.COMPLETE)

    @rule(index=st.integers(0, 10), retryable=st.booleans(), lost_lease=st.booleans())
    def fail(self, index: int, retryable: bool, lost_lease: bool) -> None:
        """tasker.fail_step, or tasker.release_lost_attempt when the lease ran out."""
        chosen = self._pick(index, S.IN_PROGRESS)
        if chosen is None:
            return
        step = self.steps[chosen]
        retryable = retryable or lost_lease
        if retryable and step.retryable and step.attempts < step.max_attempts:
            self._step(chosen, S.WAITING_FOR_RETRY)
            step.claimable = self._running()
            return
        self._step(chosen, S.ERROR)
        step.claimable = False
        for other in self.steps:
            if other.state in (S.ENQUEUED, S.WAITING_FOR_RETRY):
                other.claimable = False
        self._settle(T.BLOCKED_BY_FAILURES)

    @precondition(lambda self: self.task == T.BLOCKED_BY_FAILURES)
    @rule(give_up=st.booleans())
    def end_blocked_task(self, give_up: bool) -> None:
        self._task(T.ERROR if give_up else T.RESOLVED_MANUALLY)

    @precondition(lambda self: not self.task.is_terminal)
    @rule()
    def cancel(self) -> None:
        for index, step in enumerate(self.steps):
            if not step.state.is_terminal:
                self._step(index, S.CANCELLED)
            step.claimable = False
        self._task(T.CANCELLED)

    @rule(index=st.integers(0, 10), to_complete=st.booleans())
    def operator_resolves_a_step(self, index: int, to_complete: bool) -> None:
        chosen = self._pick(
            index,
            *(s for s in StepState if s not in (S.COMPLETE, S.CANCELLED, S.RESOLVED_MANUALLY)),
        )
        if chosen is not None:
            self._step(chosen, S.COMPLETE if to_complete else S.RESOLVED_MANUALLY)
            self.steps[chosen].claimable = False

    @invariant()
    def attempts_within_bounds(self) -> None:
        for step in self.steps:
            # the first attempt is always eligible, even with max_attempts 0
            assert step.attempts <= max(step.max_attempts, 1)

    @invariant()
    def blocked_tasks_start_nothing(self) -> None:
        if not self._running():
            assert not any(step.claimable for step in self.steps)

    @invariant()
    def the_task_path_starts_as_submitted(self) -> None:
        if self.task_path:
            assert (
                self.task_path[:4]
                == [
                    T.PENDING,
                    T.INITIALIZING,
                    T.ENQUEUING_STEPS,
                    T.STEPS_IN_PROCESS,
                ][: len(self.task_path[:4])]
            )


class TableWalk(RuleBasedStateMachine):
    """Random walks over both tables: legal moves only, and terminal states are traps."""

    def __init__(self) -> None:
        super().__init__()
        self.task: TaskState = T.PENDING
        self.step: StepState = S.PENDING

    @rule(data=st.data())
    def move_task(self, data: st.DataObject) -> None:
        targets = _targets(TASK_TRANSITIONS, self.task)
        if not targets:
            assert self.task in TERMINAL_TASK_STATES
            return
        target = data.draw(st.sampled_from(targets))
        assert isinstance(target, TaskState)
        self.task = target

    @rule(data=st.data())
    def move_step(self, data: st.DataObject) -> None:
        targets = _targets(STEP_TRANSITIONS, self.step)
        if not targets:
            assert self.step in TERMINAL_STEP_STATES
            return
        target = data.draw(st.sampled_from(targets))
        assert isinstance(target, StepState)
        self.step = target

    @rule(task=st.sampled_from(list(TaskState)), step=st.sampled_from(list(StepState)))
    def other_moves_are_refused(self, task: TaskState, step: StepState) -> None:
        assert can_transition_task(self.task, task) == ((self.task, task) in TASK_TRANSITIONS)
        assert can_transition_step(self.step, step) == ((self.step, step) in STEP_TRANSITIONS)
        if self.task.is_terminal:
            assert not can_transition_task(self.task, task)
        if self.step.is_terminal:
            assert not can_transition_step(self.step, step)


TestStepLifecycle = StepLifecycle.TestCase
TestStepLifecycle.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestTableWalk = TableWalk.TestCase
TestTableWalk.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
