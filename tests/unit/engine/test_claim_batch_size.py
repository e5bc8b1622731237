"""How many steps a worker claims at once: one until it has timed a handler, then as many
as its recent handler times fit in the batch window."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tasker_ctl.engine.worker.claiming import Claims
from tasker_ctl.engine.worker.options import WorkerOptions

URL = "postgresql://unused/unused"  # the heartbeat connects only once it holds a lease


def worker(**options: object) -> Claims:
    """A worker's claims, under ``options``."""
    return Claims(URL, WorkerOptions(**options))  # type: ignore[arg-type]


def test_one_step_until_a_handler_was_timed() -> None:
    assert worker().batch_size() == 1


def test_quick_handlers_fill_the_window_up_to_the_claim_batch() -> None:
    quick = worker(claim_batch=16, batch_window=0.02)
    quick.timed(0.0001)
    assert quick.batch_size() == 16
    moderate = worker(claim_batch=16, batch_window=0.02)
    moderate.timed(0.005)
    assert moderate.batch_size() == 4


def test_slow_handlers_and_a_batch_of_one_claim_one_step() -> None:
    slow = worker(batch_window=0.02)
    slow.timed(0.5)
    assert slow.batch_size() == 1
    single = worker(claim_batch=1)
    single.timed(0.0001)
    assert single.batch_size() == 1


def test_a_slow_handler_shrinks_the_next_batch_at_once() -> None:
    shifting = worker(claim_batch=16, batch_window=0.02)
    for _ in range(20):
        shifting.timed(0.0001)
    shifting.timed(1.0)  # one handler of a second: the average is far past the window
    assert shifting.batch_size() == 1


@given(
    times=st.lists(st.floats(min_value=0, max_value=60), min_size=1, max_size=30),
    most=st.integers(min_value=1, max_value=64),
    window=st.floats(min_value=0.001, max_value=1),
)
def test_the_batch_size_stays_between_one_and_the_claim_batch(
    times: list[float], most: int, window: float
) -> None:
    timed = worker(claim_batch=most, batch_window=window)
    for seconds in times:
        timed.timed(seconds)
    assert 1 <= timed.batch_size() <= most
