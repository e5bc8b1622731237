"""Backoff policies: none, linear, exponential and fibonacci, jitter, caps and Retry-After."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasker_ctl.engine.rules.retry import (
    BACKOFF_STRATEGIES,
    DEFAULT_BASE_MS,
    DEFAULT_MAX_MS,
    JITTER_FRACTION,
    RetryPolicy,
    backoff_factor,
    backoff_seconds,
)
from tasker_ctl.template.model import RetryPolicy as TemplateRetryPolicy


class FixedJitter(random.Random):
    """An rng whose jitter is always the low (``0``) or high (``1``) end of its range."""

    def __init__(self, end: int) -> None:
        super().__init__(0)
        self.end = end

    def uniform(self, a: float, b: float) -> float:
        return b if self.end else a


NO_JITTER = FixedJitter(0)
FULL_JITTER = FixedJitter(1)

strategies = st.sampled_from(BACKOFF_STRATEGIES)
policies = st.builds(
    RetryPolicy,
    backoff=strategies,
    base_ms=st.integers(0, 10_000),
    max_ms=st.integers(0, 600_000),
)
failures = st.integers(0, 200)


def _fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


@pytest.mark.parametrize(
    ("backoff", "expected"),
    [
        ("none", [0, 0, 0, 0, 0, 0]),
        ("linear", [1, 2, 3, 4, 5, 6]),
        ("exponential", [1, 2, 4, 8, 16, 32]),
        ("fibonacci", [1, 1, 2, 3, 5, 8]),
    ],
)
def test_factors(backoff: str, expected: list[int]) -> None:
    assert [backoff_factor(backoff, n) for n in range(1, 7)] == expected
    assert backoff_factor(backoff, 0) == 0


@pytest.mark.parametrize(
    ("backoff", "expected"),
    [
        ("none", [0.0, 0.0, 0.0]),
        ("linear", [0.1, 0.2, 0.3]),
        ("exponential", [0.1, 0.2, 0.4]),
        ("fibonacci", [0.1, 0.1, 0.2]),
    ],
)
def test_seconds_without_jitter(backoff: str, expected: list[float]) -> None:
    policy = RetryPolicy(backoff=backoff, base_ms=100, max_ms=10_000)
    assert [backoff_seconds(policy, n, rng=NO_JITTER) for n in (1, 2, 3)] == expected


def test_unknown_strategy() -> None:
    with pytest.raises(ValueError, match="unknown backoff strategy 'random'"):
        backoff_factor("random", 1)


@given(strategies, st.integers(1, 300))
def test_fibonacci_and_exponential_closed_forms(backoff: str, n: int) -> None:
    closed = {"none": 0, "linear": n, "exponential": 2 ** min(n - 1, 64), "fibonacci": _fib(n)}
    assert backoff_factor(backoff, n) == closed[backoff]


@given(strategies, st.integers(0, 500), st.integers(1, 10**6))
def test_limited_factor_is_the_capped_factor(backoff: str, n: int, limit: int) -> None:
    assert backoff_factor(backoff, n, limit=limit) == min(backoff_factor(backoff, n), limit)


@given(policies, failures)
def test_delay_is_the_policy_formula_plus_bounded_jitter(policy: RetryPolicy, n: int) -> None:
    low = backoff_seconds(policy, n, rng=NO_JITTER)
    high = backoff_seconds(policy, n, rng=FULL_JITTER)
    expected = min(policy.base_ms * backoff_factor(policy.backoff, n), policy.max_ms) / 1000
    assert low == pytest.approx(expected)
    assert low <= high <= max(policy.max_ms, 0) / 1000 + 1e-9
    assert high <= low * (1 + JITTER_FRACTION) + 1e-9
    assert low <= backoff_seconds(policy, n) <= high  # the real rng stays within the bounds


@given(policies, failures)
def test_delays_never_shrink_as_failures_grow(policy: RetryPolicy, n: int) -> None:
    assert backoff_seconds(policy, n, rng=NO_JITTER) <= backoff_seconds(
        policy, n + 1, rng=NO_JITTER
    )


@given(policies, st.integers(-5, 0))
def test_nothing_failed_means_no_wait(policy: RetryPolicy, n: int) -> None:
    assert backoff_seconds(policy, n, rng=FULL_JITTER) == 0.0


@given(policies, failures, st.floats(0, 10_000, allow_nan=False))
def test_retry_after_replaces_the_delay_up_to_the_cap(
    policy: RetryPolicy, n: int, retry_after: float
) -> None:
    seconds = backoff_seconds(policy, n, retry_after=retry_after, rng=FULL_JITTER)
    assert seconds == min(retry_after, policy.max_ms / 1000)


def test_negative_retry_after_is_ignored() -> None:
    policy = RetryPolicy(backoff="linear", base_ms=1000, max_ms=5000)
    assert backoff_seconds(policy, 2, retry_after=-1, rng=NO_JITTER) == 2.0


def test_policy_from_template_fills_defaults() -> None:
    bare = RetryPolicy.from_template(TemplateRetryPolicy())
    assert bare == RetryPolicy("exponential", DEFAULT_BASE_MS, DEFAULT_MAX_MS)
    given_values = TemplateRetryPolicy.model_validate(
        {"backoff": "fibonacci", "backoff_base_ms": 250, "max_backoff_ms": 4000}
    )
    assert RetryPolicy.from_template(given_values) == RetryPolicy("fibonacci", 250, 4000)
