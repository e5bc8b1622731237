"""The pure rules of staleness: default thresholds, which state uses which, a template's policy,
and the action a stale task gets. The database side is in
tests/integration/engine/test_staleness.py."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasker_ctl.engine.errors import InvalidSweepOptionError
from tasker_ctl.engine.operator.staleness import exceeded_thresholds
from tasker_ctl.engine.rules.staleness import (
    DEFAULT_THRESHOLDS,
    STALENESS_ACTIONS,
    STATE_THRESHOLDS,
    StalenessPolicy,
    StalenessThresholds,
    ThresholdName,
    action_for,
    policy_from_lifecycle,
    timeout_action,
)
from tasker_ctl.engine.rules.states import TaskState
from tasker_ctl.template.model import LifecycleConfig
from tests.conftest import PROJECT_ROOT

STRENGTH = {"none": 0, "error": 1, "dlq": 2}
THRESHOLD_NAMES: tuple[ThresholdName, ...] = get_args(ThresholdName)

policies = st.builds(
    StalenessPolicy,
    staleness_action=st.sampled_from(STALENESS_ACTIONS),
    auto_fail_on_timeout=st.sampled_from([None, True, False]),
    auto_dlq_on_timeout=st.sampled_from([None, True, False]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


def test_the_defaults_are_tasker_cores() -> None:
    assert DEFAULT_THRESHOLDS.as_json() == {
        "max_waiting_for_dependencies_minutes": 60,
        "max_waiting_for_retry_minutes": 30,
        "max_steps_in_process_minutes": 30,
        "max_duration_minutes": 24 * 60,
    }


def test_the_thresholds_are_the_templates_lifecycle_settings() -> None:
    settings = {name for name in LifecycleConfig.model_fields if name.endswith("_minutes")}
    assert set(THRESHOLD_NAMES) == settings == set(DEFAULT_THRESHOLDS.as_json())


def test_every_running_state_has_a_threshold_and_a_blocked_task_none() -> None:
    running = {state for state in TaskState if not state.is_terminal}
    assert set(STATE_THRESHOLDS) == running - {TaskState.BLOCKED_BY_FAILURES}
    assert STATE_THRESHOLDS[TaskState.WAITING_FOR_RETRY] == "max_waiting_for_retry_minutes"
    assert (
        STATE_THRESHOLDS[TaskState.WAITING_FOR_DEPENDENCIES]
        == "max_waiting_for_dependencies_minutes"
    )
    assert STATE_THRESHOLDS[TaskState.STEPS_IN_PROCESS] == "max_steps_in_process_minutes"
    assert "max_duration_minutes" not in STATE_THRESHOLDS.values()


def test_docs_table_of_defaults_matches_the_code() -> None:
    page = (PROJECT_ROOT / "docs" / "dlq.md").read_text(encoding="utf-8")
    for name, minutes in DEFAULT_THRESHOLDS.as_json().items():
        row = re.search(rf"^\| `{name}` \| (\d+) \|", page, re.MULTILINE)
        assert row is not None, f"docs/dlq.md has no table row for {name}"
        assert int(row[1]) == minutes, name


@pytest.mark.parametrize("value", [-1, 1.5, "30", True, None])
def test_a_threshold_must_be_a_whole_number_of_minutes(value: Any) -> None:
    with pytest.raises(InvalidSweepOptionError, match="max_waiting_for_retry_minutes"):
        StalenessThresholds(max_waiting_for_retry_minutes=value)


def test_zero_is_a_valid_threshold() -> None:
    assert StalenessThresholds(max_duration_minutes=0).max_duration_minutes == 0


@given(policies)
def test_without_flags_a_timeout_gets_the_staleness_action(policy: StalenessPolicy) -> None:
    plain = StalenessPolicy(policy.staleness_action)
    assert timeout_action(plain) == policy.staleness_action


@given(policies)
def test_the_timeout_flags_say_what_they_mean(policy: StalenessPolicy) -> None:
    action = timeout_action(policy)
    if policy.auto_dlq_on_timeout is True:
        assert action == "dlq"  # a DLQ entry comes with the failure, whatever auto_fail says
    if policy.auto_dlq_on_timeout is False:
        assert action != "dlq"
    if policy.auto_fail_on_timeout is True:
        assert action != "none"
    if policy.auto_fail_on_timeout is False and policy.auto_dlq_on_timeout is not True:
        assert action == "none"


@given(policies, st.lists(st.sampled_from(THRESHOLD_NAMES), max_size=4))
def test_the_strongest_action_wins(policy: StalenessPolicy, names: list[ThresholdName]) -> None:
    action = action_for(names, policy)
    each = [action_for([name], policy) for name in names]
    assert STRENGTH[action] == max((STRENGTH[a] for a in each), default=0)
    # one more exceeded threshold never makes the action weaker
    for extra in THRESHOLD_NAMES:
        assert STRENGTH[action_for([*names, extra], policy)] >= STRENGTH[action]


def test_state_thresholds_take_the_staleness_action() -> None:
    policy = StalenessPolicy("error", auto_fail_on_timeout=False, auto_dlq_on_timeout=True)
    assert action_for(["max_steps_in_process_minutes"], policy) == "error"
    assert action_for(["max_duration_minutes"], policy) == "dlq"
    assert action_for([], policy) == "none"


@given(json_values)
def test_any_registered_lifecycle_gives_a_policy(lifecycle: Any) -> None:
    policy, notes = policy_from_lifecycle(lifecycle)
    assert policy.staleness_action in STALENESS_ACTIONS
    assert policy.auto_fail_on_timeout in (None, True, False)
    assert policy.auto_dlq_on_timeout in (None, True, False)
    assert all(isinstance(note, str) for note in notes)


@given(
    st.builds(
        LifecycleConfig,
        staleness_action=st.sampled_from(STALENESS_ACTIONS),
        auto_fail_on_timeout=st.sampled_from([None, True, False]),
        auto_dlq_on_timeout=st.sampled_from([None, True, False]),
    )
)
def test_a_validated_lifecycle_is_read_as_written(config: LifecycleConfig) -> None:
    policy, notes = policy_from_lifecycle(config.model_dump(mode="json"))
    assert notes == []
    assert policy == StalenessPolicy(
        config.staleness_action, config.auto_fail_on_timeout, config.auto_dlq_on_timeout
    )


def test_a_template_without_lifecycle_gets_the_default_policy() -> None:
    assert policy_from_lifecycle(None) == (StalenessPolicy("dlq"), [])


def _measured(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "state_threshold": "max_steps_in_process_minutes",
        "state_limit_minutes": 30,
        "state_limit_from_template": False,
        "progress_seconds": Decimal("1800"),
        "duration_limit_minutes": 1440,
        "duration_limit_from_template": True,
        "age_seconds": Decimal("1800"),
    }
    row.update(overrides)
    return row


@given(
    st.integers(min_value=0, max_value=10**6),
    st.decimals(min_value=0, max_value=10**8, places=6, allow_nan=False),
    st.none() | st.integers(min_value=1, max_value=10**6),
)
def test_a_threshold_is_exceeded_when_the_age_is_past_it(
    age_limit: int, seconds: Decimal, state_limit: int | None
) -> None:
    found = exceeded_thresholds(
        _measured(
            state_limit_minutes=state_limit,
            progress_seconds=seconds,
            duration_limit_minutes=age_limit or None,
            age_seconds=seconds,
        )
    )
    names = [threshold.name for threshold in found]
    assert ("max_steps_in_process_minutes" in names) == (
        state_limit is not None and seconds > state_limit * 60
    )
    assert ("max_duration_minutes" in names) == (bool(age_limit) and seconds > age_limit * 60)


def test_an_exceeded_threshold_says_where_its_limit_and_age_come_from() -> None:
    (state, lifetime) = exceeded_thresholds(
        _measured(progress_seconds=Decimal("1800.5"), age_seconds=Decimal("86401"))
    )
    assert (state.source, state.measured_from, state.measured_minutes) == (
        "default",
        "last_progress",
        30.01,
    )
    assert (lifetime.source, lifetime.measured_from, lifetime.limit_minutes) == (
        "template",
        "created",
        1440,
    )
    assert exceeded_thresholds(_measured()) == []  # exactly at the limit is not past it
