"""How many steps a worker claims at once: one until it has timed a handler, then as many
as its recent handler times fit in the batch window."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tasker_ctl.engine.worker.loop import Worker, WorkerOptions
from tasker_ctl.sdk.registry import HandlerRegistry

URL = "postgresql://unused/unused"  # a worker connects only when it runs


def worker(**options: object) -> Worker:
    return Worker(URL, HandlerRegistry(), WorkerOptions(**options))  # type: ignore[arg-type]


def test_one_step_until_a_handler_was_timed() -> None:
    assert worker()._batch_size() == 1


def test_quick_handlers_fill_the_window_up_to_the_claim_batch() -> None:
    quick = worker(claim_batch=16, batch_window=0.02)
    quick._timed(0.0001)
    assert quick._batch_size() == 16
    moderate = worker(claim_batch=16, batch_window=0.02)
    moderate._timed(0.005)
    assert moderate._batch_size() == 4


def test_slow_handlers_and_a_batch_of_one_claim_one_step() -> None:
    slow = worker(batch_window=0.02)
    slow._timed(0.5)
    assert slow._batch_size() == 1
    single = worker(claim_batch=1)
    single._timed(0.0001)
    assert single._batch_size() == 1


def test_a_slow_handler_shrinks_the_next_batch_at_once() -> None:
    shifting = worker(claim_batch=16, batch_window=0.02)
    for _ in range(20):
        shifting._timed(0.0001)
    shifting._timed(1.0)  # one handler of a second: the average is far past the window
    assert shifting._batch_size() == 1


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
        timed._timed(seconds)
    assert 1 <= timed._batch_size() <= most
