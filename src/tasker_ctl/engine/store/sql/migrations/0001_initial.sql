-- tasker-ctl schema, version 1.
--
-- Tables follow Tasker Core's names. The transition tables are the source of truth for
-- state: exactly one row per entity is `most_recent` (a partial unique index guards it) and
-- `current_state` on tasks / workflow_steps is a cache written in the same transaction.
-- Transitions are written by the engine functions of 0002 while they hold the entity's row
-- lock; a trigger checks every transition row against the rule tables below, names its
-- event, and rejects a row that breaks the rules (SQLSTATE TK001).
--
-- Time: every function reads tasker.now(), which honours the session setting
-- `tasker.fake_now` so that tests can move time (backoff, leases, staleness).

CREATE SCHEMA IF NOT EXISTS tasker;

CREATE OR REPLACE FUNCTION tasker.now() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('tasker.fake_now', true), '')::timestamptz,
                    clock_timestamp())
$$;

-- ---------------------------------------------------------------------------------------
-- State rules
-- ---------------------------------------------------------------------------------------

CREATE TABLE tasker.task_states (
    state       varchar(32) PRIMARY KEY,
    is_terminal boolean NOT NULL
);
INSERT INTO tasker.task_states (state, is_terminal) VALUES
    ('pending', false), ('initializing', false), ('enqueuing_steps', false),
    ('steps_in_process', false), ('evaluating_results', false),
    ('waiting_for_dependencies', false), ('waiting_for_retry', false),
    ('blocked_by_failures', false), ('complete', true), ('error', true),
    ('cancelled', true), ('resolved_manually', true);

CREATE TABLE tasker.step_states (
    state       varchar(40) PRIMARY KEY,
    is_terminal boolean NOT NULL
);
INSERT INTO tasker.step_states (state, is_terminal) VALUES
    ('pending', false), ('enqueued', false), ('in_progress', false),
    ('enqueued_for_orchestration', false), ('enqueued_as_error_for_orchestration', false),
    ('waiting_for_retry', false), ('complete', true), ('error', false),
    ('cancelled', true), ('resolved_manually', true);

-- (from_state, to_state) pairs a transition may take; from_state NULL is the initial row.
CREATE TABLE tasker.task_transition_rules (
    from_state varchar(32) REFERENCES tasker.task_states,
    to_state   varchar(32) NOT NULL REFERENCES tasker.task_states,
    event      varchar(64) NOT NULL,
    UNIQUE NULLS NOT DISTINCT (from_state, to_state)
);
INSERT INTO tasker.task_transition_rules (from_state, to_state, event) VALUES
    (NULL, 'pending', 'Create'),
    ('pending', 'initializing', 'Start'),
    ('initializing', 'enqueuing_steps', 'ReadyStepsFound'),
    ('initializing', 'complete', 'NoStepsFound'),
    ('initializing', 'waiting_for_dependencies', 'NoDependenciesReady'),
    ('enqueuing_steps', 'steps_in_process', 'StepsEnqueued'),
    ('enqueuing_steps', 'error', 'EnqueueFailed'),
    ('steps_in_process', 'evaluating_results', 'StepCompleted'),
    ('steps_in_process', 'waiting_for_retry', 'StepFailed'),
    ('evaluating_results', 'complete', 'AllStepsSuccessful'),
    ('evaluating_results', 'enqueuing_steps', 'ReadyStepsFound'),
    ('evaluating_results', 'waiting_for_dependencies', 'NoDependenciesReady'),
    ('evaluating_results', 'blocked_by_failures', 'PermanentFailure'),
    ('waiting_for_dependencies', 'evaluating_results', 'DependenciesReady'),
    ('waiting_for_retry', 'enqueuing_steps', 'RetryReady'),
    ('blocked_by_failures', 'error', 'GiveUp'),
    ('blocked_by_failures', 'resolved_manually', 'ManualResolution'),
    ('blocked_by_failures', 'evaluating_results', 'StepRepaired');
