"""Delegation chains: the limits a chain's first task stores, and the root's limits enforced
when a task joins the chain (depth, tasks, the chain's committed spending), one submission at
a time under the root's row lock; nothing is written when a limit would be passed."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal
from typing import Any

import pytest

from tasker_ctl.engine.errors import (
    ChainBudgetExhaustedError,
    ChainDepthExceededError,
    ChainLimitError,
    ChainLimitsNotAtRootError,
    ChainTasksExceededError,
)
from tasker_ctl.engine.graph.submission import SubmittedTask, submit_task
from tasker_ctl.engine.store.connection import connect
from tasker_ctl.template.model import TaskTemplate
from tests.integration.engine.conftest import Engine, make_template, step

pytestmark = pytest.mark.integration


def chained(chain: dict[str, Any] | None = None, name: str = "chained") -> TaskTemplate:
    template = make_template([step("only", "arithmetic.add")], name=name)
    if chain is None:
        return template
    data = template.model_dump(by_alias=True, exclude_unset=True)
    return TaskTemplate.model_validate({**data, "chain": chain})


def submit(
    engine: Engine, template: TaskTemplate, parent: SubmittedTask | uuid.UUID | None, **kw: Any
) -> SubmittedTask:
    parent_id = parent.correlation_id if isinstance(parent, SubmittedTask) else parent
    return engine.submit(template, {"n": uuid.uuid4().hex}, parent_correlation_id=parent_id, **kw)


def spend(engine: Engine, task: SubmittedTask, resource: str, amount: str) -> None:
    engine.execute(
        "INSERT INTO tasker.task_budget_entries (task_uuid, resource, kind, amount)"
        " VALUES (%s, %s, 'commit', %s)",
        task.task_uuid,
        resource,
        Decimal(amount),
    )


def count_tasks(engine: Engine) -> int:
    return int(engine.one("SELECT count(*) AS n FROM tasker.tasks")["n"])


def test_a_chain_starts_with_the_template_limits_and_the_options_over_them(
    engine: Engine,
) -> None:
    template = chained({"max_depth": 2, "max_cost_usd": 5, "max_tasks": 10})
    root = submit(engine, template, None, chain_limits={"max_tasks": 3, "max_tokens": None})
    assert engine.task(root.task_uuid)["chain_limits"] == {
        "max_depth": 2,
        "max_tasks": 3,
        "max_cost_usd": 5.0,
    }
    child = submit(engine, template, root)
    # a task that joins a chain stores nothing: the root's limits hold
    assert engine.task(child.task_uuid)["chain_limits"] == {}
    session = uuid.uuid4()
    first = submit(engine, chained(), session, chain_limits={"max_tasks": 2})
    assert engine.task(first.task_uuid)["chain_limits"] == {"max_tasks": 2}


def test_depth_below_the_root_past_max_depth_is_refused(engine: Engine) -> None:
    template = chained({"max_depth": 1})
    root = submit(engine, template, None)
    child = submit(engine, template, root)
    before = count_tasks(engine)
    with pytest.raises(ChainDepthExceededError) as refused:
        submit(engine, template, child)
    error = refused.value
    assert (error.code, error.exit_code, error.limit, error.observed) == (
        "CHAIN_DEPTH_EXCEEDED",
        2,
        "1",
        "2",
    )
    assert str(root.task_uuid) in str(error)
    assert "max_depth of 1" in str(error)
    assert count_tasks(engine) == before
    submit(engine, template, root)  # a sibling at depth 1 still fits


def test_a_full_chain_takes_no_more_tasks(engine: Engine) -> None:
    template = chained({"max_tasks": 3})
    root = submit(engine, template, None)
    child = submit(engine, template, root)
    submit(engine, template, child)
    with pytest.raises(ChainTasksExceededError, match="already holds 3 task"):
        submit(engine, template, root)


def test_the_chains_committed_spending_against_its_limits(engine: Engine) -> None:
    template = chained({"max_cost_usd": 2.5, "max_llm_calls": 10})
    root = submit(engine, template, None)
    child = submit(engine, template, root)
    spend(engine, root, "cost_usd", "1.2")
    spend(engine, child, "cost_usd", "1.29")
    submit(engine, template, child)  # $2.49 of $2.50: still under
    spend(engine, child, "cost_usd", "0.01")
    with pytest.raises(ChainBudgetExhaustedError) as refused:
        submit(engine, template, child)
    assert (refused.value.observed, refused.value.limit) == ("2.5", "2.5")
    assert "$2.5" in str(refused.value)
    assert "3 task(s)" in str(refused.value)


def test_a_session_chain_is_every_task_under_the_session_id(engine: Engine) -> None:
    session = uuid.uuid4()
    first = submit(engine, chained(), session, chain_limits={"max_tasks": 2})
    second = submit(engine, chained(), session)
    assert engine.task(second.task_uuid)["chain_limits"] == {}
    with pytest.raises(ChainTasksExceededError) as refused:
        submit(engine, chained(), session)
    assert refused.value.chain_root == str(first.task_uuid)


def test_limits_given_for_a_task_that_joins_a_chain_are_refused(engine: Engine) -> None:
    root = submit(engine, chained(), None)
    with pytest.raises(ChainLimitsNotAtRootError, match="joins the chain"):
        submit(engine, chained(), root, chain_limits={"max_depth": 4})


def test_a_chain_without_limits_is_not_checked(engine: Engine) -> None:
    parent = submit(engine, chained(), None)
    for _ in range(3):
        parent = submit(engine, chained(), parent)
    assert count_tasks(engine) == 4


def test_concurrent_submissions_never_pass_max_tasks_together(engine: Engine) -> None:
    template = chained({"max_tasks": 2})
    root = submit(engine, template, None)
    named = engine.register(template)
    outcome: list[BaseException | SubmittedTask] = []
    with connect(engine.url) as first, connect(engine.url) as second:
        with first.transaction():
            submit_task(first, template, named, {"n": 1}, parent_correlation_id=root.correlation_id)

            def other() -> None:
                try:
                    with second.transaction():
                        outcome.append(
                            submit_task(
                                second,
                                template,
                                named,
                                {"n": 2},
                                parent_correlation_id=root.correlation_id,
                            )
                        )
                except ChainLimitError as error:
                    outcome.append(error)

            thread = threading.Thread(target=other)
            thread.start()
            # the second submission waits on the root's row lock the first holds
            _wait_for_lock_wait(engine)
        thread.join(timeout=30)
    assert len(outcome) == 1
    assert isinstance(outcome[0], ChainTasksExceededError)
    assert count_tasks(engine) == 2


def _wait_for_lock_wait(engine: Engine) -> None:
    for _ in range(2000):
        waiting = engine.rows(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()"
        )
        if waiting:
            return
        threading.Event().wait(0.005)
    pytest.fail("the second submission never waited for the chain root's lock")


def test_stats_alert_on_tasks_delegated_too_deep(engine: Engine) -> None:
    from tasker_ctl.engine.stats import collect_stats

    parent = submit(engine, chained(), None)
    chain = [parent]
    for _ in range(7):  # depths 1..7: two past the default threshold of 5
        chain.append(submit(engine, chained(), chain[-1]))
    submit(engine, chained(), uuid.uuid4())  # a session's task: depth 0
    report = collect_stats(engine.store)
    assert (report.delegation.delegated, report.delegation.max_depth) == (7, 7)
    assert report.delegation.too_deep == 2
    alerts = {alert.code: alert for alert in report.alerts}
    deep = alerts["DELEGATION_DEPTH_HIGH"]
    assert (deep.threshold, deep.observed, deep.samples) == (5.0, 7.0, 7)
    assert deep.tasks == [chain[7].task_uuid, chain[6].task_uuid]
    assert report.failing
    shallow = collect_stats(engine.store, namespace="elsewhere")
    assert "DELEGATION_DEPTH_HIGH" not in {alert.code for alert in shallow.alerts}


def test_the_lineage_tells_the_chain_against_its_roots_limits(engine: Engine) -> None:
    from tasker_ctl.engine.views.lineage import task_lineage
    from tasker_ctl.report.budget_view import chain_sentence

    root = submit(engine, chained({"max_cost_usd": 2.5, "max_depth": 3}), None)
    child = submit(engine, chained(), root)
    grandchild = submit(engine, chained(), child)
    spend(engine, root, "cost_usd", "0.1")
    spend(engine, grandchild, "cost_usd", "0.2")
    spend(engine, child, "tokens", "700")
    lineage = task_lineage(engine.store, grandchild.task_uuid)
    chain = lineage.chain
    assert (chain.root_task_uuid, chain.tasks, chain.levels) == (root.task_uuid, 3, 3)
    assert chain.limits == {"max_depth": Decimal(3), "max_cost_usd": Decimal("2.5")}
    lines = {line.resource: line for line in chain.lines}
    assert (lines["cost_usd"].used, lines["cost_usd"].limit) == (Decimal("0.3"), Decimal("2.5"))
    assert (lines["tokens"].used, lines["tokens"].limit) == (Decimal(700), None)
    assert chain_sentence(lineage) == "3 tasks across 3 levels, $0.30 of $2.50"
    alone = submit(engine, chained(), None)
    assert chain_sentence(task_lineage(engine.store, alone.task_uuid)) == (
        "1 task across 1 level, $0.00, no limit"
    )
