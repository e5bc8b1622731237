"""The jq sandbox: results, limits, denied builtins and the evaluator processes."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tasker_ctl.grammar.errors import GrammarError
from tasker_ctl.grammar.expressions import (
    ExpressionError,
    ExpressionErrorKind,
    ExpressionLimits,
    check_syntax,
    evaluate,
    evaluate_all,
    is_truthy,
    shutdown_sandboxes,
)
from tasker_ctl.grammar.expressions._prelude import DENIED_FUNCTIONS
from tasker_ctl.grammar.expressions._sandbox import worker_pids

Kind = ExpressionErrorKind


def _error(
    expression: str, value: object = None, limits: ExpressionLimits | None = None
) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        evaluate(expression, value, limits)
    return caught.value


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


@pytest.fixture
def fresh_pool() -> Iterator[None]:
    shutdown_sandboxes()
    yield
    shutdown_sandboxes()


# results


@pytest.mark.parametrize(
    ("expression", "value", "expected"),
    [
        ("1 + 1", None, 2),
        (".a * 2", {"a": 2.5}, 5),
        (".prev.total", {"prev": {"total": 12.75}}, 12.75),
        ("[.[] | select(. > 1)]", [1, 2, 3], [2, 3]),
        (
            '{name: .n, tags: ["a", "b"]}',
            {"n": "Zoë ☃\u2028"},
            {"name": "Zoë ☃\u2028", "tags": ["a", "b"]},
        ),
        (".missing", {}, None),
        ("false", None, False),
        ("map(.x) | add", [{"x": 1}, {"x": 2}], 3),
        ("[limit(3; repeat(1))]", None, [1, 1, 1]),
    ],
)
def test_evaluate_returns_the_first_output(
    expression: str, value: object, expected: object
) -> None:
    assert evaluate(expression, value) == expected


def test_integral_numbers_come_back_as_ints() -> None:
    for expression in ("2.5 * 2", "1.0", ".a", "10 / 2"):
        result = evaluate(expression, {"a": 3.0})
        assert isinstance(result, int), expression
    assert evaluate("1 / 4", None) == 0.25


def test_evaluate_does_not_compute_later_outputs() -> None:
    assert evaluate('1, error("never computed")', None) == 1
    assert evaluate("range(1e12)", None) == 0


def test_evaluate_all_returns_every_output_in_order() -> None:
    assert evaluate_all(".[] | .id", [{"id": 1}, {"id": 2}, {"id": 3}]) == [1, 2, 3]
    assert evaluate_all("empty", None) == []
    assert evaluate_all(".", {"a": [1, {"b": None}]}) == [{"a": [1, {"b": None}]}]


def test_large_inputs_are_fine_with_a_matching_time_limit() -> None:
    value = {"rows": [{"id": i, "name": f"row {i}"} for i in range(50_000)]}
    limits = ExpressionLimits(timeout_ms=10_000)
    assert evaluate(".rows | length", value, limits) == 50_000


def test_input_that_is_not_json_is_an_evaluation_error() -> None:
    assert _error(".", {"when": object()}).kind is Kind.EVALUATION
    assert _error(".", float("nan")).kind is Kind.EVALUATION


@pytest.mark.parametrize(
    ("value", "truthy"),
    [(None, False), (False, False), (True, True), (0, True), ("", True), ([], True), ({}, True)],
)
def test_is_truthy_follows_jq(value: object, truthy: bool) -> None:
    assert is_truthy(value) is truthy
    assert evaluate("if . then true else false end", value) is truthy


# errors


def test_expression_error_is_a_grammar_error_with_a_code() -> None:
    error = _error('error("boom")')
    assert isinstance(error, GrammarError)
    assert error.code == "EXPRESSION_ERROR"
    assert (error.kind, error.message) == (Kind.EVALUATION, "boom")


def test_runtime_errors_carry_jqs_message() -> None:
    error = _error(".a.b", {"a": 1})
    assert error.kind is Kind.EVALUATION
    assert "Cannot index number" in error.message


@pytest.mark.parametrize(
    ("expression", "line", "column"),
    [
        (".a |", 1, 4),
        (".a\n| foo(1)", 2, 3),
        ("{a: 1,\n  b: }", 2, 6),
        ("  # note\n  .a | (", 2, 8),
    ],
)
def test_syntax_errors_point_into_the_authors_text(expression: str, line: int, column: int) -> None:
    static = check_syntax(expression)
    assert static is not None
    assert (static.kind, static.line, static.column) == (Kind.SYNTAX, line, column)
    assert f"line {line}, column {column}" in static.message
    assert "<top-level>" not in static.message
    at_run_time = _error(expression)
    assert (at_run_time.kind, at_run_time.line, at_run_time.column) == (Kind.SYNTAX, line, column)


def test_check_syntax_accepts_valid_expressions_and_rejects_empty_ones() -> None:
    assert check_syntax(".prev as $p | {total: ($p.items | map(.n) | add)}") is None
    assert check_syntax("def f: .x; # comment\n.prev | f") is None
    for empty in ("", "  \n", "# only a comment"):
        error = check_syntax(empty)
        assert error is not None
        assert error.kind is Kind.SYNTAX
        assert "empty" in error.message
        assert _error(empty).kind is Kind.SYNTAX


def test_check_syntax_returns_a_fresh_error_each_time() -> None:
    first, second = check_syntax(".a |"), check_syntax(".a |")
    assert first is not None
    assert second is not None
    assert first is not second
    assert first.message == second.message


def _call(name: str, arity: int) -> str:
    return name + ("(" + "; ".join(['"%Y"'] * arity) + ")" if arity else "")


_DENIED_CALLS = [
    _call(name, arity) for name, (arities, _) in DENIED_FUNCTIONS.items() for arity in arities
]


@pytest.mark.parametrize("call", _DENIED_CALLS)
def test_denied_builtins_are_forbidden_statically(call: str) -> None:
    error = check_syntax(f".a |\n  {call}")
    assert error is not None
    assert error.kind is Kind.FORBIDDEN
    name = call.split("(")[0]
    assert error.message.startswith(f"'{name}' is not available: ")
    assert (error.line, error.column) == (2, 3)


@pytest.mark.parametrize("call", _DENIED_CALLS)
def test_denied_builtins_fail_at_run_time_without_the_static_check(call: str) -> None:
    error = _error(call, {"a": 1})
    assert error.kind is Kind.FORBIDDEN
    assert error.message.startswith(f"'{call.split('(')[0]}' is not available: ")


def test_now_names_the_reason() -> None:
    error = check_syntax("now")
    assert error is not None
    assert error.message == "'now' is not available: expressions must be deterministic"


@pytest.mark.parametrize(
    "expression",
    ['import "lib" as lib; .', 'include "lib"; .', "module {a: 1}; ."],
)
def test_modules_are_forbidden(expression: str) -> None:
    static = check_syntax(expression)
    assert static is not None
    assert static.kind is Kind.FORBIDDEN
    assert _error(expression).kind is Kind.FORBIDDEN


@pytest.mark.parametrize("expression", ["$ENV", "$ENV.HOME", "$__prog_args", '"\\(env)"'])
def test_environment_variables_are_forbidden_statically(expression: str) -> None:
    error = check_syntax(expression)
    assert error is not None
    assert error.kind is Kind.FORBIDDEN


@pytest.mark.parametrize(
    "expression",
    [
        "{now: 1, env: 2, input: 3} | .now",
        '.now, ."env", .input?, "now"',
        "{now} | .now",
        "1 as $now | $now",
        'def clock: "static"; clock',
    ],
)
def test_denied_names_used_as_data_are_allowed(expression: str) -> None:
    assert check_syntax(expression) is None


def test_denied_name_inside_an_interpolation_is_code() -> None:
    error = check_syntax('"time: \\(now | tostring)"')
    assert error is not None
    assert error.kind is Kind.FORBIDDEN
    assert error.column == 10


def test_no_value_of_the_callers_environment_reaches_an_expression(
    fresh_pool: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cr3t-expression-probe"
    monkeypatch.setenv("EXPRESSIONS_TEST_SECRET", secret)
    assert evaluate("$ENV", None) == {}
    assert evaluate("[$__prog_args]", None) == [None]
    assert evaluate("[$ENV[]] | length", None) == 0
    for attempt in ("env", "$ENV | env", "get_search_list", "input_filename", "input"):
        error = _error(attempt)
        assert secret not in error.message
        assert error.kind is Kind.FORBIDDEN
    environ = Path(f"/proc/{worker_pids()[0]}/environ")
    if environ.exists():
        assert secret.encode() not in environ.read_bytes()


# limits


def test_runaway_expressions_time_out_within_a_second() -> None:
    for runaway in ("[range(1e9)] | length", "last(repeat(1))", "def f: f; f"):
        start = time.monotonic()
        error = _error(runaway)
        elapsed = time.monotonic() - start
        assert error.kind is Kind.TIMEOUT, runaway
        assert "100 ms" in error.message
        assert elapsed < 1.0, f"{runaway} took {elapsed:.2f}s"
    assert evaluate("1 + 1", None) == 2


def test_a_timed_out_evaluator_is_killed_and_reaped(fresh_pool: None) -> None:
    assert evaluate("1", None) == 1
    (pid,) = worker_pids()
    assert _error("last(range(1e12))").kind is Kind.TIMEOUT
    assert pid not in worker_pids()
    assert not _alive(pid)


def test_a_memory_bomb_ends_as_a_clear_error() -> None:
    limits = ExpressionLimits(timeout_ms=10_000, memory_mb=96)
    error = _error("[range(1e8)] | length", None, limits)
    assert error.kind in (Kind.EVALUATION, Kind.TIMEOUT)
    if error.kind is Kind.EVALUATION:
        assert "memory" in error.message
    assert evaluate("1 + 1", None, limits) == 2
    assert _error("[range(1e8)] | length").kind in (Kind.EVALUATION, Kind.TIMEOUT)


def test_too_many_outputs() -> None:
    limits = ExpressionLimits(max_outputs=10)
    assert evaluate_all("range(10)", None, limits) == list(range(10))
    with pytest.raises(ExpressionError) as caught:
        evaluate_all("range(11)", None, limits)
    assert caught.value.kind is Kind.TOO_MANY_OUTPUTS
    with pytest.raises(ExpressionError) as caught:
        evaluate_all("repeat(1)", None)
    assert caught.value.kind is Kind.TOO_MANY_OUTPUTS


def test_output_too_large_counts_all_outputs_together() -> None:
    limits = ExpressionLimits(max_output_bytes=100)
    assert evaluate_all('"x" * 40, "y" * 40', None, limits) == ["x" * 40, "y" * 40]
    with pytest.raises(ExpressionError) as caught:
        evaluate_all('"x" * 40, "y" * 40, "z" * 40', None, limits)
    assert caught.value.kind is Kind.OUTPUT_TOO_LARGE
    assert _error("[range(1000)]", None, limits).kind is Kind.OUTPUT_TOO_LARGE


def test_no_output_is_empty_output_for_evaluate() -> None:
    for expression in ("empty", "select(false)", ".[]"):
        assert _error(expression, []).kind is Kind.EMPTY_OUTPUT


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout_ms"):
        ExpressionLimits(timeout_ms=0)


# the evaluator processes


def test_an_evaluator_killed_mid_evaluation_is_reported_then_replaced(fresh_pool: None) -> None:
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            evaluate("last(range(1e12))", None, ExpressionLimits(timeout_ms=30_000))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    _wait_for(lambda: len(worker_pids()) == 1)
    time.sleep(0.2)
    os.kill(worker_pids()[0], signal.SIGKILL)
    thread.join(timeout=10)
    assert not thread.is_alive()
    (error,) = outcome
    assert isinstance(error, ExpressionError)
    assert error.kind is Kind.EVALUATION
    assert error.message.startswith("expression evaluator stopped: ")
    assert "SIGKILL" in error.message
    assert evaluate("1 + 1", None) == 2


def test_an_idle_evaluator_that_died_is_replaced_silently(fresh_pool: None) -> None:
    assert evaluate("1", None) == 1
    (pid,) = worker_pids()
    os.kill(pid, signal.SIGKILL)
    _wait_for(lambda: _exited(pid))
    assert evaluate("2", None) == 2
    assert pid not in worker_pids()


def _exited(pid: int) -> bool:
    """The killed child is gone or a zombie (not reaped yet: the pool reaps it)."""
    stat = Path(f"/proc/{pid}/stat")
    if not Path("/proc/self/stat").exists():
        time.sleep(0.3)
        return True
    try:
        return stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return True


def test_evaluators_are_reused(fresh_pool: None) -> None:
    evaluate("1", None)
    first = worker_pids()
    for _ in range(5):
        evaluate(".", {"a": 1})
    assert worker_pids() == first


def test_shutdown_stops_every_evaluator() -> None:
    evaluate("1", None)
    pids = worker_pids()
    assert pids
    shutdown_sandboxes()
    assert worker_pids() == []
    assert not any(_alive(pid) for pid in pids)
    assert evaluate("3", None) == 3


def test_evaluations_from_several_threads_at_once(fresh_pool: None) -> None:
    # eight threads on a shared 2-core machine can wait past the default 100 ms for a core;
    # this checks that concurrent evaluations keep their answers apart, not the deadline
    limits = ExpressionLimits(timeout_ms=10_000)

    def job(n: int) -> list[object]:
        return [
            evaluate(".n * 2", {"n": n}, limits),
            evaluate_all(".[]", [n, n], limits),
            evaluate("[range(.)] | add", n + 5, limits),
        ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(job, range(40)))
    for n, (doubled, both, total) in enumerate(results):
        assert doubled == 2 * n
        assert both == [n, n]
        assert total == sum(range(n + 5))
    # idle evaluators kept afterwards are bounded
    assert len(worker_pids()) <= 4
