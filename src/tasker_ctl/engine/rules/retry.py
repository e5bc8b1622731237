"""Retry delays from a step's retry policy: none, linear, exponential or fibonacci backoff.

Tasker Core stores these settings but never applies them; tasker-ctl does. The delay before
attempt ``n + 1`` (after ``n`` failed attempts) is ``base * f(n)`` capped at ``max``, with
``f`` = 0 (none), ``n`` (linear), ``2**(n-1)`` (exponential) or ``fib(n)`` (fibonacci:
1, 1, 2, 3, 5, ...), plus up to 10 % random jitter (never past ``max``) so that many failing
steps do not retry in lockstep. A handler's ``retry_after`` (seconds, from
``RetryableError(retry_after=...)`` or failure metadata) replaces the computed delay, capped
at ``max`` as Tasker Core caps a ``Retry-After`` header.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tasker_ctl.template.model import RetryPolicy as TemplateRetryPolicy

DEFAULT_BASE_MS = 1000
DEFAULT_MAX_MS = 30000
JITTER_FRACTION = 0.1
BACKOFF_STRATEGIES = ("none", "linear", "exponential", "fibonacci")


@dataclass(frozen=True)
class RetryPolicy:
    backoff: str = "exponential"
    base_ms: int = DEFAULT_BASE_MS
    max_ms: int = DEFAULT_MAX_MS

    @classmethod
    def from_template(cls, retry: TemplateRetryPolicy) -> RetryPolicy:
        """The policy of a template step's ``retry`` block; unset values take the defaults."""
        return cls(
            backoff=retry.backoff.value,
            base_ms=retry.backoff_base_ms if retry.backoff_base_ms is not None else DEFAULT_BASE_MS,
            max_ms=retry.max_backoff_ms if retry.max_backoff_ms is not None else DEFAULT_MAX_MS,
        )


def backoff_factor(backoff: str, failures: int, *, limit: int | None = None) -> int:
    """``f(failures)`` of the strategy: how many base delays to wait.

    With ``limit``, the answer is ``min(f(failures), limit)``, computed without building
    huge numbers for a step that failed very many times.
    """
    if backoff not in BACKOFF_STRATEGIES:
        raise ValueError(f"unknown backoff strategy {backoff!r}")
    if backoff == "none" or failures <= 0:
        return 0
    if backoff == "linear":
        factor = failures
    elif backoff == "fibonacci":
        previous, factor = 0, 1
        for _ in range(failures - 1):
            if limit is not None and factor >= limit:
                break
            previous, factor = factor, previous + factor
    else:
        factor = 2 ** min(failures - 1, 64)
    return factor if limit is None else min(factor, limit)


def backoff_seconds(
    policy: RetryPolicy,
    failures: int,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before the next attempt, after ``failures`` failed attempts."""
    if retry_after is not None and retry_after >= 0:
        return min(float(retry_after), policy.max_ms / 1000)
    if policy.base_ms <= 0 or policy.max_ms <= 0:
        return 0.0
    limit = -(-policy.max_ms // policy.base_ms)  # enough base delays to reach the cap
    delay_ms = min(
        policy.base_ms * backoff_factor(policy.backoff, failures, limit=limit), policy.max_ms
    )
    if delay_ms <= 0:
        return 0.0
    jitter = (rng or random).uniform(0, JITTER_FRACTION) * delay_ms
    return min(delay_ms + jitter, policy.max_ms) / 1000