-- Cancel and ResolveManually are allowed from every non-terminal state.
INSERT INTO tasker.task_transition_rules (from_state, to_state, event)
SELECT s.state, t.to_state, t.event
FROM tasker.task_states s
CROSS JOIN (VALUES ('cancelled', 'Cancel'), ('resolved_manually', 'ResolveManually')) AS t(to_state, event)
WHERE NOT s.is_terminal
ON CONFLICT DO NOTHING;

CREATE TABLE tasker.step_transition_rules (
    from_state varchar(40) REFERENCES tasker.step_states,
    to_state   varchar(40) NOT NULL REFERENCES tasker.step_states,
    event      varchar(64) NOT NULL,
    UNIQUE NULLS NOT DISTINCT (from_state, to_state)
);
INSERT INTO tasker.step_transition_rules (from_state, to_state, event) VALUES
    (NULL, 'pending', 'Create'),
    ('pending', 'enqueued', 'Enqueue'),
    ('enqueued', 'in_progress', 'Start'),
    ('pending', 'in_progress', 'Start'),
    ('in_progress', 'enqueued_for_orchestration', 'EnqueueForOrchestration'),
    ('in_progress', 'enqueued_as_error_for_orchestration', 'EnqueueAsErrorForOrchestration'),
    ('enqueued_for_orchestration', 'complete', 'Complete'),
    ('enqueued_for_orchestration', 'error', 'Fail'),
    ('enqueued_as_error_for_orchestration', 'error', 'Fail'),
    ('enqueued_as_error_for_orchestration', 'complete', 'Complete'),
    ('enqueued_as_error_for_orchestration', 'waiting_for_retry', 'WaitForRetry'),
    ('in_progress', 'complete', 'Complete'),
    ('in_progress', 'error', 'Fail'),
    ('pending', 'error', 'Fail'),
    ('enqueued', 'error', 'Fail'),
    ('pending', 'waiting_for_retry', 'WaitForRetry'),
    ('enqueued', 'waiting_for_retry', 'WaitForRetry'),
    ('in_progress', 'waiting_for_retry', 'WaitForRetry'),
    ('waiting_for_retry', 'pending', 'Retry'),
    ('waiting_for_retry', 'enqueued', 'RetryReady'),
    ('error', 'pending', 'Retry');
INSERT INTO tasker.step_transition_rules (from_state, to_state, event)
SELECT s.state, 'cancelled', 'Cancel' FROM tasker.step_states s WHERE NOT s.is_terminal
ON CONFLICT DO NOTHING;
INSERT INTO tasker.step_transition_rules (from_state, to_state, event)
SELECT s.state, t.to_state, t.event
FROM tasker.step_states s
CROSS JOIN (VALUES ('resolved_manually', 'ResolveManually'), ('complete', 'CompleteManually')) AS t(to_state, event)
WHERE s.state NOT IN ('resolved_manually', 'complete', 'cancelled')
ON CONFLICT DO NOTHING;

-- ---------------------------------------------------------------------------------------
-- Templates
-- ---------------------------------------------------------------------------------------

CREATE TABLE tasker.task_namespaces (
    task_namespace_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                varchar(64) NOT NULL UNIQUE,
    description         text,
    created_at          timestamptz NOT NULL DEFAULT tasker.now(),
    updated_at          timestamptz NOT NULL DEFAULT tasker.now()
);

CREATE TABLE tasker.named_tasks (
    named_task_uuid     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_namespace_uuid uuid NOT NULL REFERENCES tasker.task_namespaces,
    name                varchar(128) NOT NULL,
    version             varchar(64) NOT NULL,
    description         text,
    configuration       jsonb NOT NULL,          -- the whole template, as JSON
    content_hash        varchar(80) NOT NULL,
    -- bumped whenever a re-registration changes the configuration, so that workers know
    -- when their parsed copy of the template is out of date
    revision            integer NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT tasker.now(),
    updated_at          timestamptz NOT NULL DEFAULT tasker.now(),
    UNIQUE (task_namespace_uuid, name, version)
);

CREATE TABLE tasker.named_steps (
    named_step_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name            varchar(255) NOT NULL UNIQUE,
    description     text,
    created_at      timestamptz NOT NULL DEFAULT tasker.now()
);

