"""Retry delays from a step's retry policy: none, linear, exponential or fibonacci backoff.

Tasker Core stores these settings but never applies them; tasker-ctl does. The delay before
attempt ``n + 1`` (after ``n`` failed attempts) is ``base * f(n)`` capped at ``max``, with
``f`` = 0 (none), ``n`` (linear), ``2**(n-1)`` (exponential) or ``fib(n)`` (fibonacci), plus
up to 10 % random jitter so that many failing steps do not retry in lockstep. A handler's
``retry_after`` (in error metadata) takes precedence.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

DEFAULT_BASE_MS = 1000
DEFAULT_MAX_MS = 30000
JITTER_FRACTION = 0.1


@dataclass(frozen=True)
class RetryPolicy:
    backoff: str = "exponential"
    base_ms: int = DEFAULT_BASE_MS
    max_ms: int = DEFAULT_MAX_MS


def _factor(backoff: str, failures: int) -> int:
    if backoff == "none" or failures <= 0:
        return 0
    if backoff == "linear":
        return failures
    if backoff == "fibonacci":
        previous, current = 0, 1
        for _ in range(failures - 1):
            previous, current = current, previous + current
        return current
    return int(2 ** min(failures - 1, 62))


def backoff_seconds(
    policy: RetryPolicy,
    failures: int,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before the next attempt, after ``failures`` failed attempts."""
    if retry_after is not None and retry_after >= 0:
        return float(retry_after)
    delay_ms = min(policy.base_ms * _factor(policy.backoff, failures), policy.max_ms)
    if delay_ms <= 0:
        return 0.0
    jitter = (rng or random).uniform(0, JITTER_FRACTION) * delay_ms
    return min(delay_ms + jitter, policy.max_ms) / 1000
