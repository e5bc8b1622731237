"""Running templates: register, create the task, work it to a resting state; serve workers.

``run_template`` is what ``tasker-ctl run`` and generated tests call. Workers run as threads of
this process, each with its own connection, and only take steps of the task being run. Stopping
(Ctrl-C) lets running attempts finish, starts nothing more (steps already claimed are given
back) and leaves the task resumable: running the same template with the same context again
picks it up. ``serve`` is ``tasker-ctl worker``: threads that take
steps of any task until stopped; any number of them may share one database.

Both read the telemetry configuration (``OTEL_*``) before starting the database, so that a
bad one is reported before anything runs, and flush the telemetry when they return.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from tasker_ctl.db.home import locate_home
from tasker_ctl.db.settings import DatabaseTarget, resolve_database_url
from tasker_ctl.engine.errors import (
    DuplicateTaskError,
    HandlerNotFoundError,
    InvalidContextError,
    ReconnectAbandoned,
)
from tasker_ctl.engine.graph.submission import register_template, submit_task
from tasker_ctl.engine.operator.staleness import StalenessSweeper, SweepReport
from tasker_ctl.engine.store.connection import Store
from tasker_ctl.engine.store.migrations import open_store
from tasker_ctl.engine.store.reconnect import DEFAULT_RECONNECT_LIMIT, Reconnection
from tasker_ctl.engine.views.task_report import TaskReport, task_report, task_rests
from tasker_ctl.engine.worker.attempt import Attempt, Outcome
from tasker_ctl.engine.worker.handler_child import handler_locations
from tasker_ctl.engine.worker.handler_loading import load_handlers
from tasker_ctl.engine.worker.handler_process import Isolation
from tasker_ctl.engine.worker.loop import READY_CHANNEL
from tasker_ctl.engine.worker.options import WorkerOptions, default_worker_id
from tasker_ctl.engine.worker.pool import WorkerPool
from tasker_ctl.engine.worker.process_pool import ProcessPool
from tasker_ctl.errors import UsageError
from tasker_ctl.sdk.registry import HandlerRegistry
from tasker_ctl.telemetry import Telemetry, current_telemetry
from tasker_ctl.template.model import StepType, TaskTemplate
from tasker_ctl.trust import TrustPolicy

T = TypeVar("T")
# the worker threads of this process, or the worker processes of run --processes
Pool = WorkerPool | ProcessPool

SETTLED_CHANNEL = "tasker_task_settled"
# templates validated before, under the state folder (template/validated_cache.py)
TEMPLATE_CACHE = Path("cache", "templates")
# how often `run` reads the task's report while it moves: what a live view shows, and
# without one only to see a task come to rest at a gate (the settling of a task is notified)
REPORT_EVERY_SECONDS = 0.2
QUIET_REPORT_EVERY_SECONDS = 0.5


def run_template(
    template_path: str | Path,
    *,
    context: Any,
    handlers: Iterable[str | ModuleType] = (),
    workers: int = 1,
    processes: int = 1,
    database_url: str | None = None,
    environment: str | None = None,
    new_task: bool = False,
    parent_correlation_id: uuid.UUID | None = None,
    on_update: Callable[[TaskReport], None] | None = None,
    on_task: Callable[[uuid.UUID], None] | None = None,
    stop: threading.Event | None = None,
    timeout: float | None = None,
    check_handlers: bool = False,
    resume_task: uuid.UUID | None = None,
    trust: TrustPolicy | None = None,
    isolation: Isolation = "thread",
    reconnect_limit: float = DEFAULT_RECONNECT_LIMIT,
    planner: str | None = None,
    record_planner: Path | None = None,
    chain_limits: Mapping[str, int | float | None] | None = None,
) -> TaskReport:
    """Run the template's task to a resting state and return its report.

    Returns early, with the task still resumable, when ``stop`` is set or ``timeout`` passes.
    ``check_handlers`` refuses to start when a step's ``handler.callable`` resolves to nothing.
    ``resume_task`` works that existing task of the template instead of submitting one.
    ``parent_correlation_id`` links the new task to the task (or session) it was created for
    (``inspect task --lineage``). ``trust`` is what the operator grants compositions (default:
    the ``TASKER_*`` variables, ``TrustPolicy.from_environment``). ``isolation="process"`` runs
    every handler in a process of its own (one per worker thread; docs/engine.md).
    ``reconnect_limit`` is how many seconds the database may stay away (a restart) while the
    task runs: the workers and the watch on the task reconnect meanwhile. ``planner``
    overrides the planning steps' model (``replay:FILE`` plays a cassette);
    ``record_planner`` records their calls in a cassette. ``chain_limits`` are the limits of
    the delegation chain the task starts (``engine.graph.chains``), over the template's.
    ``processes`` > 1 runs the ``workers`` threads in each of that many worker processes
    (``engine.worker.process_pool``) instead of in this one. ``on_update`` (a live view) is
    given the task's report when it settles and every ``REPORT_EVERY_SECONDS`` while it moves
    (less often when a report of a big task takes long); without it the task is only watched
    for its rest, one row at a time. ``on_task`` is told the task's UUID once it is known.
    """
    trust = trust if trust is not None else TrustPolicy.from_environment()
    template, digest = _load(template_path, context, environment)
    _check_planners(template, planner)
    # handlers and the context are checked before the (possibly slow) database start
    handlers = list(handlers)
    registry = load_handlers(handlers)
    if processes > 1:
        _check_processes(template, handlers)
    if check_handlers:
        _check_handlers(template, registry)
    telemetry = current_telemetry()
    store, target = _open(database_url)
    url = target.url
    with store, _flushing(telemetry):
        if resume_task is None:
            task_uuid, resumed = _submit(
                store,
                template,
                digest,
                context,
                environment,
                new_task,
                parent_correlation_id,
                chain_limits,
            )
        else:
            task_uuid, resumed = _check_task_of(store, template, resume_task), True
        stop = stop or threading.Event()
        count = max(workers, 1)
        options = WorkerOptions(
            task_uuid=task_uuid,
            trust=trust,
            isolation=isolation,
            handlers=handler_locations(handlers),
            reconnect_limit=reconnect_limit,
            planner=planner,
            planner_record=record_planner,
            planner_base_dir=Path.cwd(),
        )
        pool: Pool
        if processes > 1:
            pool = ProcessPool.start(url, options, processes, count)
        else:
            ids = [default_worker_id() for _ in range(count)]
            pool = WorkerPool.start(url, registry, options, ids, stop)
        watching = _Watching(store, pool, reconnect_limit)
        try:
            if on_task is not None:
                on_task(task_uuid)
            _watch(watching, task_uuid, resumed, on_update, stop, pool, timeout)
        finally:
            # on an error the workers end after their attempt; nobody waits for them
            stop.set()
            pool.stop()
        # idle workers wake at once (they wait for this channel) and see the stop
        watching(lambda: store.notify(READY_CHANNEL))
        while not pool.join(REPORT_EVERY_SECONDS):  # running attempts finish, shown doing so
            if on_update is not None:
                watching(lambda: _report_to(on_update, store, task_uuid, resumed))
        report = watching(lambda: _report_to(on_update, store, task_uuid, resumed))
        if not report.resting:
            pool.raise_failure()
        return report


def submit_template(
    template_path: str | Path,
    *,
    context: Any,
    database_url: str | None = None,
    environment: str | None = None,
    new_task: bool = False,
    parent_correlation_id: uuid.UUID | None = None,
    chain_limits: Mapping[str, int | float | None] | None = None,
    idempotency_key: str | None = None,
    by: str | None = None,
    reason: str | None = None,
) -> TaskReport:
    """Create the template's task without running it (``resumed`` when it already existed:
    the same template and context, or the same ``idempotency_key``). ``by`` and ``reason``
    are recorded with the task (``submit_task``)."""
    template, digest = _load(template_path, context, environment)
    with _open(database_url)[0] as store:
        task_uuid, existed = _submit(
            store,
            template,
            digest,
            context,
            environment,
            new_task,
            parent_correlation_id,
            chain_limits,
            submitter=_Submitter(idempotency_key, by, reason),
        )
        return task_report(store, task_uuid, resumed=existed)


def show_task(task_uuid: uuid.UUID, *, database_url: str | None = None) -> TaskReport:
    with _open(database_url)[0] as store:
        return task_report(store, task_uuid)


def _open(database_url: str | None) -> tuple[Store, DatabaseTarget]:
    """A store on the target database with the schema migrated, and that target (workers
    open their own connections to it)."""
    target = resolve_database_url(database_url)
    return open_store(target), target


def _load(
    template_path: str | Path, context: Any, environment: str | None
) -> tuple[TaskTemplate, str]:
    from tasker_ctl.sdk.contracts import violations
    from tasker_ctl.template.validated_cache import load_valid

    loaded = load_valid(template_path, environment=environment, cache_dir=_template_cache())
    template = loaded.template
    problems = violations(context, template.input_schema)
    if problems:
        # submit_task checks this too; checking here spares starting a database for nothing
        raise InvalidContextError(
            f"the context does not satisfy the input_schema of {template.identifier}: "
            + "; ".join(problems[:5]),
            problems,
            hint="fix the context (see input_schema in the template)",
        )
    return template, loaded.content_hash


def _template_cache() -> Path | None:
    """Where templates validated before are kept: the state folder's ``cache/templates``,
    once the state folder exists (a run never creates it for a cache alone)."""
    home = locate_home().path
    return home / TEMPLATE_CACHE if home.is_dir() else None


def _check_handlers(template: TaskTemplate, registry: HandlerRegistry) -> None:
    missing = [
        step
        for step in template.steps
        # a composition is run by the grammar, a planning step by the engine's planner:
        # neither has a handler to find
        if step.composition is None
        and step.planning is None
        and registry.resolve(step.handler.callable) is None
    ]
    if missing:
        raise HandlerNotFoundError(
            f"no handler found for {len(missing)} step(s) of {template.identifier}: "
            + ", ".join(f"{step.name} ({step.handler.callable})" for step in missing),
            hint="pass --handlers with the file, directory or module that defines them; a "
            "class's handler_name or a decorator's name must equal handler.callable",
        )


def _submit(
    store: Store,
    template: TaskTemplate,
    digest: str,
    context: Any,
    environment: str | None,
    new_task: bool,
    parent_correlation_id: uuid.UUID | None = None,
    chain_limits: Mapping[str, int | float | None] | None = None,
    submitter: _Submitter | None = None,
) -> tuple[uuid.UUID, bool]:
    """Create the task; for an identical existing one return it instead (True: it existed)."""
    submitter = submitter or _Submitter()
    with store.transaction():
        named = register_template(store, template, digest)
    try:
        with store.transaction():
            submitted = submit_task(
                store,
                template,
                named,
                context,
                environment=environment,
                identity="always_unique" if new_task else "strict",
                parent_correlation_id=parent_correlation_id,
                chain_limits=chain_limits,
                idempotency_key=submitter.idempotency_key,
                initiator=submitter.by,
                reason=submitter.reason,
            )
    except DuplicateTaskError as duplicate:
        return uuid.UUID(duplicate.task_uuid), True
    return submitted.task_uuid, False


@dataclass(frozen=True)
class _Submitter:
    """Who submits a task, why, and the key that makes repeating the request harmless."""

    idempotency_key: str | None = None
    by: str | None = None
    reason: str | None = None


def _check_task_of(store: Store, template: TaskTemplate, task_uuid: uuid.UUID) -> uuid.UUID:
    task = task_report(store, task_uuid)
    if (identity := task.identity) != template.identifier:
        raise UsageError(
            f"task {task_uuid} is a {identity} task, not one of {template.identifier}",
            hint="name the template the task was created from",
        )
    return task_uuid


def _watch(
    watching: _Watching,
    task_uuid: uuid.UUID,
    resumed: bool,
    on_update: Callable[[TaskReport], None] | None,
    stop: threading.Event,
    pool: Pool,
    timeout: float | None,
) -> None:
    deadline = None if timeout is None else time.monotonic() + timeout
    store = watching.store
    # the task is looked at when it settles, and otherwise at a live view's pace (a gate
    # reached is seen then): not on every step, which would read the whole task once per step
    # in the workers' own process. With a live view the whole report is read, and a report of
    # a big task takes a while: the pace slows so that it never takes more than a fifth of the
    # time. Without one, one row says whether the task rests.
    watching(lambda: store.listen(SETTLED_CHANNEL))
    pace = REPORT_EVERY_SECONDS if on_update is not None else QUIET_REPORT_EVERY_SECONDS
    while not stop.is_set():
        began = time.monotonic()
        if on_update is None:
            rests = watching(lambda: task_rests(store, task_uuid))
        else:
            rests = watching(lambda: _report_to(on_update, store, task_uuid, resumed)).resting
        if rests or not pool.alive():
            return
        if deadline is not None and time.monotonic() > deadline:
            return
        watching(partial(store.wait_for_notifications, _next_wait(pace, began, deadline)))


def _next_wait(pace: float, began: float, deadline: float | None) -> float:
    """Seconds until the next report: the pace, or four times what the last one took."""
    wait = max(pace, 4 * (time.monotonic() - began))
    if deadline is not None:
        wait = max(0.0, min(wait, deadline - time.monotonic()))
    return wait


class _Watching:
    """Runs the reads of ``run``'s own connection (the task's report, notifications), again
    after reconnecting when the database goes away, for as long as the workers wait for it
    (``reconnect_limit``)."""

    def __init__(self, store: Store, pool: Pool, reconnect_limit: float) -> None:
        self.store, self._pool = store, pool
        self._reconnection = Reconnection(reconnect_limit, who="tasker-ctl run")

    def __call__(self, read: Callable[[], T]) -> T:
        try:
            return self._reconnection.call(self.store, read, abandon=lambda: not self._pool.alive())
        except ReconnectAbandoned as abandoned:
            # the workers ended while the database was away: their error says how long
            # they waited for it
            self._pool.raise_failure()
            raise abandoned.error from None


def _report_to(
    on_update: Callable[[TaskReport], None] | None,
    store: Store,
    task_uuid: uuid.UUID,
    resumed: bool,
) -> TaskReport:
    report = task_report(store, task_uuid, resumed=resumed)
    if on_update is not None:
        on_update(report)
    return report


@dataclass(frozen=True)
class WorkerStart:
    """What ``serve`` runs with, reported once before work starts."""

    worker_id: str
    namespaces: list[str] | None
    concurrency: int
    handlers: int
    database: str  # described without secrets
    isolation: str = "thread"  # where handlers run: "thread" or "process"


@dataclass(frozen=True)
class StepFinished:
    """One attempt a ``serve`` worker ran and recorded."""

    task_uuid: uuid.UUID
    namespace: str
    task_name: str
    step_name: str
    attempt: int
    max_attempts: int
    success: bool
    retryable: bool
    duration_ms: int
    error: str | None

    @property
    def will_retry(self) -> bool:
        return not self.success and self.retryable and self.attempt < self.max_attempts


def serve(
    *,
    handlers: Iterable[str | ModuleType] = (),
    namespaces: list[str] | None = None,
    concurrency: int = 1,
    database_url: str | None = None,
    stop: threading.Event | None = None,
    on_start: Callable[[WorkerStart], None] | None = None,
    on_step: Callable[[StepFinished], None] | None = None,
    staleness_interval: float | None = None,
    on_sweep: Callable[[SweepReport], None] | None = None,
    claim_batch: int = WorkerOptions.claim_batch,
    trust: TrustPolicy | None = None,
    isolation: Isolation = "thread",
    reconnect_limit: float = DEFAULT_RECONNECT_LIMIT,
    planner: str | None = None,
    record_planner: Path | None = None,
) -> int:
    """Work steps of every task (of ``namespaces``) until ``stop`` is set; attempts run.

    ``claim_batch`` is the most steps a worker thread claims at once (``WorkerOptions``).
    With ``staleness_interval`` (seconds, above 0) a ``StalenessSweeper`` also sweeps the
    tasks of ``namespaces`` for staleness that often, reporting each sweep to ``on_sweep``.
    ``trust`` is what the operator grants compositions (default: the ``TASKER_*`` variables).
    ``isolation="process"`` runs every handler in a process of its own, one per worker thread.
    ``reconnect_limit``: how many seconds the database may stay away (a restart) before the
    worker threads give up; until then they reconnect and carry on. ``planner`` overrides the
    planning steps' model, ``record_planner`` records their calls in a cassette.
    """
    trust = trust if trust is not None else TrustPolicy.from_environment()
    handlers = list(handlers)
    registry = load_handlers(handlers)
    telemetry = current_telemetry()
    store, target = _open(database_url)
    store.close()
    stop = stop or threading.Event()
    base = default_worker_id()
    count = max(concurrency, 1)
    if on_start is not None:
        handler_count = registry.handler_count()
        described = target.describe()
        on_start(WorkerStart(base, namespaces or None, count, handler_count, described, isolation))
    # made before any thread starts: a bad interval raises while nothing runs yet
    sweeper = None
    if staleness_interval:
        sweeper = StalenessSweeper(
            target.url,
            interval=staleness_interval,
            namespaces=namespaces or None,
            sweeper_id=f"{base}/staleness",
            stop=stop,
            on_sweep=on_sweep,
        )
    hook = None if on_step is None else (lambda a, o: on_step(_finished(a, o)))
    options = WorkerOptions(
        namespaces=namespaces or None,
        claim_batch=claim_batch,
        trust=trust,
        isolation=isolation,
        handlers=handler_locations(handlers),
        reconnect_limit=reconnect_limit,
        planner=planner,
        planner_record=record_planner,
        planner_base_dir=Path.cwd(),
    )
    ids = [f"{base}/{i}" for i in range(count)]
    pool = WorkerPool.start(target.url, registry, options, ids, stop, on_outcome=hook)
    if sweeper is not None:
        sweeper.start()
    with _flushing(telemetry):
        try:
            while not stop.wait(0.5) and pool.alive():
                pass
        finally:
            stop.set()
        for thread in pool.threads:  # running attempts finish
            thread.join()
        if sweeper is not None:
            sweeper.join()
    pool.raise_failure()
    return pool.executed


@contextmanager
def _flushing(telemetry: Telemetry | None) -> Iterator[None]:
    """Export buffered telemetry on the way out, so that a caller that goes on (a test, an
    application) sees this run's spans without waiting for the exporter's schedule."""
    try:
        yield
    finally:
        if telemetry is not None:
            telemetry.flush()


def _finished(attempt: Attempt, outcome: Outcome) -> StepFinished:
    error = outcome.envelope.get("error") or {}
    step = attempt.step
    return StepFinished(
        task_uuid=uuid.UUID(str(step.task_uuid)),
        namespace=step.task.namespace,
        task_name=step.task.name,
        step_name=step.name,
        attempt=attempt.number,
        max_attempts=step.max_attempts,
        success=outcome.success,
        retryable=outcome.retryable,
        duration_ms=outcome.duration_ms,
        error=None if outcome.success else str(error.get("message") or "failed"),
    )


def _check_processes(template: TaskTemplate, handlers: list[str | ModuleType]) -> None:
    """What worker processes cannot do: share a planner (a replayed cassette answers in
    order), or load handlers that exist only in this process (a script's own module)."""
    if any(step.step_type == StepType.PLANNING for step in template.steps):
        raise UsageError(
            "--processes: a template with planning steps runs in one process",
            hint="leave --processes out (its planners are shared by the worker threads)",
        )
    if len(handler_locations(handlers)) < len(handlers):
        raise UsageError(
            "--processes: a handler module of this script cannot be loaded by another process",
            hint="pass handler files, folders or importable modules",
        )


def _check_planners(template: TaskTemplate, planner: str | None) -> None:
    """Refuse a run whose planning steps could not plan (no model named anywhere, or the
    ``[planning]`` extra missing for a real model) before anything is submitted."""
    from tasker_ctl.template.model import StepType

    blocks = [
        step.planning
        for step in template.steps
        if step.step_type is StepType.PLANNING and step.planning is not None
    ]
    if not blocks:
        return  # nothing of the planning layer is imported
    import importlib.util

    from tasker_ctl.planning.errors import PlannerExtraMissing
    from tasker_ctl.planning.planner import parse_planner_spec, resolve_planner_spec

    for block in blocks:
        spec = parse_planner_spec(resolve_planner_spec(planner, block.model))
        if spec.provider == "replay":
            from tasker_ctl.planning.cassette import read_cassette

            read_cassette(Path(spec.model))  # a missing or unreadable cassette, said now
        elif importlib.util.find_spec("pydantic_ai") is None:
            raise PlannerExtraMissing("pydantic_ai")