-- ---------------------------------------------------------------------------------------
-- Tasks and steps
-- ---------------------------------------------------------------------------------------

CREATE TABLE tasker.tasks (
    task_uuid             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    named_task_uuid       uuid NOT NULL REFERENCES tasker.named_tasks,
    namespace_name        varchar(64) NOT NULL,
    current_state         varchar(32) NOT NULL DEFAULT 'pending' REFERENCES tasker.task_states,
    complete              boolean NOT NULL DEFAULT false,
    requested_at          timestamptz NOT NULL DEFAULT tasker.now(),
    completed_at          timestamptz,
    initiator             varchar(128),
    source_system         varchar(128),
    reason                varchar(128),
    tags                  jsonb NOT NULL DEFAULT '[]',
    context               jsonb NOT NULL DEFAULT '{}',
    identity_hash         varchar(128) NOT NULL,
    priority              integer NOT NULL DEFAULT 0,
    correlation_id        uuid NOT NULL,
    parent_correlation_id uuid,
    environment           varchar(64),
    -- budget ledger: limits set at creation, every reservation / commit in task_budget_entries
    budget_limits         jsonb NOT NULL DEFAULT '{}',
    -- set once a batch worker under failure_strategy isolate failed: from then on the
    -- completions that enqueue nothing ask whether only isolated failures are left
    has_isolated_failures boolean NOT NULL DEFAULT false,
    created_at            timestamptz NOT NULL DEFAULT tasker.now(),
    updated_at            timestamptz NOT NULL DEFAULT tasker.now()
);
CREATE UNIQUE INDEX tasks_identity_hash_key ON tasker.tasks (identity_hash);
CREATE INDEX tasks_incomplete_idx ON tasker.tasks (priority DESC, created_at) WHERE NOT complete;
CREATE INDEX tasks_correlation_idx ON tasker.tasks (correlation_id);
CREATE INDEX tasks_parent_correlation_idx ON tasker.tasks (parent_correlation_id)
    WHERE parent_correlation_id IS NOT NULL;
CREATE INDEX tasks_state_idx ON tasker.tasks (current_state);

CREATE TABLE tasker.workflow_steps (
    workflow_step_uuid      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_uuid               uuid NOT NULL REFERENCES tasker.tasks ON DELETE CASCADE,
    named_step_uuid         uuid NOT NULL REFERENCES tasker.named_steps,
    name                    varchar(255) NOT NULL,
    template_step_name      varchar(255) NOT NULL,
    step_type               varchar(32) NOT NULL DEFAULT 'standard',
    namespace_name          varchar(64) NOT NULL,
    -- a cache of the last transition, whose states the rules trigger checks; a CHECK rather
    -- than a foreign key, which would take a shared lock on a state row at every update,
    -- the same few rows for every worker
    current_state           varchar(40) NOT NULL DEFAULT 'pending' CHECK (current_state IN (
        'pending', 'enqueued', 'in_progress', 'enqueued_for_orchestration',
        'enqueued_as_error_for_orchestration', 'waiting_for_retry', 'complete', 'error',
        'cancelled', 'resolved_manually')),
    retryable               boolean NOT NULL DEFAULT true,
    max_attempts            integer NOT NULL DEFAULT 3,
    attempts                integer NOT NULL DEFAULT 0,
    -- parents not yet complete or resolved; the completion that brings it to zero enqueues
    -- the step, so a join need not re-read all its parents on every parent's completion
    pending_parents         integer NOT NULL DEFAULT 0 CHECK (pending_parents >= 0),
    in_process              boolean NOT NULL DEFAULT false,
    processed               boolean NOT NULL DEFAULT false,
    processed_at            timestamptz,
    last_attempted_at       timestamptz,
    backoff_request_seconds integer,
    -- when a worker may take the step: set on enqueue (now), on retry (after backoff), on
    -- claim (lease expiry, so a dead worker's step is reclaimed); NULL when not claimable
    claimable_at            timestamptz,
    lease_owner             varchar(255),
    lease_expires_at        timestamptz,
    timeout_seconds         integer,
    idempotency_key         varchar(128) NOT NULL,
    inputs                  jsonb NOT NULL DEFAULT '{}',
    results                 jsonb,
    checkpoint              jsonb,
    priority                integer NOT NULL DEFAULT 0,
    -- provenance: who put this step in the graph, and from what
    created_by              varchar(32) NOT NULL DEFAULT 'template'
        CHECK (created_by IN ('template', 'decision_point', 'planning_step', 'batch_spawn')),
    planning_step_uuid      uuid,
    fragment_id             varchar(128),
    planning_phase          integer,
    planning_reasoning      text,
    handler_type            varchar(32) NOT NULL DEFAULT 'application'
        CHECK (handler_type IN ('application', 'grammar')),
    composition_source      varchar(255),
    composition_spec        jsonb,
    created_at              timestamptz NOT NULL DEFAULT tasker.now(),
    updated_at              timestamptz NOT NULL DEFAULT tasker.now(),
    UNIQUE (task_uuid, named_step_uuid)
)
-- a step row is rewritten three or four times in its life (enqueue, claim, outcome): room
-- on its page lets each new version stay there, and lets pruning reuse the space
WITH (fillfactor = 50);
-- (task_uuid, ...) lookups use the unique index on (task_uuid, named_step_uuid)
CREATE INDEX workflow_steps_claimable_idx ON tasker.workflow_steps (claimable_at)
    WHERE claimable_at IS NOT NULL;
-- a worker bound to one task (tasker-ctl run) must not walk the steps of every other task
CREATE INDEX workflow_steps_task_claimable_idx ON tasker.workflow_steps (task_uuid, claimable_at)
    WHERE claimable_at IS NOT NULL;
-- the last leaf step to finish asks whether any step of its task is left
CREATE INDEX workflow_steps_unprocessed_idx ON tasker.workflow_steps (task_uuid)
    WHERE NOT processed;

CREATE TABLE tasker.workflow_step_edges (
    workflow_step_edge_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    from_step_uuid          uuid NOT NULL REFERENCES tasker.workflow_steps ON DELETE CASCADE,
    to_step_uuid            uuid NOT NULL REFERENCES tasker.workflow_steps ON DELETE CASCADE,
    name                    varchar(64) NOT NULL DEFAULT 'provides',
    -- the child's parent counter this edge counts down: NULL for the child's own
    -- pending_parents, else a shard in step_parent_counts (see there)
    counter_shard           smallint,
    created_at              timestamptz NOT NULL DEFAULT tasker.now(),
    UNIQUE (from_step_uuid, to_step_uuid, name),
    CHECK (from_step_uuid <> to_step_uuid)
);
CREATE INDEX workflow_step_edges_to_idx ON tasker.workflow_step_edges (to_step_uuid);

-- A step with many parents (a join) would have every parent's completion wait for its row,
-- one after the other. Its parents are counted in shards instead: each shard row counts
-- the unfinished parents of its share of the edges, and the step's pending_parents counts
-- the shards not yet at zero, so only the completion that empties a shard takes the step's
-- row.
CREATE TABLE tasker.step_parent_counts (
    workflow_step_uuid uuid NOT NULL REFERENCES tasker.workflow_steps ON DELETE CASCADE,
    shard              smallint NOT NULL,
    pending            integer NOT NULL CHECK (pending >= 0),
    PRIMARY KEY (workflow_step_uuid, shard)
);

-- A batch with more workers than its template's parallelism: one row per worker, in the
-- order workers get a slot. At most `parallelism` rows of a batch are running (from the
-- batch's creation until the worker completes, is resolved, or fails under
-- continue_on_failure); a waiting worker has one more pending parent than its edges count,
-- taken away when a slot passes to it (tasker.release_batch_slot).
CREATE TABLE tasker.batch_worker_slots (
    worker_step_uuid uuid PRIMARY KEY REFERENCES tasker.workflow_steps ON DELETE CASCADE,
    batch_step_uuid  uuid NOT NULL REFERENCES tasker.workflow_steps ON DELETE CASCADE,
    ordinal          integer NOT NULL,
    state            varchar(8) NOT NULL CHECK (state IN ('waiting', 'running', 'released')),
    UNIQUE (batch_step_uuid, ordinal)
);
CREATE INDEX batch_worker_slots_waiting_idx ON tasker.batch_worker_slots (batch_step_uuid, ordinal)
    WHERE state = 'waiting';

-- ---------------------------------------------------------------------------------------
-- Transitions
-- ---------------------------------------------------------------------------------------

CREATE TABLE tasker.task_transitions (
    task_transition_uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_uuid            uuid NOT NULL REFERENCES tasker.tasks ON DELETE CASCADE,
    from_state           varchar(32) REFERENCES tasker.task_states,
    to_state             varchar(32) NOT NULL REFERENCES tasker.task_states,
    event                varchar(64) NOT NULL,
    metadata             jsonb NOT NULL DEFAULT '{}',
    sort_key             integer NOT NULL,
    most_recent          boolean NOT NULL DEFAULT true,
    created_at           timestamptz NOT NULL DEFAULT tasker.now(),
    UNIQUE (task_uuid, sort_key)
);
CREATE UNIQUE INDEX task_transitions_most_recent_key ON tasker.task_transitions (task_uuid)
    WHERE most_recent;

-- The hottest table: every step writes two or three transitions. Keyed by (step, sort_key):
-- each transition writes index entries for two rows (the new one and the previous one losing
-- most_recent), so the uuid, unique by construction, carries no index of its own. Rows are
-- written only by the engine functions, which hold the step's row lock, so workflow_step_uuid
-- has no foreign key (its check would lock the step row once more per transition); the
-- trigger below deletes a deleted step's transitions, as ON DELETE CASCADE would.
CREATE TABLE tasker.workflow_step_transitions (
    workflow_step_transition_uuid uuid NOT NULL DEFAULT gen_random_uuid(),
    workflow_step_uuid            uuid NOT NULL,
    task_uuid                     uuid NOT NULL,
    -- states are checked by the rules trigger (every rule names known states), which spares
    -- the hot path two foreign-key lookups per transition
    from_state                    varchar(40),
    to_state                      varchar(40) NOT NULL,
    event                         varchar(64) NOT NULL,
    attempt                       integer NOT NULL DEFAULT 0,
    metadata                      jsonb NOT NULL DEFAULT '{}',
    sort_key                      integer NOT NULL,
    most_recent                   boolean NOT NULL DEFAULT true,
    created_at                    timestamptz NOT NULL DEFAULT tasker.now(),
    PRIMARY KEY (workflow_step_uuid, sort_key)
)
-- every row is rewritten once, when the next transition takes most_recent from it
WITH (fillfactor = 80);
CREATE UNIQUE INDEX workflow_step_transitions_most_recent_key
    ON tasker.workflow_step_transitions (workflow_step_uuid) WHERE most_recent;

CREATE OR REPLACE FUNCTION tasker.delete_step_transitions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM tasker.workflow_step_transitions t
    USING deleted_steps d WHERE t.workflow_step_uuid = d.workflow_step_uuid;
    RETURN NULL;
END
$$;
CREATE TRIGGER workflow_steps_delete_transitions AFTER DELETE ON tasker.workflow_steps
    REFERENCING OLD TABLE AS deleted_steps
    FOR EACH STATEMENT EXECUTE FUNCTION tasker.delete_step_transitions();
-- a task's transitions are found through its steps (workflow_steps has task_uuid indexed)

-- Reject transition rows that break the rules, whoever writes them, and name their event:
-- writers may leave `event` NULL and the rule table supplies it.
CREATE OR REPLACE FUNCTION tasker.check_task_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_event varchar;
BEGIN
    SELECT r.event INTO v_event FROM tasker.task_transition_rules r
    WHERE r.from_state IS NOT DISTINCT FROM NEW.from_state AND r.to_state = NEW.to_state;
    IF v_event IS NULL THEN
        RAISE EXCEPTION 'task % cannot go from % to %', NEW.task_uuid,
            coalesce(NEW.from_state, '(new)'), NEW.to_state
            USING ERRCODE = 'TK001';
    END IF;
    IF NEW.event IS NOT NULL AND NEW.event <> v_event THEN
        RAISE EXCEPTION 'task % goes from % to % by event %, not %', NEW.task_uuid,
            coalesce(NEW.from_state, '(new)'), NEW.to_state, v_event, NEW.event
            USING ERRCODE = 'TK001';
    END IF;
    NEW.event := v_event;
    RETURN NEW;
END
$$;
CREATE TRIGGER task_transitions_rules BEFORE INSERT ON tasker.task_transitions
    FOR EACH ROW EXECUTE FUNCTION tasker.check_task_transition();

CREATE OR REPLACE FUNCTION tasker.check_step_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_event varchar;
BEGIN
    SELECT r.event INTO v_event FROM tasker.step_transition_rules r
    WHERE r.from_state IS NOT DISTINCT FROM NEW.from_state AND r.to_state = NEW.to_state;
    IF v_event IS NULL THEN
        RAISE EXCEPTION 'step % cannot go from % to %', NEW.workflow_step_uuid,
            coalesce(NEW.from_state, '(new)'), NEW.to_state
            USING ERRCODE = 'TK001';
    END IF;
    IF NEW.event IS NOT NULL AND NEW.event <> v_event THEN
        RAISE EXCEPTION 'step % goes from % to % by event %, not %', NEW.workflow_step_uuid,
            coalesce(NEW.from_state, '(new)'), NEW.to_state, v_event, NEW.event
            USING ERRCODE = 'TK001';
    END IF;
    NEW.event := v_event;
    RETURN NEW;
END
$$;
CREATE TRIGGER workflow_step_transitions_rules BEFORE INSERT ON tasker.workflow_step_transitions
    FOR EACH ROW EXECUTE FUNCTION tasker.check_step_transition();

-- ---------------------------------------------------------------------------------------
-- Dead-letter queue and budget ledger
-- ---------------------------------------------------------------------------------------

CREATE TABLE tasker.tasks_dlq (
    dlq_entry_uuid       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_uuid            uuid NOT NULL REFERENCES tasker.tasks ON DELETE CASCADE,
    workflow_step_uuid   uuid REFERENCES tasker.workflow_steps ON DELETE CASCADE,
    original_state       varchar(50) NOT NULL,
    dlq_reason           varchar(64) NOT NULL CHECK (dlq_reason IN (
        'staleness_timeout', 'max_retries_exceeded', 'dependency_cycle_detected',
        'worker_unavailable', 'permanent_failure', 'manual_dlq')),
    dlq_timestamp        timestamptz NOT NULL DEFAULT tasker.now(),
    resolution_status    varchar(32) NOT NULL DEFAULT 'pending' CHECK (resolution_status IN (
        'pending', 'manually_resolved', 'permanently_failed', 'cancelled')),
    resolution_timestamp timestamptz,
    resolution_notes     text,
    resolved_by          varchar(255),
    task_snapshot        jsonb NOT NULL,
    metadata             jsonb NOT NULL DEFAULT '{}',
    created_at           timestamptz NOT NULL DEFAULT tasker.now(),
    updated_at           timestamptz NOT NULL DEFAULT tasker.now()
);
CREATE UNIQUE INDEX tasks_dlq_pending_key ON tasker.tasks_dlq (task_uuid)
    WHERE resolution_status = 'pending';

CREATE TABLE tasker.task_budget_entries (
    budget_entry_uuid  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_uuid          uuid NOT NULL REFERENCES tasker.tasks ON DELETE CASCADE,
    workflow_step_uuid uuid REFERENCES tasker.workflow_steps ON DELETE CASCADE,
    resource           varchar(32) NOT NULL CHECK (resource IN (
        'steps', 'phases', 'llm_calls', 'tokens', 'cost_usd', 'wall_seconds')),
    kind               varchar(16) NOT NULL CHECK (kind IN ('reserve', 'commit', 'release')),
    amount             numeric NOT NULL CHECK (amount >= 0),
    note               text,
    created_at         timestamptz NOT NULL DEFAULT tasker.now()
);
CREATE INDEX task_budget_entries_task_idx ON tasker.task_budget_entries (task_uuid);
