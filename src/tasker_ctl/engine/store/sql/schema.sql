-- tasker-ctl schema.
--
-- Everything the engine keeps in PostgreSQL, in one file: the state rules, the tables, the
-- read models and every engine function in its current form. Two files hold this text:
-- `migrations/0001_baseline.sql`, the first migration, never edited once landed, and
-- `schema.sql`, the schema as the migrations leave it, the one place to read a table or a
-- function's current body. While the baseline is the only migration the two are the same
-- file; a later migration only adds (docs/database.md, "Upgrades") and changes schema.sql
-- to match. tests/integration/test_schema_canonical.py checks that a database migrated
-- from empty equals one built from schema.sql, catalog for catalog.
--
-- Sections, in the order a reader needs them (and PostgreSQL creates them: a LANGUAGE sql
-- function must find what it names when it is created):
--
--   clock                    tasker.now(), the time every function reads; uuid_v7(), keys
--   state rules              task and step states, the transitions allowed between them
--   templates                namespaces, registered templates, step names
--   tasks and steps          tasks, workflow steps, edges, parent counters, batch slots
--   transitions              the append-only history of states, checked by a trigger
--   ledgers                  dead-letter queue, budget ledger, planner calls, grammar effects
--   read models              transition_events, task_budget_use
--   engine functions         claim, complete, fail, enqueue: the worker's calls
--   batch claims             the set-based claim and completion of several steps at once
--   operator functions       cancel, retry, settle, resume
--   staleness and DLQ        the sweeper's calls
--   stats                    the values the outlier alerts watch
--   gates                    a composition waiting for a person's approval
--
-- Functions are created with CREATE FUNCTION, not CREATE OR REPLACE: a second definition of
-- one function in this file fails instead of silently replacing the first.
--
-- Tables follow Tasker Core's names. The transition tables are the source of truth for
-- state: exactly one row per entity is `most_recent` (a partial unique index guards it) and
-- `current_state` on tasks / workflow_steps is a cache written in the same transaction.
-- Transitions are written by the engine functions below while they hold the entity's row
-- lock; a trigger checks every transition row against the rule tables, names its event, and
-- rejects a row that breaks the rules (SQLSTATE TK001).
--
-- Time: every function reads tasker.now(), which honours the session setting
-- `tasker.fake_now` so that tests can move time (backoff, leases, staleness).

CREATE SCHEMA IF NOT EXISTS tasker;

-- ---------------------------------------------------------------------------------------
-- Clock
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION tasker.now() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('tasker.fake_now', true), '')::timestamptz,
                    clock_timestamp())
$$;

-- Keys: new rows take time-ordered uuids (version 7: the first 48 bits are the creation time
-- in milliseconds), so that each index grows at its right edge, where its pages are in
-- memory, however much history the database holds; random keys would land on random pages.
-- Nothing reads order or time from a uuid. Tasks keep random uuids (see tasks).
-- tasker.uuid_v7() is PostgreSQL's own uuidv7() from version 18 on, else the same layout
-- built from gen_random_uuid().
CREATE FUNCTION tasker.uuid_v7_portable() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    -- the time in the first six bytes, then the version bits 0111 (random uuids carry 0100)
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp())
                                                     * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$;

DO $$
BEGIN
    IF current_setting('server_version_num')::integer >= 180000 THEN
        CREATE FUNCTION tasker.uuid_v7() RETURNS uuid
        LANGUAGE sql VOLATILE PARALLEL SAFE AS 'SELECT uuidv7()';
    ELSE
        CREATE FUNCTION tasker.uuid_v7() RETURNS uuid
        LANGUAGE sql VOLATILE PARALLEL SAFE AS 'SELECT tasker.uuid_v7_portable()';
    END IF;
END
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
CROSS JOIN (VALUES ('cancelled', 'Cancel'), ('resolved_manually', 'ResolveManually'))
    AS t(to_state, event)
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
CROSS JOIN (VALUES ('resolved_manually', 'ResolveManually'), ('complete', 'CompleteManually'))
    AS t(to_state, event)
WHERE s.state NOT IN ('resolved_manually', 'complete', 'cancelled')
ON CONFLICT DO NOTHING;

-- ---------------------------------------------------------------------------------------
-- Templates
-- ---------------------------------------------------------------------------------------

CREATE TABLE tasker.task_namespaces (
    task_namespace_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_v7(),
    name                varchar(64) NOT NULL UNIQUE,
    description         text,
    created_at          timestamptz NOT NULL DEFAULT tasker.now(),
    updated_at          timestamptz NOT NULL DEFAULT tasker.now()
);

CREATE TABLE tasker.named_tasks (
    named_task_uuid     uuid PRIMARY KEY DEFAULT tasker.uuid_v7(),
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
    named_step_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_v7(),
    name            varchar(255) NOT NULL UNIQUE,
    description     text,
    created_at      timestamptz NOT NULL DEFAULT tasker.now()
);

-- ---------------------------------------------------------------------------------------
-- Tasks and steps
-- ---------------------------------------------------------------------------------------

CREATE TABLE tasker.tasks (
    -- random, not time-ordered: people name a task by the first characters of its uuid
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
    updated_at            timestamptz NOT NULL DEFAULT tasker.now(),
    -- the W3C trace context of the task: a trace id (32 hex digits) and the id of the task's
    -- own span (16 hex digits), assigned when the task is created, so that every process that
    -- runs one of its steps puts its spans in the same trace without asking anyone. Last
    -- among the columns, where databases made before this baseline have them: the row type
    -- tasker.tasks is the same on both
    trace_id              varchar(32) CHECK (trace_id ~ '^[0-9a-f]{32}$'),
    span_id               varchar(16) CHECK (span_id ~ '^[0-9a-f]{16}$'),
    -- the limits of the delegation chain this task starts (depth, aggregate budget); {} none
    chain_limits          jsonb NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX tasks_identity_hash_key ON tasker.tasks (identity_hash);
CREATE INDEX tasks_incomplete_idx ON tasker.tasks (priority DESC, created_at) WHERE NOT complete;
CREATE INDEX tasks_correlation_idx ON tasker.tasks (correlation_id);
CREATE INDEX tasks_parent_correlation_idx ON tasker.tasks (parent_correlation_id)
    WHERE parent_correlation_id IS NOT NULL;
CREATE INDEX tasks_state_idx ON tasker.tasks (current_state);
CREATE INDEX tasks_trace_idx ON tasker.tasks (trace_id) WHERE trace_id IS NOT NULL;
-- `inspect task latest`, `stats --since`
CREATE INDEX tasks_created_idx ON tasker.tasks (created_at);

CREATE TABLE tasker.workflow_steps (
    workflow_step_uuid      uuid PRIMARY KEY DEFAULT tasker.uuid_v7(),
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
    -- a step created at run time names the step that created it: the decision step whose
    -- outcome chose it, the batchable step that spawned it, the planning step that planned
    -- it; NULL for steps created with the task. Last, as trace_id on tasks (row types agree
    -- with databases made before this baseline)
    origin_step_uuid        uuid,
    -- a planned step's definition in the template's format (what it runs); NULL for the
    -- steps the template declares
    step_definition         jsonb,
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
    workflow_step_edge_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_v7(),
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

-- Appending a transition is two writes: the entity's `most_recent` row is demoted
-- (UPDATE ... SET most_recent = false ... RETURNING sort_key, to_state) and the next row is
-- inserted with sort_key + 1 (most_recent by default). transition_task and
-- record_step_transition do it for one task or step, and every path off the hot one calls
-- them. The claim/complete hot path keeps its own copies, fused into the statement that
-- rewrites the step rows: claim_step, start_enqueued, record_enqueued_taking,
-- record_completion, record_completions, and record_operator_transitions for its sets of
-- steps. A function call per transition there would cost a PL/pgSQL call per step and split
-- one set-based statement into one per step; tests/integration/test_schema_canonical.py
-- checks that every copy demotes, checks and numbers as record_step_transition does.
CREATE TABLE tasker.task_transitions (
    task_transition_uuid uuid PRIMARY KEY DEFAULT tasker.uuid_v7(),
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
    workflow_step_transition_uuid uuid NOT NULL DEFAULT tasker.uuid_v7(),
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

CREATE FUNCTION tasker.delete_step_transitions() RETURNS trigger
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
CREATE FUNCTION tasker.check_task_transition() RETURNS trigger
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

CREATE FUNCTION tasker.check_step_transition() RETURNS trigger
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
-- `tasker-ctl events --follow` reads transitions by time across all tasks. Rows arrive in
-- time order, so a BRIN index finds recent ones for a few pages of upkeep, where a B-tree
-- would add an entry to every insert of the hottest table.
CREATE INDEX workflow_step_transitions_created_brin
    ON tasker.workflow_step_transitions USING brin (created_at);
CREATE INDEX task_transitions_created_brin
    ON tasker.task_transitions USING brin (created_at);

-- ---------------------------------------------------------------------------------------
-- Ledgers: dead-letter queue, budget, planner calls, grammar effects
-- ---------------------------------------------------------------------------------------

CREATE TABLE tasker.tasks_dlq (
    dlq_entry_uuid       uuid PRIMARY KEY DEFAULT tasker.uuid_v7(),
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
-- `dlq list` shows the newest entries of one resolution status first.
CREATE INDEX tasks_dlq_status_time_idx ON tasker.tasks_dlq (resolution_status, dlq_timestamp DESC);

CREATE TABLE tasker.task_budget_entries (
    budget_entry_uuid  uuid PRIMARY KEY DEFAULT tasker.uuid_v7(),
    task_uuid          uuid NOT NULL REFERENCES tasker.tasks ON DELETE CASCADE,
    workflow_step_uuid uuid REFERENCES tasker.workflow_steps ON DELETE CASCADE,
    resource           varchar(32) NOT NULL CHECK (resource IN (
        'steps', 'phases', 'llm_calls', 'tokens', 'cost_usd', 'wall_seconds')),
    kind               varchar(16) NOT NULL CHECK (kind IN ('reserve', 'commit', 'release')),
    amount             numeric NOT NULL CHECK (amount >= 0),
    note               text,
    created_at         timestamptz NOT NULL DEFAULT tasker.now(),
    -- the planning attempt that made the entry, if any
    planning_attempt_uuid uuid
);
CREATE INDEX task_budget_entries_task_idx ON tasker.task_budget_entries (task_uuid);
CREATE INDEX task_budget_entries_attempt_idx ON tasker.task_budget_entries (planning_attempt_uuid)
    WHERE planning_attempt_uuid IS NOT NULL;

-- A planner's call and its result, accepted or not: what `inspect --planning` shows and
-- `stats` counts (fragment validation failure rate). One row per attempt; a rejected
-- fragment keeps its findings, so a re-plan can be compared with what it replaced.
CREATE TABLE tasker.planning_attempts (
    planning_attempt_uuid  uuid PRIMARY KEY DEFAULT tasker.uuid_v7(),
    task_uuid              uuid NOT NULL REFERENCES tasker.tasks ON DELETE CASCADE,
    -- the planning step that made the call
    workflow_step_uuid     uuid NOT NULL REFERENCES tasker.workflow_steps ON DELETE CASCADE,
    planning_phase         integer NOT NULL DEFAULT 1 CHECK (planning_phase >= 1),
    attempt                integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    provider               varchar(64),
    model                  varchar(128),
    prompt                 text,
    prompt_hash            varchar(64),
    capability_schema      jsonb,
    capability_schema_hash varchar(64),
    fragment_id            varchar(128),
    fragment               jsonb,
    -- validation findings: [{code, severity, stage, step, path, message, hint}]
    findings               jsonb NOT NULL DEFAULT '[]',
    accepted               boolean NOT NULL DEFAULT false,
    error                  text,
    tokens_in              integer CHECK (tokens_in >= 0),
    tokens_out             integer CHECK (tokens_out >= 0),
    latency_ms             integer CHECK (latency_ms >= 0),
    cost_usd               numeric CHECK (cost_usd >= 0),
    created_at             timestamptz NOT NULL DEFAULT tasker.now(),
    -- written before the call ('calling', with what it reserved), completed after it: a
    -- worker that dies during the call leaves a row the next worker counts as spent
    -- ('interrupted')
    status                 varchar(16) NOT NULL DEFAULT 'answered'
        CHECK (status IN ('calling', 'answered', 'failed', 'interrupted')),
    planner                varchar(255),
    prompt_version         varchar(32),
    capability_text        text,
    answer                 text,
    reserved               jsonb NOT NULL DEFAULT '{}',
    -- the usage was not reported: tokens and cost are the reservation's worst case
    usage_estimated        boolean NOT NULL DEFAULT false,
    prices_version         varchar(64),
    finished_at            timestamptz,
    -- a planner's call for a fragment, or a call summarizing a large result for a prompt
    purpose                varchar(16) NOT NULL DEFAULT 'plan'
        CHECK (purpose IN ('plan', 'summarize')),
    -- how each input of the prompt was given: [{name, strategy, bytes_before, bytes_after}]
    context_inputs         jsonb NOT NULL DEFAULT '[]',
    UNIQUE (workflow_step_uuid, planning_phase, attempt)
);
CREATE INDEX planning_attempts_task_idx ON tasker.planning_attempts (task_uuid);
-- (declared here: the ledger's table comes first)
ALTER TABLE tasker.task_budget_entries
    ADD FOREIGN KEY (planning_attempt_uuid) REFERENCES tasker.planning_attempts ON DELETE CASCADE;

-- The action grammar's storage: the outbox that `emit` writes events into, and the ledger of
-- effects that makes a retried `persist` or `emit` happen once. The domain events a step
-- declares (`publishes_events`) share the outbox: they are written in the transaction that
-- records the outcome they describe, keyed by step, attempt and declaration.

CREATE TABLE tasker.grammar_outbox (
    event_uuid          uuid PRIMARY KEY DEFAULT tasker.uuid_v7(),
    idempotency_key     varchar(128) NOT NULL UNIQUE,
    resource            varchar(128) NOT NULL,
    event_name          varchar(255) NOT NULL,
    event_version       varchar(64),
    delivery_mode       varchar(16) NOT NULL DEFAULT 'async',
    payload             jsonb NOT NULL,
    metadata            jsonb NOT NULL DEFAULT '{}',
    task_uuid           uuid REFERENCES tasker.tasks (task_uuid) ON DELETE SET NULL,
    workflow_step_uuid  uuid,
    invocation_index    integer,
    created_at          timestamptz NOT NULL DEFAULT tasker.now(),
    published_at        timestamptz,
    -- who wrote the event: a composition's `emit` or a step's declaration (publishes_events)
    source              varchar(8) NOT NULL DEFAULT 'emit' CHECK (source IN ('emit', 'step')),
    -- a step's event: the attempt whose outcome published it, that outcome, the
    -- declaration's condition and its custom publisher
    attempt             integer,
    step_outcome        varchar(24)
        CHECK (step_outcome IN ('success', 'retryable_failure', 'permanent_failure')),
    publication_condition varchar(24),
    publisher           varchar(255),
    -- why the event was not published ({code, message, problems}); NULL when it was
    rejection           jsonb
);
-- a relay reads what is not yet published, oldest first
CREATE INDEX grammar_outbox_unpublished_idx ON tasker.grammar_outbox (created_at)
    WHERE published_at IS NULL;
CREATE INDEX grammar_outbox_task_idx ON tasker.grammar_outbox (task_uuid);
CREATE INDEX grammar_outbox_created_idx ON tasker.grammar_outbox (created_at, event_uuid);

CREATE TABLE tasker.grammar_effects (
    idempotency_key     varchar(128) PRIMARY KEY,
    task_uuid           uuid,
    workflow_step_uuid  uuid,
    invocation_index    integer NOT NULL,
    capability          varchar(32) NOT NULL,
    resource            varchar(128) NOT NULL,
    entity              varchar(255) NOT NULL,
    result              jsonb NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT tasker.now()
);
CREATE INDEX grammar_effects_step_idx ON tasker.grammar_effects (workflow_step_uuid);

-- ---------------------------------------------------------------------------------------
-- Read models
-- ---------------------------------------------------------------------------------------

-- Every transition of a task or of one of its steps, in one shape whatever created the
-- step (the template, a decision, a batch, a planner): what `tasker-ctl events` prints and
-- what structured logs carry. `entity` tells the two apart; the step fields are NULL for a
-- task's own transitions.
CREATE VIEW tasker.transition_events AS
SELECT tt.task_transition_uuid AS event_uuid,
       'task'::varchar(8) AS entity,
       tt.created_at AS occurred_at,
       tt.task_uuid,
       t.namespace_name,
       t.correlation_id,
       t.trace_id,
       NULL::uuid AS workflow_step_uuid,
       NULL::varchar(255) AS step_name,
       tt.from_state,
       tt.to_state,
       tt.event,
       NULL::integer AS attempt,
       tt.sort_key,
       tt.metadata,
       NULL::varchar(32) AS created_by,
       NULL::varchar(32) AS handler_type,
       NULL::uuid AS planning_step_uuid,
       NULL::varchar(128) AS fragment_id,
       NULL::integer AS planning_phase,
       NULL::varchar(255) AS composition_source
FROM tasker.task_transitions tt
JOIN tasker.tasks t ON t.task_uuid = tt.task_uuid
UNION ALL
SELECT st.workflow_step_transition_uuid,
       'step',
       st.created_at,
       st.task_uuid,
       s.namespace_name,
       t.correlation_id,
       t.trace_id,
       st.workflow_step_uuid,
       s.name,
       st.from_state,
       st.to_state,
       st.event,
       st.attempt,
       st.sort_key,
       st.metadata,
       s.created_by,
       s.handler_type,
       s.planning_step_uuid,
       s.fragment_id,
       s.planning_phase,
       s.composition_source
FROM tasker.workflow_step_transitions st
JOIN tasker.workflow_steps s ON s.workflow_step_uuid = st.workflow_step_uuid
JOIN tasker.tasks t ON t.task_uuid = st.task_uuid;

-- What an external consumer reads: every published domain event (rejected ones left out),
-- with its task's namespace and correlation id and its step's name. A relay that forwards
-- events marks each one it delivered in `tasker.grammar_outbox.published_at`.
CREATE VIEW tasker.domain_events AS
SELECT o.event_uuid,
       o.created_at AS occurred_at,
       o.event_name,
       o.event_version,
       o.delivery_mode,
       o.payload,
       o.metadata,
       o.source,
       o.resource,
       o.task_uuid,
       t.namespace_name,
       t.correlation_id,
       o.workflow_step_uuid,
       s.name AS step_name,
       o.attempt,
       o.step_outcome,
       o.publication_condition,
       o.publisher,
       o.idempotency_key,
       o.published_at
FROM tasker.grammar_outbox o
LEFT JOIN tasker.tasks t ON t.task_uuid = o.task_uuid
LEFT JOIN tasker.workflow_steps s ON s.workflow_step_uuid = o.workflow_step_uuid
WHERE o.rejection IS NULL;

-- Each task's use of each budget resource, by the ledger's rule (engine/rules/budget.py says
-- the same in Python): a release frees open reservations first, and what it frees beyond them
-- was committed.
CREATE VIEW tasker.task_budget_use AS
SELECT task_uuid, resource,
       greatest(0, committed - greatest(0, released - greatest(0, reserved - committed)))
           AS used,
       greatest(0, reserved - committed - released) AS reserved
FROM (
    SELECT task_uuid, resource,
           coalesce(sum(amount) FILTER (WHERE kind = 'commit'), 0) AS committed,
           coalesce(sum(amount) FILTER (WHERE kind = 'reserve'), 0) AS reserved,
           coalesce(sum(amount) FILTER (WHERE kind = 'release'), 0) AS released
    FROM tasker.task_budget_entries
    GROUP BY task_uuid, resource
) sums;

-- What the outlier alerts of `tasker-ctl stats` watch, one value per task of a window (the

-- ---------------------------------------------------------------------------------------
-- Engine functions
-- ---------------------------------------------------------------------------------------

-- Every state change of the orchestrator is one call, one transaction.
--
--   transition_task / transition_step   record a transition (lock, compare, insert, cache)
--   enqueue_steps                       make pending steps claimable
--   enqueue_ready_children              count a finished step's children down, enqueue the
--                                       ready ones (enqueue_children_of for a set of one)
--   claim_step                          take the next claimable step with a lease
--   extend_lease                        heartbeat of a running attempt
--   complete_step / fail_step           store an attempt's outcome, enqueue ready children,
--                                       finalize or block the task
--   complete_and_claim                  a completion (if any) and the worker's next claims
--                                       in one transaction (one round trip)
--   parent_results / dependency_results what a step's handler sees of its ancestors
--   release_batch_slot                  a finished batch worker's slot to the next waiting
--                                       worker of its batch (parallelism)
--   block_if_stuck                      block a task left only with isolated batch failures
--   record_checkpoint                   a batch worker's progress within its attempt
--   dispatch_task                       the task as a claimed step's handler sees it
--
-- A completion or failure must carry the attempt number it was claimed with (the fencing
-- token); a late result from an attempt whose lease expired and was taken over is refused
-- with SQLSTATE TK002. Unknown entities raise TK003.
--
-- Locks. Step rows are locked before the task row, children in uuid order, and a
-- transaction that holds a task row never waits for a step row (block_task skips steps that
-- are locked; claims re-check the task's state), so engine transactions cannot deadlock.
-- Only outcomes that may change the task's state take its row: failures, and completions of
-- steps without children (the last step of a task to finish is always such a leaf). Other
-- completions of one task run side by side. Batches keep the same order: a worker's own
-- step rows first, claims with SKIP LOCKED, then shard counters and children in one global
-- order, task rows last (in uuid order).

-- A task in one of these states takes no new work: nothing of it is enqueued or claimed.
CREATE FUNCTION tasker.task_accepts_work(p_state varchar) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_state NOT IN ('blocked_by_failures', 'complete', 'error', 'cancelled',
                           'resolved_manually')
$$;

CREATE FUNCTION tasker.transition_task(
    p_task uuid, p_to varchar, p_metadata jsonb DEFAULT '{}', p_expected varchar DEFAULT NULL
) RETURNS varchar
LANGUAGE plpgsql AS $$
DECLARE
    v_from  varchar;
    v_sort  integer;
BEGIN
    SELECT current_state INTO v_from FROM tasker.tasks WHERE task_uuid = p_task FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'task % does not exist', p_task USING ERRCODE = 'TK003';
    END IF;
    IF p_expected IS NOT NULL AND v_from <> p_expected THEN
        RAISE EXCEPTION 'task % is %, not %', p_task, v_from, p_expected USING ERRCODE = 'TK001';
    END IF;
    UPDATE tasker.task_transitions SET most_recent = false
    WHERE task_uuid = p_task AND most_recent
    RETURNING sort_key INTO v_sort;
    -- the rules trigger names the event, or rejects the row
    INSERT INTO tasker.task_transitions (task_uuid, from_state, to_state, metadata, sort_key)
    VALUES (p_task, v_from, p_to, p_metadata, coalesce(v_sort, 0) + 1);
    UPDATE tasker.tasks
    SET current_state = p_to,
        updated_at = tasker.now(),
        complete = (p_to = 'complete') OR complete,
        completed_at = CASE WHEN p_to = 'complete' THEN tasker.now() ELSE completed_at END
    WHERE task_uuid = p_task;
    RETURN v_from;
END
$$;

-- Append a step transition. The caller holds the step's row lock, knows its current state
-- (p_from) and writes workflow_steps.current_state = p_to in its own update of the row, so
-- that one engine call rewrites the step row once.
CREATE FUNCTION tasker.record_step_transition(
    p_step uuid, p_task uuid, p_from varchar, p_to varchar, p_attempt integer,
    p_metadata jsonb DEFAULT '{}'
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_sort integer;
    v_last varchar;
BEGIN
    UPDATE tasker.workflow_step_transitions SET most_recent = false
    WHERE workflow_step_uuid = p_step AND most_recent
    RETURNING sort_key, to_state INTO v_sort, v_last;
    IF v_last IS DISTINCT FROM p_from THEN
        RAISE EXCEPTION 'step % is % in its transitions, not %', p_step,
            coalesce(v_last, '(new)'), coalesce(p_from, '(new)') USING ERRCODE = 'TK001';
    END IF;
    INSERT INTO tasker.workflow_step_transitions
        (workflow_step_uuid, task_uuid, from_state, to_state, attempt, metadata, sort_key)
    VALUES (p_step, p_task, p_from, p_to, p_attempt, p_metadata, coalesce(v_sort, 0) + 1);
END
$$;

CREATE FUNCTION tasker.transition_step(
    p_step uuid, p_to varchar, p_metadata jsonb DEFAULT '{}', p_expected varchar DEFAULT NULL
) RETURNS varchar
LANGUAGE plpgsql AS $$
DECLARE
    v_step tasker.workflow_steps;
BEGIN
    SELECT * INTO v_step FROM tasker.workflow_steps WHERE workflow_step_uuid = p_step FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'step % does not exist', p_step USING ERRCODE = 'TK003';
    END IF;
    IF p_expected IS NOT NULL AND v_step.current_state <> p_expected THEN
        RAISE EXCEPTION 'step % is %, not %', p_step, v_step.current_state, p_expected
            USING ERRCODE = 'TK001';
    END IF;
    PERFORM tasker.record_step_transition(p_step, v_step.task_uuid, v_step.current_state, p_to,
                                          v_step.attempts, p_metadata);
    UPDATE tasker.workflow_steps SET current_state = p_to, updated_at = tasker.now()
    WHERE workflow_step_uuid = p_step;
    RETURN v_step.current_state;
END
$$;

-- Make pending steps claimable now (TK001 unless every one of them is pending).
CREATE FUNCTION tasker.enqueue_steps(p_steps uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_now     timestamptz := tasker.now();
    v_enqueued uuid[];
BEGIN
    PERFORM 1 FROM tasker.workflow_steps WHERE workflow_step_uuid = ANY (p_steps)
    ORDER BY workflow_step_uuid FOR UPDATE;
    WITH enqueued AS (
        UPDATE tasker.workflow_steps
        SET current_state = 'enqueued', claimable_at = v_now, updated_at = v_now
        WHERE workflow_step_uuid = ANY (p_steps) AND current_state = 'pending'
        RETURNING workflow_step_uuid
    )
    SELECT array_agg(workflow_step_uuid) INTO v_enqueued FROM enqueued;
    IF coalesce(cardinality(v_enqueued), 0) <> cardinality(p_steps) THEN
        RAISE EXCEPTION 'of % steps to enqueue only % exist and are pending',
            cardinality(p_steps), coalesce(cardinality(v_enqueued), 0) USING ERRCODE = 'TK001';
    END IF;
    PERFORM tasker.record_enqueued(v_enqueued);
END
$$;

-- Record pending -> enqueued for steps whose rows already say so (the caller enqueued them);
-- every step of p_taken, whose row already says in_progress, leased to p_taker, also gets
-- its enqueued -> in_progress, in the same statement.
CREATE FUNCTION tasker.record_enqueued_taking(
    p_steps uuid[], p_taken uuid[], p_taker varchar
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_count integer;
BEGIN
    WITH previous AS (
        UPDATE tasker.workflow_step_transitions SET most_recent = false
        WHERE workflow_step_uuid = ANY (p_steps) AND most_recent
        RETURNING workflow_step_uuid, task_uuid, to_state, sort_key
    ), marked AS (
        SELECT p.*, s.attempts, p.workflow_step_uuid = ANY (p_taken) AS taken
        FROM previous p JOIN tasker.workflow_steps s USING (workflow_step_uuid)
        WHERE p.to_state = 'pending'
    )
    INSERT INTO tasker.workflow_step_transitions
        (workflow_step_uuid, task_uuid, from_state, to_state, attempt, metadata, sort_key,
         most_recent)
    SELECT workflow_step_uuid, task_uuid, 'pending', 'enqueued', attempts - taken::integer,
           '{}'::jsonb, sort_key + 1, NOT taken
    FROM marked
    UNION ALL
    SELECT workflow_step_uuid, task_uuid, 'enqueued', 'in_progress', attempts,
           jsonb_build_object('worker', p_taker), sort_key + 2, true
    FROM marked WHERE taken;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count <> cardinality(p_steps) + cardinality(p_taken) THEN
        RAISE EXCEPTION 'of % steps to enqueue only % are pending in their transitions',
            cardinality(p_steps), v_count USING ERRCODE = 'TK001';
    END IF;
END
$$;

-- record_enqueued_taking for callers that hand at most one step to a worker.
CREATE FUNCTION tasker.record_enqueued(
    p_steps uuid[], p_taken uuid DEFAULT NULL, p_taker varchar DEFAULT NULL
) RETURNS void
LANGUAGE sql AS $$
    SELECT tasker.record_enqueued_taking(p_steps, array_remove(ARRAY[p_taken], NULL), p_taker)
$$;

-- Count down the children of every step of p_parents and enqueue those left with no pending
-- parent, when their task takes work (its state read without a lock: a task blocked
-- meanwhile is caught by the claim, see claim_step). A child with many parents is counted
-- in shards (see step_parent_counts): a shard counter takes one off per parent in it, and a
-- child's own count one per plain edge and per shard emptied now. Children are counted down
-- even when their task takes no work, so that the counts stay true when it resumes. Up to
-- p_take of the children made ready (in uuid order) are started at once for p_taker, leased
-- for p_lease_seconds: their transitions still go pending -> enqueued -> in_progress,
-- recorded together. Shard rows, then child rows, are locked in one global order, so that
-- parents sharing children cannot deadlock.
CREATE FUNCTION tasker.enqueue_children_of(
    p_parents uuid[], p_taker varchar, p_lease_seconds integer, p_take integer,
    OUT enqueued integer, OUT taken uuid[]
)
LANGUAGE plpgsql AS $$
DECLARE
    v_now   timestamptz := tasker.now();
    v_until timestamptz := v_now + make_interval(secs => coalesce(p_lease_seconds, 0));
    v_ready uuid[];
BEGIN
    WITH shard_hits AS (
        SELECT e.to_step_uuid AS child, e.counter_shard AS shard, count(*)::integer AS hits
        FROM tasker.workflow_step_edges e
        WHERE e.from_step_uuid = ANY (p_parents) AND e.counter_shard IS NOT NULL
        GROUP BY 1, 2
    ), locked_shards AS (
        SELECT pc.workflow_step_uuid, pc.shard, h.hits
        FROM tasker.step_parent_counts pc
        JOIN shard_hits h ON pc.workflow_step_uuid = h.child AND pc.shard = h.shard
        WHERE pc.pending > 0
        ORDER BY pc.workflow_step_uuid, pc.shard
        FOR UPDATE OF pc
    ), counted_shards AS (
        UPDATE tasker.step_parent_counts pc SET pending = greatest(pc.pending - l.hits, 0)
        FROM locked_shards l
        WHERE pc.workflow_step_uuid = l.workflow_step_uuid AND pc.shard = l.shard
        RETURNING pc.workflow_step_uuid, pc.pending
    ), satisfied AS (
        SELECT child, sum(n)::integer AS n FROM (
            SELECT e.to_step_uuid AS child, count(*) AS n FROM tasker.workflow_step_edges e
            WHERE e.from_step_uuid = ANY (p_parents) AND e.counter_shard IS NULL
            GROUP BY 1
            UNION ALL
            SELECT workflow_step_uuid, count(*) FROM counted_shards WHERE pending = 0
            GROUP BY 1
        ) parts
        GROUP BY child
    ), locked AS (
        SELECT c.workflow_step_uuid, d.n,
               c.pending_parents <= d.n AND c.current_state = 'pending'
               AND tasker.task_accepts_work(t.current_state) AS ready
        FROM satisfied d
        JOIN tasker.workflow_steps c ON c.workflow_step_uuid = d.child
        JOIN tasker.tasks t ON t.task_uuid = c.task_uuid
        ORDER BY c.workflow_step_uuid
        FOR UPDATE OF c
    ), chosen AS (
        SELECT workflow_step_uuid FROM locked
        WHERE ready AND p_taker IS NOT NULL
        ORDER BY workflow_step_uuid LIMIT greatest(p_take, 0)
    ), counted AS (
        UPDATE tasker.workflow_steps c
        SET pending_parents = greatest(c.pending_parents - l.n, 0),
            current_state = CASE WHEN h.workflow_step_uuid IS NOT NULL THEN 'in_progress'
                                 WHEN l.ready THEN 'enqueued'
                                 ELSE c.current_state END,
            claimable_at = CASE WHEN h.workflow_step_uuid IS NOT NULL THEN v_until
                                WHEN l.ready THEN v_now
                                ELSE c.claimable_at END,
            attempts = c.attempts + (h.workflow_step_uuid IS NOT NULL)::integer,
            in_process = c.in_process OR h.workflow_step_uuid IS NOT NULL,
            last_attempted_at = CASE WHEN h.workflow_step_uuid IS NOT NULL THEN v_now
                                     ELSE c.last_attempted_at END,
            lease_owner = CASE WHEN h.workflow_step_uuid IS NOT NULL THEN p_taker
                               ELSE c.lease_owner END,
            lease_expires_at = CASE WHEN h.workflow_step_uuid IS NOT NULL THEN v_until
                                    ELSE c.lease_expires_at END,
            updated_at = v_now
        FROM locked l LEFT JOIN chosen h ON h.workflow_step_uuid = l.workflow_step_uuid
        WHERE c.workflow_step_uuid = l.workflow_step_uuid
        RETURNING c.workflow_step_uuid, l.ready, h.workflow_step_uuid AS chosen_uuid
    )
    SELECT array_agg(workflow_step_uuid) FILTER (WHERE ready),
           coalesce(array_agg(chosen_uuid) FILTER (WHERE chosen_uuid IS NOT NULL), '{}')
    INTO v_ready, taken FROM counted;
    enqueued := coalesce(cardinality(v_ready), 0);
    IF enqueued > 0 THEN
        PERFORM tasker.record_enqueued_taking(v_ready, taken, p_taker);
    END IF;
END
$$;

-- Count down the children of p_step and enqueue those left with no pending parent (see
-- enqueue_children_of, of which this is the set of one); with p_taker, the first of them is
-- started at once as an attempt of that worker. children is 0 for a step without children.
CREATE FUNCTION tasker.enqueue_ready_children(
    p_step uuid, p_task uuid, p_taker varchar DEFAULT NULL,
    p_lease_seconds integer DEFAULT NULL,
    OUT children integer, OUT enqueued integer, OUT taken uuid
)
LANGUAGE plpgsql
-- one generic plan, also for the enqueue_children_of call: planned afresh per call, its
-- statement of seven parts cost about a third of a chain step; for one parent (index lookups
-- by uuid) one plan serves all. Batch completions pass many parents and keep custom plans.
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    SELECT count(*) INTO children FROM tasker.workflow_step_edges WHERE from_step_uuid = p_step;
    IF children = 0 THEN
        enqueued := 0;
        RETURN;
    END IF;
    SELECT c.enqueued, c.taken[1] INTO enqueued, taken
    FROM tasker.enqueue_children_of(ARRAY[p_step], p_taker, p_lease_seconds, 1) c;
END
$$;

-- A step without children finished: if no step of its task is left, complete the task.
-- The task row is locked first and the steps are counted by a later statement (a fresh
-- snapshot): of two leaves finishing at once, the second sees the first's commit. A task
-- with isolated batch failures is blocked when nothing else of it can run.
CREATE FUNCTION tasker.finish_task_if_done(p_task uuid) RETURNS varchar
LANGUAGE plpgsql AS $$
DECLARE
    v_state    varchar;
    v_isolated boolean;
BEGIN
    SELECT current_state, has_isolated_failures INTO v_state, v_isolated
    FROM tasker.tasks WHERE task_uuid = p_task FOR UPDATE;
    IF v_state <> 'steps_in_process' THEN
        RETURN v_state;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM tasker.workflow_steps WHERE task_uuid = p_task AND NOT processed)
    THEN
        PERFORM tasker.settle_task(p_task, 'complete', '{}'::jsonb);
        RETURN 'complete';
    END IF;
    IF v_isolated THEN
        RETURN tasker.block_if_stuck(p_task);
    END IF;
    RETURN v_state;
END
$$;

-- A task whose failed batch workers were isolated (failure_strategy isolate) runs on
-- without them; once nothing else of it can run, it waits for an operator, blocked. The
-- caller holds the task row. Steps still able to run: those enqueued, running or waiting
-- for a retry, and pending ones with no parent left (enqueued when the task resumes).
CREATE FUNCTION tasker.block_if_stuck(p_task uuid) RETURNS varchar
LANGUAGE plpgsql AS $$
DECLARE
    v_failed uuid;
BEGIN
    IF EXISTS (
        SELECT 1 FROM tasker.workflow_steps
        WHERE task_uuid = p_task AND NOT processed
          AND (current_state IN ('enqueued', 'in_progress', 'waiting_for_retry',
                                 'enqueued_for_orchestration',
                                 'enqueued_as_error_for_orchestration')
               OR (current_state = 'pending' AND pending_parents = 0))
    ) THEN
        RETURN (SELECT current_state FROM tasker.tasks WHERE task_uuid = p_task);
    END IF;
    SELECT workflow_step_uuid INTO v_failed FROM tasker.workflow_steps
    WHERE task_uuid = p_task AND current_state = 'error' AND NOT processed
    ORDER BY updated_at LIMIT 1;
    IF v_failed IS NULL THEN
        RETURN (SELECT current_state FROM tasker.tasks WHERE task_uuid = p_task);
    END IF;
    PERFORM tasker.block_task(p_task, v_failed);
    RETURN 'blocked_by_failures';
END
$$;

-- A batch worker finished (or its failure was tolerated): its slot passes to the next
-- waiting worker of its batch, which is enqueued when nothing else holds it back. No-op
-- for a step without a running slot (most steps). Waiting rows are taken with SKIP
-- LOCKED: two workers finishing at once pass their slots to two different workers.
CREATE FUNCTION tasker.release_batch_slot(p_step uuid, p_task uuid) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_batch  uuid;
    v_held   varchar;
    v_next   uuid;
    v_now    timestamptz;
    v_ready  boolean;
BEGIN
    SELECT batch_step_uuid, state INTO v_batch, v_held FROM tasker.batch_worker_slots
    WHERE worker_step_uuid = p_step AND state <> 'released'
    FOR UPDATE;
    IF v_batch IS NULL THEN
        RETURN false;
    END IF;
    -- a worker resolved by an operator while it waited gives up its place in the queue
    UPDATE tasker.batch_worker_slots SET state = 'released' WHERE worker_step_uuid = p_step;
    IF v_held = 'waiting' THEN
        RETURN false;
    END IF;
    SELECT worker_step_uuid INTO v_next FROM tasker.batch_worker_slots
    WHERE batch_step_uuid = v_batch AND state = 'waiting'
    ORDER BY ordinal LIMIT 1
    FOR UPDATE SKIP LOCKED;
    IF v_next IS NULL THEN
        RETURN false;
    END IF;
    UPDATE tasker.batch_worker_slots SET state = 'running' WHERE worker_step_uuid = v_next;
    v_now := tasker.now();
    UPDATE tasker.workflow_steps s
    SET pending_parents = greatest(s.pending_parents - 1, 0),
        current_state = CASE WHEN r.ready THEN 'enqueued' ELSE s.current_state END,
        claimable_at = CASE WHEN r.ready THEN v_now ELSE s.claimable_at END,
        updated_at = v_now
    FROM (SELECT w.pending_parents = 1 AND w.current_state = 'pending'
                 AND tasker.task_accepts_work(t.current_state) AS ready
          FROM tasker.workflow_steps w JOIN tasker.tasks t USING (task_uuid)
          WHERE w.workflow_step_uuid = v_next FOR UPDATE OF w) r
    WHERE s.workflow_step_uuid = v_next
    RETURNING r.ready INTO v_ready;
    IF v_ready THEN
        PERFORM tasker.record_enqueued(ARRAY[v_next]);
    END IF;
    RETURN v_ready;
END
$$;

-- Move a running task to a resting state through evaluating_results.
CREATE FUNCTION tasker.settle_task(p_task uuid, p_to varchar, p_metadata jsonb)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_state varchar;
BEGIN
    SELECT current_state INTO v_state FROM tasker.tasks WHERE task_uuid = p_task FOR UPDATE;
    IF v_state = p_to OR v_state IN ('complete', 'error', 'cancelled', 'resolved_manually') THEN
        RETURN;
    END IF;
    IF v_state <> 'evaluating_results' THEN
        PERFORM tasker.transition_task(p_task, 'evaluating_results', p_metadata);
    END IF;
    PERFORM tasker.transition_task(p_task, p_to, p_metadata);
END
$$;

-- A task with a failed step stops: its waiting steps are no longer claimable. Attempts
-- already running finish, and their outcomes are recorded, but enqueue nothing. Steps
-- locked by another transaction are skipped (the task row's holder never waits for a step):
-- a claim re-checks the task's state and drops a step of a task that takes no work.
CREATE FUNCTION tasker.block_task(p_task uuid, p_step uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM tasker.tasks WHERE task_uuid = p_task FOR UPDATE;
    UPDATE tasker.workflow_steps SET claimable_at = NULL
    WHERE workflow_step_uuid IN (
        SELECT workflow_step_uuid FROM tasker.workflow_steps
        WHERE task_uuid = p_task AND claimable_at IS NOT NULL
          AND current_state IN ('enqueued', 'waiting_for_retry')
        FOR UPDATE SKIP LOCKED);
    PERFORM tasker.settle_task(p_task, 'blocked_by_failures',
        jsonb_build_object('failed_step', p_step));
    PERFORM pg_notify('tasker_task_settled', p_task::text);
END
$$;

-- The attempt of p_step (in_progress, lease expired) is lost: its worker stopped renewing
-- the lease. Record it as a retryable failure; true when the step may be claimed again now.
-- A lost last attempt is a failure like any other (fail_step: the task is blocked, or the
-- batch's failure strategy applies).
CREATE FUNCTION tasker.release_lost_attempt(p_step tasker.workflow_steps)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_task_state varchar;
    v_retry      boolean := p_step.retryable AND p_step.attempts < p_step.max_attempts;
    v_metadata   jsonb := jsonb_build_object('reason', 'lease_expired',
                                             'worker', p_step.lease_owner);
    v_message    text := format('attempt %s lost: worker %s stopped renewing its lease',
                                p_step.attempts, p_step.lease_owner);
    v_results    jsonb := jsonb_build_object(
            'step_uuid', p_step.workflow_step_uuid, 'success', false, 'result', NULL,
            'status', CASE WHEN v_retry THEN 'retryable_error' ELSE 'permanent_error' END,
            'error', jsonb_build_object('error_type', 'lease_expired', 'message', v_message,
                                        'retryable', true, 'metadata', v_metadata),
            'metadata', jsonb_build_object('retryable', true, 'error_type', 'lease_expired',
                                           'attempt', p_step.attempts,
                                           'worker_id', p_step.lease_owner));
BEGIN
    IF NOT v_retry THEN
        PERFORM tasker.fail_step(p_step.workflow_step_uuid, p_step.attempts, v_results, false,
                                 0, v_metadata);
        RETURN false;
    END IF;
    SELECT current_state INTO v_task_state FROM tasker.tasks
    WHERE task_uuid = p_step.task_uuid FOR UPDATE;
    UPDATE tasker.workflow_steps
    SET in_process = false, lease_owner = NULL, lease_expires_at = NULL, results = v_results
    WHERE workflow_step_uuid = p_step.workflow_step_uuid;
    PERFORM tasker.record_step_transition(p_step.workflow_step_uuid, p_step.task_uuid,
        'in_progress', 'waiting_for_retry', p_step.attempts, v_metadata);
    IF tasker.task_accepts_work(v_task_state) THEN
        RETURN true;
    END IF;
    UPDATE tasker.workflow_steps SET current_state = 'waiting_for_retry', claimable_at = NULL,
        updated_at = tasker.now()
    WHERE workflow_step_uuid = p_step.workflow_step_uuid;
    RETURN false;
END
$$;

-- p_recover false: stop at a step whose lease expired instead of recovering it (recovery
-- takes the task row, which a caller already holding other steps' rows must not wait for).
CREATE FUNCTION tasker.claim_step(
    p_worker varchar, p_namespaces varchar[], p_lease_seconds integer, p_task uuid DEFAULT NULL,
    p_recover boolean DEFAULT true
) RETURNS SETOF tasker.workflow_steps
LANGUAGE plpgsql AS $$
DECLARE
    v_step     tasker.workflow_steps;
    v_started  tasker.workflow_steps;
    v_now      timestamptz := tasker.now();
    v_until    timestamptz := v_now + make_interval(secs => p_lease_seconds);
    v_state    varchar;
BEGIN
    LOOP
        -- two statements rather than one with "p_task IS NULL OR ...": each gets a plan
        -- that walks its own index in claimable_at order
        IF p_task IS NOT NULL THEN
            SELECT * INTO v_step FROM tasker.workflow_steps
            WHERE task_uuid = p_task AND claimable_at <= v_now
            ORDER BY claimable_at
            LIMIT 1
            FOR UPDATE SKIP LOCKED;
        ELSE
            SELECT * INTO v_step FROM tasker.workflow_steps
            WHERE claimable_at <= v_now
              AND (p_namespaces IS NULL OR namespace_name = ANY (p_namespaces))
            ORDER BY claimable_at
            LIMIT 1
            FOR UPDATE SKIP LOCKED;
        END IF;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        v_state := v_step.current_state;
        IF v_state = 'enqueued' THEN
            -- the common case in one statement: record the transition and start the
            -- attempt; when the task stopped taking work, or the transitions do not say
            -- enqueued, nothing is written and the general path below deals with the step
            WITH previous AS (
                UPDATE tasker.workflow_step_transitions w SET most_recent = false
                FROM tasker.tasks t
                WHERE w.workflow_step_uuid = v_step.workflow_step_uuid AND w.most_recent
                  AND w.to_state = 'enqueued'
                  AND t.task_uuid = v_step.task_uuid AND tasker.task_accepts_work(t.current_state)
                RETURNING w.sort_key
            ), started AS (
                UPDATE tasker.workflow_steps s
                SET current_state = 'in_progress', attempts = s.attempts + 1,
                    in_process = true, last_attempted_at = v_now, lease_owner = p_worker,
                    lease_expires_at = v_until, claimable_at = v_until, updated_at = v_now
                FROM previous p
                WHERE s.workflow_step_uuid = v_step.workflow_step_uuid
                RETURNING s.*
            ), recorded AS (
                INSERT INTO tasker.workflow_step_transitions
                    (workflow_step_uuid, task_uuid, from_state, to_state, attempt, metadata,
                     sort_key)
                SELECT v_step.workflow_step_uuid, v_step.task_uuid, 'enqueued', 'in_progress',
                       v_step.attempts + 1, jsonb_build_object('worker', p_worker),
                       p.sort_key + 1
                FROM previous p
            )
            SELECT s.* INTO v_started FROM started s;
            IF v_started.workflow_step_uuid IS NOT NULL THEN
                RETURN NEXT v_started;
                RETURN;
            END IF;
        END IF;
        IF v_state = 'in_progress' THEN
            IF NOT p_recover THEN
                RETURN;
            END IF;
            CONTINUE WHEN NOT tasker.release_lost_attempt(v_step);
            v_state := 'waiting_for_retry';
        END IF;
        IF v_state NOT IN ('enqueued', 'pending', 'waiting_for_retry')
           OR NOT tasker.task_accepts_work(
                  (SELECT current_state FROM tasker.tasks WHERE task_uuid = v_step.task_uuid))
        THEN
            -- claimable_at on a step in another state, or of a task that stopped taking
            -- work after the step was enqueued, is stale: drop it rather than fail every
            -- claim that meets the step
            UPDATE tasker.workflow_steps SET claimable_at = NULL
            WHERE workflow_step_uuid = v_step.workflow_step_uuid;
            CONTINUE;
        END IF;
        IF v_state = 'waiting_for_retry' THEN
            PERFORM tasker.record_step_transition(v_step.workflow_step_uuid, v_step.task_uuid,
                'waiting_for_retry', 'enqueued', v_step.attempts);
            v_state := 'enqueued';
        END IF;
        PERFORM tasker.record_step_transition(v_step.workflow_step_uuid, v_step.task_uuid,
            v_state, 'in_progress', v_step.attempts + 1, jsonb_build_object('worker', p_worker));
        UPDATE tasker.workflow_steps
        SET current_state = 'in_progress',
            attempts = attempts + 1,
            in_process = true,
            last_attempted_at = v_now,
            lease_owner = p_worker,
            lease_expires_at = v_until,
            -- a lease that runs out makes the step claimable again (see release_lost_attempt);
            -- a child handed over by enqueue_ready_children gets the same lease columns
            claimable_at = v_until,
            updated_at = v_now
        WHERE workflow_step_uuid = v_step.workflow_step_uuid
        RETURNING * INTO v_step;
        RETURN NEXT v_step;
        RETURN;
    END LOOP;
END
$$;

CREATE FUNCTION tasker.extend_lease(
    p_step uuid, p_attempt integer, p_worker varchar, p_lease_seconds integer
) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_until timestamptz := tasker.now() + make_interval(secs => p_lease_seconds);
BEGIN
    UPDATE tasker.workflow_steps
    SET lease_expires_at = v_until, claimable_at = v_until
    WHERE workflow_step_uuid = p_step AND attempts = p_attempt
      AND current_state = 'in_progress' AND lease_owner = p_worker;
    RETURN FOUND;
END
$$;

-- Whether a step's stored result is final and handed to its descendants: it completed, was
-- resolved, or failed in a way its batch tolerates (processed: continue_on_failure).
CREATE FUNCTION tasker.has_final_result(p_state varchar, p_processed boolean)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_state IN ('complete', 'resolved_manually') OR (p_state = 'error' AND p_processed)
$$;

-- Results of every completed ancestor of a step, by step name (Tasker Core hands a handler
-- all of them, not only its parents'). Workers read the parents' results with the claim
-- (parent_results) and the rest only when a handler asks for them.
CREATE FUNCTION tasker.dependency_results(p_step uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE ancestors (step_uuid) AS (
        SELECT e.from_step_uuid FROM tasker.workflow_step_edges e
        WHERE e.to_step_uuid = p_step
        UNION
        SELECT e.from_step_uuid FROM tasker.workflow_step_edges e
        JOIN ancestors a ON e.to_step_uuid = a.step_uuid
    )
    SELECT coalesce(jsonb_object_agg(s.name, s.results), '{}'::jsonb)
    FROM ancestors a JOIN tasker.workflow_steps s ON s.workflow_step_uuid = a.step_uuid
    WHERE tasker.has_final_result(s.current_state, s.processed) AND s.results IS NOT NULL
$$;

-- The completed parents' results of a step, and whether the step has ancestors beyond its
-- parents. VOLATILE on purpose: called in the statement that claims the step, it must read
-- with a snapshot taken after the claim, which may have seen a parent's completion that
-- committed after the statement began.
CREATE FUNCTION tasker.parent_results(
    p_step uuid, OUT results jsonb, OUT has_more_ancestors boolean
)
LANGUAGE sql VOLATILE AS $$
    SELECT coalesce(jsonb_object_agg(s.name, s.results)
                    FILTER (WHERE tasker.has_final_result(s.current_state, s.processed)
                            AND s.results IS NOT NULL), '{}'::jsonb),
           coalesce(bool_or(EXISTS (SELECT 1 FROM tasker.workflow_step_edges g
                                    WHERE g.to_step_uuid = e.from_step_uuid)), false)
    FROM tasker.workflow_step_edges e
    JOIN tasker.workflow_steps s ON s.workflow_step_uuid = e.from_step_uuid
    WHERE e.to_step_uuid = p_step
$$;

-- Lock a step for an outcome and check the fencing token.
CREATE FUNCTION tasker.lock_attempt(p_step uuid, p_attempt integer)
RETURNS tasker.workflow_steps
LANGUAGE plpgsql AS $$
DECLARE
    v_step tasker.workflow_steps;
BEGIN
    SELECT * INTO v_step FROM tasker.workflow_steps WHERE workflow_step_uuid = p_step FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'step % does not exist', p_step USING ERRCODE = 'TK003';
    END IF;
    IF v_step.current_state <> 'in_progress' OR v_step.attempts <> p_attempt THEN
        RAISE EXCEPTION 'attempt % of step % is no longer current (step is % at attempt %)',
            p_attempt, p_step, v_step.current_state, v_step.attempts
            USING ERRCODE = 'TK002';
    END IF;
    RETURN v_step;
END
$$;

-- Store a successful attempt's result; the step row stays locked until the transaction ends.
-- One statement writes the fenced row update and its transition (what lock_attempt and
-- record_step_transition do in two calls); when it finds no current attempt, lock_attempt
-- names the reason.
CREATE FUNCTION tasker.record_completion(
    p_step uuid, p_attempt integer, p_results jsonb, p_metadata jsonb,
    OUT task_uuid uuid, OUT namespace_name varchar, OUT isolating boolean
)
LANGUAGE plpgsql AS $$
DECLARE
    v_now      timestamptz := tasker.now();
    v_recorded integer;
BEGIN
    WITH done AS (
        UPDATE tasker.workflow_steps s
        SET current_state = 'complete', results = p_results, processed = true,
            processed_at = v_now, in_process = false, claimable_at = NULL, lease_owner = NULL,
            lease_expires_at = NULL, updated_at = v_now
        WHERE s.workflow_step_uuid = p_step AND s.current_state = 'in_progress'
          AND s.attempts = p_attempt
        RETURNING s.task_uuid, s.namespace_name, tasker.isolates_failures(s) AS isolating
    ), previous AS (
        UPDATE tasker.workflow_step_transitions w SET most_recent = false
        WHERE w.workflow_step_uuid = p_step AND w.most_recent AND EXISTS (SELECT FROM done)
        RETURNING w.sort_key, w.to_state
    ), recorded AS (
        INSERT INTO tasker.workflow_step_transitions
            (workflow_step_uuid, task_uuid, from_state, to_state, attempt, metadata, sort_key)
        SELECT p_step, d.task_uuid, 'in_progress', 'complete', p_attempt, p_metadata,
               p.sort_key + 1
        FROM done d, previous p
        WHERE p.to_state = 'in_progress'
        RETURNING 1
    )
    SELECT d.task_uuid, d.namespace_name, d.isolating, (SELECT count(*) FROM recorded)
    INTO task_uuid, namespace_name, isolating, v_recorded FROM done d;
    IF task_uuid IS NULL THEN
        PERFORM tasker.lock_attempt(p_step, p_attempt);  -- raises TK003 or TK002
        RAISE EXCEPTION 'attempt % of step % is no longer current', p_attempt, p_step
            USING ERRCODE = 'TK002';
    END IF;
    IF v_recorded <> 1 THEN
        RAISE EXCEPTION 'step % is not in_progress in its transitions', p_step
            USING ERRCODE = 'TK001';
    END IF;
END
$$;

-- What a completion changes beyond the step: its batch slot, its children, and the task
-- when it was the last step left. With p_taker, one ready child is started at once for that
-- worker (see enqueue_ready_children); idle workers are woken for the rest. task_state is
-- the task's state after a step without children finished (NULL after other steps: their
-- completions do not read the task row). p_isolating: the step is a batch worker under
-- failure_strategy isolate (NULL: look it up); its completion may leave only isolated
-- failures, so it always asks, holding the task row (see block_if_stuck). Other steps ask
-- only once the task has had such a failure.
CREATE FUNCTION tasker.propagate_completion(
    p_step uuid, p_task uuid, p_namespace varchar, p_taker varchar DEFAULT NULL,
    p_lease_seconds integer DEFAULT NULL, p_isolating boolean DEFAULT NULL,
    OUT task_state varchar, OUT enqueued integer, OUT taken uuid
)
LANGUAGE plpgsql AS $$
DECLARE
    v_children integer;
    v_slot     boolean;
BEGIN
    v_slot := tasker.release_batch_slot(p_step, p_task);
    SELECT c.children, c.enqueued, c.taken INTO v_children, enqueued, taken
    FROM tasker.enqueue_ready_children(p_step, p_task, p_taker, p_lease_seconds) c;
    IF v_children = 0 THEN
        task_state := tasker.finish_task_if_done(p_task);
        IF task_state = 'complete' THEN
            PERFORM pg_notify('tasker_task_settled', p_task::text);
        END IF;
    ELSIF enqueued = 0 AND NOT v_slot AND (
        coalesce(p_isolating, (SELECT tasker.isolates_failures(s) FROM tasker.workflow_steps s
                               WHERE s.workflow_step_uuid = p_step))
        OR (SELECT has_isolated_failures FROM tasker.tasks WHERE task_uuid = p_task))
    THEN
        PERFORM 1 FROM tasker.tasks WHERE task_uuid = p_task AND has_isolated_failures
            AND current_state = 'steps_in_process' FOR UPDATE;
        IF FOUND THEN
            task_state := tasker.block_if_stuck(p_task);
        END IF;
    END IF;
    IF enqueued > (taken IS NOT NULL)::integer OR v_slot THEN
        PERFORM pg_notify('tasker_steps_ready', p_namespace);
    END IF;
END
$$;

-- Whether a step is a batch worker whose permanent failure stays with it
-- (failure_strategy isolate): the rest of its batch runs on without it.
CREATE FUNCTION tasker.isolates_failures(p_step tasker.workflow_steps)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_step.created_by = 'batch_spawn'
       AND p_step.inputs -> 'batch_metadata' ->> 'failure_strategy' = 'isolate'
$$;

CREATE FUNCTION tasker.complete_step(
    p_step uuid, p_attempt integer, p_results jsonb, p_metadata jsonb DEFAULT '{}'
) RETURNS TABLE (task_state varchar, enqueued integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_done record;
BEGIN
    v_done := tasker.record_completion(p_step, p_attempt, p_results, p_metadata);
    RETURN QUERY SELECT coalesce(c.task_state, t.current_state), c.enqueued
    FROM tasker.propagate_completion(p_step, v_done.task_uuid, v_done.namespace_name,
                                     p_isolating => v_done.isolating) c
    JOIN tasker.tasks t ON t.task_uuid = v_done.task_uuid;
END
$$;

-- complete_and_claim, claiming up to p_limit steps: the first as before (claim_step, or a
-- child the completion makes ready), the rest with start_enqueued (from the children too,
-- when the completion made several ready). A worker records one
-- success this way (a chain hands each step on in one statement); several at once go
-- through complete_and_claim_many.
CREATE FUNCTION tasker.complete_and_claim(
    p_step uuid, p_attempt integer, p_results jsonb, p_metadata jsonb,
    p_worker varchar, p_namespaces varchar[], p_lease_seconds integer, p_task uuid,
    p_limit integer
) RETURNS SETOF tasker.workflow_steps
LANGUAGE plpgsql AS $$
DECLARE
    v_done    record;
    v_next    tasker.workflow_steps;
    v_outcome record;
BEGIN
    IF p_step IS NULL THEN
        RETURN QUERY SELECT * FROM tasker.claim_steps(p_worker, p_namespaces, p_lease_seconds,
                                                      p_task, p_limit);
        RETURN;
    END IF;
    v_done := tasker.record_completion(p_step, p_attempt, p_results, p_metadata);
    IF p_limit < 1 THEN
        PERFORM tasker.propagate_completion(p_step, v_done.task_uuid, v_done.namespace_name,
                                            p_isolating => v_done.isolating);
        RETURN;
    END IF;
    SELECT * INTO v_next
    FROM tasker.claim_step(p_worker, p_namespaces, p_lease_seconds, p_task, false);
    IF v_next.workflow_step_uuid IS NOT NULL THEN
        RETURN NEXT v_next;
        RETURN QUERY SELECT * FROM tasker.start_enqueued(p_worker, p_namespaces,
                                                         p_lease_seconds, p_task, p_limit - 1);
        PERFORM tasker.propagate_completion(p_step, v_done.task_uuid, v_done.namespace_name,
                                            p_isolating => v_done.isolating);
        RETURN;
    END IF;
    SELECT * INTO v_outcome FROM tasker.propagate_completion(
        p_step, v_done.task_uuid, v_done.namespace_name, p_worker, p_lease_seconds,
        v_done.isolating);
    IF v_outcome.taken IS NOT NULL THEN
        RETURN QUERY SELECT * FROM tasker.workflow_steps
                     WHERE workflow_step_uuid = v_outcome.taken;
        -- a fan-out: the batch takes more of the children it made ready
        IF v_outcome.enqueued > 1 AND p_limit > 1 THEN
            RETURN QUERY SELECT * FROM tasker.start_enqueued(
                p_worker, p_namespaces, p_lease_seconds, p_task, p_limit - 1);
        END IF;
    END IF;
END
$$;

-- A failed attempt: retried after its backoff while attempts remain and it is retryable;
-- else the step is in error and, as a batch worker's failure_strategy says: the task is
-- blocked (fail_fast, and every step that is not a batch worker); the failure is tolerated
-- and the step counts as finished for its dependents (continue_on_failure); or it waits
-- for an operator while the rest of the task runs on (isolate: see block_if_stuck).
CREATE FUNCTION tasker.fail_step(
    p_step uuid, p_attempt integer, p_results jsonb, p_retryable boolean,
    p_backoff_seconds double precision, p_metadata jsonb DEFAULT '{}'
) RETURNS TABLE (step_state varchar, task_state varchar)
LANGUAGE plpgsql AS $$
DECLARE
    v_step     tasker.workflow_steps;
    v_now      timestamptz := tasker.now();
    v_state    varchar;
    v_resumes  timestamptz;
    v_retry    boolean;
    v_strategy varchar;
BEGIN
    v_step := tasker.lock_attempt(p_step, p_attempt);
    v_retry := p_retryable AND v_step.retryable AND v_step.attempts < v_step.max_attempts;
    IF v_step.created_by = 'batch_spawn' THEN
        v_strategy := v_step.inputs -> 'batch_metadata' ->> 'failure_strategy';
    END IF;
    IF NOT v_retry AND v_strategy = 'continue_on_failure' THEN
        -- finished as far as the graph goes; the task row is taken (if at all) after the
        -- children's rows, as for a completion
        PERFORM tasker.record_step_transition(p_step, v_step.task_uuid, 'in_progress', 'error',
            p_attempt, p_metadata || jsonb_build_object('failure_tolerated', true));
        UPDATE tasker.workflow_steps
        SET current_state = 'error', results = p_results, in_process = false,
            processed = true, processed_at = v_now, lease_owner = NULL,
            lease_expires_at = NULL, claimable_at = NULL, updated_at = v_now
        WHERE workflow_step_uuid = p_step;
        SELECT c.task_state INTO v_state FROM tasker.propagate_completion(
            p_step, v_step.task_uuid, v_step.namespace_name, p_isolating => false) c;
        RETURN QUERY SELECT 'error'::varchar, coalesce(v_state,
            (SELECT current_state FROM tasker.tasks WHERE task_uuid = v_step.task_uuid));
        RETURN;
    END IF;
    SELECT current_state INTO v_state FROM tasker.tasks
    WHERE task_uuid = v_step.task_uuid FOR UPDATE;
    IF v_retry THEN
        PERFORM tasker.record_step_transition(p_step, v_step.task_uuid, 'in_progress',
                                              'waiting_for_retry', p_attempt, p_metadata);
        IF tasker.task_accepts_work(v_state) THEN
            v_resumes := v_now + make_interval(secs => greatest(p_backoff_seconds, 0));
        END IF;
        UPDATE tasker.workflow_steps
        SET current_state = 'waiting_for_retry', results = p_results, in_process = false,
            lease_owner = NULL, lease_expires_at = NULL,
            backoff_request_seconds = ceil(greatest(p_backoff_seconds, 0))::integer,
            claimable_at = v_resumes, updated_at = v_now
        WHERE workflow_step_uuid = p_step;
        IF v_resumes IS NOT NULL THEN
            -- idle workers learn when the retry is due and sleep until then
            PERFORM pg_notify('tasker_steps_ready', v_step.namespace_name);
        END IF;
        RETURN QUERY SELECT 'waiting_for_retry'::varchar, v_state;
        RETURN;
    END IF;
    PERFORM tasker.record_step_transition(p_step, v_step.task_uuid, 'in_progress', 'error',
        p_attempt, CASE WHEN v_strategy = 'isolate'
                        THEN p_metadata || jsonb_build_object('failure_isolated', true)
                        ELSE p_metadata END);
    UPDATE tasker.workflow_steps
    SET current_state = 'error', results = p_results, in_process = false, lease_owner = NULL,
        lease_expires_at = NULL, claimable_at = NULL, updated_at = v_now
    WHERE workflow_step_uuid = p_step;
    IF v_strategy = 'isolate' THEN
        UPDATE tasker.tasks SET has_isolated_failures = true
        WHERE task_uuid = v_step.task_uuid AND NOT has_isolated_failures;
        IF v_state = 'steps_in_process' THEN
            PERFORM tasker.block_if_stuck(v_step.task_uuid);
        END IF;
    ELSE
        PERFORM tasker.block_task(v_step.task_uuid, p_step);
    END IF;
    SELECT current_state INTO v_state FROM tasker.tasks WHERE task_uuid = v_step.task_uuid;
    RETURN QUERY SELECT 'error'::varchar, v_state;
END
$$;

-- A batch worker's progress, kept while its attempt goes on (checkpoint_yield): the
-- cursor, items processed and accumulated results, with the time and a history of every
-- cursor. Renews the lease; the attempt number does not change. Refused (TK002) when the
-- attempt is no longer current.
CREATE FUNCTION tasker.record_checkpoint(
    p_step uuid, p_attempt integer, p_worker varchar, p_checkpoint jsonb,
    p_lease_seconds integer
) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_now   timestamptz := tasker.now();
    v_until timestamptz := v_now + make_interval(secs => p_lease_seconds);
    v_saved jsonb;
BEGIN
    UPDATE tasker.workflow_steps
    SET checkpoint = p_checkpoint || jsonb_build_object(
            'timestamp', v_now,
            'history', coalesce(checkpoint -> 'history', '[]'::jsonb)
                       || jsonb_build_array(jsonb_build_object(
                              'cursor', p_checkpoint -> 'cursor', 'timestamp', v_now))),
        lease_expires_at = v_until, claimable_at = v_until, updated_at = v_now
    WHERE workflow_step_uuid = p_step AND current_state = 'in_progress'
      AND attempts = p_attempt AND lease_owner = p_worker
    RETURNING checkpoint INTO v_saved;
    IF v_saved IS NULL THEN
        PERFORM tasker.lock_attempt(p_step, p_attempt);  -- raises TK003 or TK002
        RAISE EXCEPTION 'attempt % of step % is leased to another worker', p_attempt, p_step
            USING ERRCODE = 'TK002';
    END IF;
    RETURN v_saved;
END
$$;

-- The task as the dispatch payload carries it, with its template's name and version.
CREATE FUNCTION tasker.dispatch_task(t tasker.tasks, nt tasker.named_tasks)
RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'task_uuid', t.task_uuid, 'named_task_uuid', t.named_task_uuid,
        'context', t.context, 'correlation_id', t.correlation_id,
        'parent_correlation_id', t.parent_correlation_id, 'priority', t.priority,
        'tags', t.tags, 'initiator', t.initiator, 'source_system', t.source_system,
        'reason', t.reason, 'identity_hash', t.identity_hash, 'complete', t.complete,
        'requested_at', t.requested_at, 'namespace_name', t.namespace_name,
        'task_name', nt.name, 'task_version', nt.version)
$$;

-- ---------------------------------------------------------------------------------------
-- Batch claims
-- ---------------------------------------------------------------------------------------

-- A worker running short steps claims several at once and records their successes together
-- with its next claim, one statement and one transaction for the lot.
--
--   start_enqueued           start up to N enqueued steps for a worker, set-based
--   claim_steps              claim_step, then start_enqueued for the rest of a batch
--   record_completions       record_completion for a set of attempts; stale ones refused
--   complete_and_claim_many  complete_and_claim for a set of successes
--
-- (record_enqueued_taking and enqueue_children_of, the set-based countdown, are above with
-- the functions built on them.)

-- Start up to p_limit enqueued steps for p_worker, leased for p_lease_seconds; steps of a
-- task that takes no work, or whose transitions do not say enqueued, are left for
-- claim_step. Only steps with attempts to spare are taken: a step claimed ahead of its run
-- whose worker dies has lost an attempt it never ran, which must not be its last.
CREATE FUNCTION tasker.start_enqueued(
    p_worker varchar, p_namespaces varchar[], p_lease_seconds integer, p_task uuid,
    p_limit integer
) RETURNS SETOF tasker.workflow_steps
LANGUAGE plpgsql AS $$
DECLARE
    v_now   timestamptz := tasker.now();
    v_until timestamptz := v_now + make_interval(secs => p_lease_seconds);
    v_steps uuid[];
BEGIN
    IF p_limit < 1 THEN
        RETURN;
    END IF;
    -- two statements, as in claim_step: each walks its own index in claimable_at order
    IF p_task IS NOT NULL THEN
        SELECT array_agg(workflow_step_uuid) INTO v_steps FROM (
            SELECT workflow_step_uuid FROM tasker.workflow_steps
            WHERE task_uuid = p_task AND claimable_at <= v_now AND current_state = 'enqueued'
              AND retryable AND attempts + 1 < max_attempts
            ORDER BY claimable_at
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED) s;
    ELSE
        SELECT array_agg(workflow_step_uuid) INTO v_steps FROM (
            SELECT workflow_step_uuid FROM tasker.workflow_steps
            WHERE claimable_at <= v_now AND current_state = 'enqueued'
              AND retryable AND attempts + 1 < max_attempts
              AND (p_namespaces IS NULL OR namespace_name = ANY (p_namespaces))
            ORDER BY claimable_at
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED) s;
    END IF;
    IF v_steps IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH previous AS (
        UPDATE tasker.workflow_step_transitions w SET most_recent = false
        FROM tasker.workflow_steps s JOIN tasker.tasks t ON t.task_uuid = s.task_uuid
        WHERE s.workflow_step_uuid = ANY (v_steps)
          AND w.workflow_step_uuid = s.workflow_step_uuid AND w.most_recent
          AND w.to_state = 'enqueued' AND tasker.task_accepts_work(t.current_state)
        RETURNING w.workflow_step_uuid, w.sort_key
    ), started AS (
        UPDATE tasker.workflow_steps s
        SET current_state = 'in_progress', attempts = s.attempts + 1,
            in_process = true, last_attempted_at = v_now, lease_owner = p_worker,
            lease_expires_at = v_until, claimable_at = v_until, updated_at = v_now
        FROM previous p
        WHERE s.workflow_step_uuid = p.workflow_step_uuid
        RETURNING s.*
    ), recorded AS (
        INSERT INTO tasker.workflow_step_transitions
            (workflow_step_uuid, task_uuid, from_state, to_state, attempt, metadata, sort_key)
        SELECT s.workflow_step_uuid, s.task_uuid, 'enqueued', 'in_progress', s.attempts,
               jsonb_build_object('worker', p_worker), p.sort_key + 1
        FROM started s JOIN previous p USING (workflow_step_uuid)
    )
    SELECT * FROM started;
END
$$;

-- claim_step for the first step (it deals with every state a claimable step can be in),
-- then start_enqueued for up to p_limit - 1 more.
CREATE FUNCTION tasker.claim_steps(
    p_worker varchar, p_namespaces varchar[], p_lease_seconds integer, p_task uuid,
    p_limit integer, p_recover boolean DEFAULT true
) RETURNS SETOF tasker.workflow_steps
LANGUAGE plpgsql AS $$
DECLARE
    v_first tasker.workflow_steps;
BEGIN
    IF p_limit < 1 THEN
        RETURN;
    END IF;
    SELECT * INTO v_first
    FROM tasker.claim_step(p_worker, p_namespaces, p_lease_seconds, p_task, p_recover);
    IF v_first.workflow_step_uuid IS NULL THEN
        RETURN;
    END IF;
    RETURN NEXT v_first;
    RETURN QUERY SELECT * FROM tasker.start_enqueued(p_worker, p_namespaces, p_lease_seconds,
                                                     p_task, p_limit - 1);
END
$$;

-- Store the results of successful attempts whose attempt is still current (the fencing
-- token, as record_completion checks it); the others are left untouched and returned as
-- refused. One row per recorded step, and one per refused step (refused true).
CREATE FUNCTION tasker.record_completions(
    p_steps uuid[], p_attempts integer[], p_results jsonb[], p_metadata jsonb[]
) RETURNS TABLE (workflow_step_uuid uuid, task_uuid uuid, namespace_name varchar,
                 batch_worker boolean, isolating boolean, refused boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_now        timestamptz := tasker.now();
    v_steps      uuid[];
    v_tasks      uuid[];
    v_namespaces varchar[];
    v_batch      boolean[];
    v_isolating  boolean[];
    v_recorded   integer;
BEGIN
    WITH outcome AS (
        SELECT * FROM unnest(p_steps, p_attempts, p_results, p_metadata)
                      AS o (step, attempt, results, metadata)
    ), done AS (
        UPDATE tasker.workflow_steps s
        SET current_state = 'complete', results = o.results, processed = true,
            processed_at = v_now, in_process = false, claimable_at = NULL, lease_owner = NULL,
            lease_expires_at = NULL, updated_at = v_now
        FROM outcome o
        WHERE s.workflow_step_uuid = o.step AND s.current_state = 'in_progress'
          AND s.attempts = o.attempt
        RETURNING s.workflow_step_uuid, s.task_uuid, s.namespace_name,
                  s.created_by = 'batch_spawn' AS batch_worker,
                  tasker.isolates_failures(s) AS isolating, o.attempt, o.metadata
    ), previous AS (
        UPDATE tasker.workflow_step_transitions w SET most_recent = false
        FROM done d
        WHERE w.workflow_step_uuid = d.workflow_step_uuid AND w.most_recent
        RETURNING w.workflow_step_uuid, w.sort_key, w.to_state
    ), recorded AS (
        INSERT INTO tasker.workflow_step_transitions
            (workflow_step_uuid, task_uuid, from_state, to_state, attempt, metadata, sort_key)
        SELECT d.workflow_step_uuid, d.task_uuid, 'in_progress', 'complete', d.attempt,
               d.metadata, p.sort_key + 1
        FROM done d JOIN previous p USING (workflow_step_uuid)
        WHERE p.to_state = 'in_progress'
        RETURNING 1
    )
    SELECT array_agg(d.workflow_step_uuid), array_agg(d.task_uuid),
           array_agg(d.namespace_name), array_agg(d.batch_worker), array_agg(d.isolating),
           (SELECT count(*) FROM recorded)
    INTO v_steps, v_tasks, v_namespaces, v_batch, v_isolating, v_recorded
    FROM done d;
    IF v_recorded <> coalesce(cardinality(v_steps), 0) THEN
        RAISE EXCEPTION 'of % completed steps only % are in_progress in their transitions',
            cardinality(v_steps), v_recorded USING ERRCODE = 'TK001';
    END IF;
    RETURN QUERY
    SELECT d.step, d.task, d.namespace, d.batch, d.isolating, false
    FROM unnest(v_steps, v_tasks, v_namespaces, v_batch, v_isolating)
         AS d (step, task, namespace, batch, isolating)
    UNION ALL
    SELECT o.step, NULL, NULL, NULL, NULL, true
    FROM unnest(p_steps) AS o (step)
    WHERE o.step <> ALL (coalesce(v_steps, '{}'));
END
$$;

-- A worker's successes and its next claims in one transaction: complete_and_claim for a
-- set. Stale attempts among p_steps are refused one by one (a row with refused_step) while
-- the others are recorded. Up to p_limit steps are claimed, before the children are counted
-- down (see complete_and_claim); when fewer are found, children the completions make ready
-- make up the number. With no successes, a plain claim_steps; with p_limit 0, no claim.
CREATE FUNCTION tasker.complete_and_claim_many(
    p_steps uuid[], p_attempts integer[], p_results jsonb[], p_metadata jsonb[],
    p_worker varchar, p_namespaces varchar[], p_lease_seconds integer, p_task uuid,
    p_limit integer
) RETURNS TABLE (step tasker.workflow_steps, refused_step uuid)
LANGUAGE plpgsql AS $$
DECLARE
    v_done         uuid[];
    v_tasks        uuid[];
    v_isolating    boolean[];
    v_namespaces   varchar[];
    v_refused      uuid[];
    v_batch_steps  uuid[];
    v_batch_tasks  uuid[];
    v_claimed      integer := 0;
    v_slot         boolean := false;
    v_children     record;
    v_step         uuid;
    v_task         uuid;
    v_leaf         boolean;
    v_isolated     boolean;
BEGIN
    IF coalesce(cardinality(p_steps), 0) > 0 THEN
        SELECT array_agg(r.workflow_step_uuid) FILTER (WHERE NOT r.refused),
               array_agg(r.task_uuid) FILTER (WHERE NOT r.refused),
               array_agg(r.isolating) FILTER (WHERE NOT r.refused),
               array_agg(DISTINCT r.namespace_name) FILTER (WHERE NOT r.refused),
               array_agg(r.workflow_step_uuid) FILTER (WHERE r.refused),
               array_agg(r.workflow_step_uuid) FILTER (WHERE r.batch_worker),
               array_agg(r.task_uuid) FILTER (WHERE r.batch_worker)
        INTO v_done, v_tasks, v_isolating, v_namespaces, v_refused, v_batch_steps,
             v_batch_tasks
        FROM tasker.record_completions(p_steps, p_attempts, p_results, p_metadata) r;
        IF v_refused IS NOT NULL THEN
            RETURN QUERY SELECT NULL::tasker.workflow_steps, r FROM unnest(v_refused) AS r;
        END IF;
    END IF;
    -- with completions in hand, an expired lease is not recovered here (recovery takes the
    -- task row, which a holder of step rows must not wait for)
    RETURN QUERY SELECT s, NULL::uuid
                 FROM tasker.claim_steps(p_worker, p_namespaces, p_lease_seconds, p_task,
                                         p_limit, v_done IS NULL) AS s;
    GET DIAGNOSTICS v_claimed = ROW_COUNT;
    IF v_done IS NULL THEN
        RETURN;
    END IF;
    IF v_batch_steps IS NOT NULL THEN
        FOR v_step, v_task IN
            SELECT * FROM unnest(v_batch_steps, v_batch_tasks) ORDER BY 1
        LOOP
            v_slot := tasker.release_batch_slot(v_step, v_task) OR v_slot;
        END LOOP;
    END IF;
    SELECT * INTO v_children FROM tasker.enqueue_children_of(
        v_done, CASE WHEN p_limit > v_claimed THEN p_worker END, p_lease_seconds,
        p_limit - v_claimed);
    IF cardinality(v_children.taken) > 0 THEN
        RETURN QUERY SELECT s, NULL::uuid FROM tasker.workflow_steps s
                     WHERE s.workflow_step_uuid = ANY (v_children.taken);
    END IF;
    -- task rows last, in uuid order: a task whose step without children finished may be
    -- done; one with isolated failures may have nothing left to run (see block_if_stuck)
    FOR v_task, v_leaf, v_isolated IN
        SELECT d.task,
               bool_or(NOT EXISTS (SELECT 1 FROM tasker.workflow_step_edges e
                                   WHERE e.from_step_uuid = d.step)),
               bool_or(d.isolating) OR bool_or(t.has_isolated_failures)
        FROM unnest(v_done, v_tasks, v_isolating) AS d (step, task, isolating)
        JOIN tasker.tasks t ON t.task_uuid = d.task
        GROUP BY d.task
        ORDER BY d.task
    LOOP
        IF v_leaf THEN
            IF tasker.finish_task_if_done(v_task) = 'complete' THEN
                PERFORM pg_notify('tasker_task_settled', v_task::text);
            END IF;
        ELSIF v_isolated THEN
            PERFORM 1 FROM tasker.tasks WHERE task_uuid = v_task AND has_isolated_failures
                AND current_state = 'steps_in_process' FOR UPDATE;
            IF FOUND THEN
                PERFORM tasker.block_if_stuck(v_task);
            END IF;
        END IF;
    END LOOP;
    IF v_children.enqueued > cardinality(v_children.taken) OR v_slot THEN
        PERFORM pg_notify('tasker_steps_ready', n) FROM unnest(v_namespaces) AS n;
    END IF;
END
$$;

-- ---------------------------------------------------------------------------------------
-- Operator functions
-- ---------------------------------------------------------------------------------------

-- The repairs a person makes to a task, each one call in the caller's transaction (see
-- tasker_ctl/engine/operator/repairs.py and docs/operations.md).
--
--   lock_task_for_operator    take every unfinished step of a task, then the task row
--   cancel_task_by_operator   every unfinished step -> cancelled, then the task
--   retry_failed_step         error -> pending with attempts reset (reset_for_retry)
--   settle_step_by_operator   -> resolved_manually or complete, propagated like a completion
--   resume_repaired_task      blocked_by_failures -> running again (or complete) once no
--                             failed step holds it back
--
-- Locks. An operator's change may touch any step of the task (cancelling all of them,
-- enqueueing the steps a block held back), so it first holds every unfinished step and then
-- the task row: no engine call of the task is half done underneath it, and none starts
-- until it commits. The steps are taken with SKIP LOCKED, never waited for, so the engine's
-- rule holds (step rows before the task row; a holder of the task row never waits for a
-- step row). When another transaction holds one of them, the call fails with SQLSTATE 40001
-- and the caller tries again: engine transactions are short, and an attempt that is running
-- a handler holds no row lock.
--
-- Metadata. Every transition an operator causes, of a step or of the task, carries the
-- caller's p_metadata ({"action", "by", "reason"}); transitions of the task also name the
-- step that was repaired.

CREATE FUNCTION tasker.lock_task_for_operator(p_task uuid) RETURNS varchar
LANGUAGE plpgsql AS $$
DECLARE
    v_locked uuid[];
    v_state  varchar;
BEGIN
    SELECT array_agg(workflow_step_uuid) INTO v_locked FROM (
        SELECT workflow_step_uuid FROM tasker.workflow_steps
        WHERE task_uuid = p_task
          AND current_state NOT IN ('complete', 'cancelled', 'resolved_manually')
        FOR UPDATE SKIP LOCKED
    ) taken;
    SELECT current_state INTO v_state FROM tasker.tasks WHERE task_uuid = p_task FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'task % does not exist', p_task USING ERRCODE = 'TK003';
    END IF;
    -- a later statement, so a fresh snapshot: it also sees steps committed meanwhile
    IF EXISTS (
        SELECT 1 FROM tasker.workflow_steps
        WHERE task_uuid = p_task
          AND current_state NOT IN ('complete', 'cancelled', 'resolved_manually')
          AND workflow_step_uuid <> ALL (coalesce(v_locked, '{}'::uuid[]))
    ) THEN
        RAISE EXCEPTION 'steps of task % are being changed by another transaction', p_task
            USING ERRCODE = '40001', HINT = 'try again';
    END IF;
    RETURN v_state;
END
$$;

-- The step an operator changes, read after its task is held (lock_task_for_operator), and
-- the task's state. TK003 for an unknown step, TK001 when the task has finished.
CREATE FUNCTION tasker.lock_step_for_operator(
    p_step uuid, OUT step tasker.workflow_steps, OUT task_state varchar
)
LANGUAGE plpgsql AS $$
DECLARE
    v_task uuid;
BEGIN
    SELECT task_uuid INTO v_task FROM tasker.workflow_steps WHERE workflow_step_uuid = p_step;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'step % does not exist', p_step USING ERRCODE = 'TK003';
    END IF;
    task_state := tasker.lock_task_for_operator(v_task);
    IF task_state IN ('complete', 'error', 'cancelled', 'resolved_manually') THEN
        RAISE EXCEPTION 'task % is already %', v_task, task_state USING ERRCODE = 'TK001';
    END IF;
    SELECT * INTO step FROM tasker.workflow_steps WHERE workflow_step_uuid = p_step;
END
$$;

-- Append a transition to each of p_steps (their rows locked by the caller, still in the
-- state their last transition names), and write the new state to the rows' cache.
CREATE FUNCTION tasker.record_operator_transitions(
    p_steps uuid[], p_to varchar, p_metadata jsonb
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_count integer;
BEGIN
    WITH previous AS (
        UPDATE tasker.workflow_step_transitions SET most_recent = false
        WHERE workflow_step_uuid = ANY (p_steps) AND most_recent
        RETURNING workflow_step_uuid, task_uuid, to_state, sort_key
    ), recorded AS (
        INSERT INTO tasker.workflow_step_transitions
            (workflow_step_uuid, task_uuid, from_state, to_state, attempt, metadata, sort_key)
        SELECT p.workflow_step_uuid, p.task_uuid, p.to_state, p_to, s.attempts, p_metadata,
               p.sort_key + 1
        FROM previous p JOIN tasker.workflow_steps s USING (workflow_step_uuid)
        WHERE p.to_state = s.current_state
        RETURNING 1
    )
    SELECT count(*) INTO v_count FROM recorded;
    IF v_count <> coalesce(cardinality(p_steps), 0) THEN
        RAISE EXCEPTION 'of % steps only % are in the state their transitions name',
            coalesce(cardinality(p_steps), 0), v_count USING ERRCODE = 'TK001';
    END IF;
    UPDATE tasker.workflow_steps SET current_state = p_to, updated_at = tasker.now()
    WHERE workflow_step_uuid = ANY (p_steps);
END
$$;

-- Cancel a task that has not finished: its unfinished steps first (a running attempt's
-- later result is then refused by the fencing of lock_attempt / record_completion), then
-- the task. TK001 when the task is already terminal.
CREATE FUNCTION tasker.cancel_task_by_operator(
    p_task uuid, p_metadata jsonb, OUT task_state varchar, OUT cancelled_steps varchar[]
)
LANGUAGE plpgsql AS $$
DECLARE
    v_state varchar;
    v_steps uuid[];
    v_now   timestamptz := tasker.now();
BEGIN
    v_state := tasker.lock_task_for_operator(p_task);
    IF v_state IN ('complete', 'error', 'cancelled', 'resolved_manually') THEN
        RAISE EXCEPTION 'task % is already %', p_task, v_state USING ERRCODE = 'TK001';
    END IF;
    SELECT array_agg(workflow_step_uuid ORDER BY name), array_agg(name ORDER BY name)
    INTO v_steps, cancelled_steps
    FROM tasker.workflow_steps
    WHERE task_uuid = p_task
      AND current_state NOT IN ('complete', 'cancelled', 'resolved_manually');
    IF v_steps IS NOT NULL THEN
        PERFORM tasker.record_operator_transitions(v_steps, 'cancelled', p_metadata);
        UPDATE tasker.workflow_steps
        SET processed = true, processed_at = v_now, in_process = false, claimable_at = NULL,
            lease_owner = NULL, lease_expires_at = NULL
        WHERE workflow_step_uuid = ANY (v_steps);
    END IF;
    PERFORM tasker.transition_task(p_task, 'cancelled', p_metadata);
    PERFORM pg_notify('tasker_task_settled', p_task::text);
    task_state := 'cancelled';
    cancelled_steps := coalesce(cancelled_steps, '{}'::varchar[]);
END
$$;

-- A task blocked by failures runs again once no unprocessed step of it is in error (a step
-- in error that is processed is a tolerated failure). It goes blocked_by_failures ->
-- evaluating_results (StepRepaired), then to complete when every step is processed, else
-- through enqueuing_steps to steps_in_process, and its work becomes claimable again: what
-- block_task and claims took off the queue (enqueued and waiting steps), and the steps whose
-- parents finished while it was blocked (their enqueue was skipped). The caller holds the
-- task (lock_task_for_operator). Returns the task's state and how many steps were enqueued.
CREATE FUNCTION tasker.resume_repaired_task(
    p_task uuid, p_metadata jsonb, OUT task_state varchar, OUT enqueued integer
)
LANGUAGE plpgsql AS $$
DECLARE
    v_now       timestamptz := tasker.now();
    v_namespace varchar;
    v_ready     uuid[];
    v_restored  integer;
BEGIN
    enqueued := 0;
    SELECT current_state, namespace_name INTO task_state, v_namespace
    FROM tasker.tasks WHERE task_uuid = p_task FOR UPDATE;
    -- an isolated batch failure holds back only what depends on it: the task runs on with
    -- it, and is blocked again below when nothing else can run
    IF task_state IS DISTINCT FROM 'blocked_by_failures' OR EXISTS (
        SELECT 1 FROM tasker.workflow_steps s
        WHERE s.task_uuid = p_task AND s.current_state = 'error' AND NOT s.processed
          AND NOT tasker.isolates_failures(s)
    ) THEN
        RETURN;
    END IF;
    PERFORM tasker.transition_task(p_task, 'evaluating_results', p_metadata);
    IF NOT EXISTS (SELECT 1 FROM tasker.workflow_steps WHERE task_uuid = p_task AND NOT processed)
    THEN
        PERFORM tasker.transition_task(p_task, 'complete', p_metadata);
        PERFORM pg_notify('tasker_task_settled', p_task::text);
        task_state := 'complete';
        RETURN;
    END IF;
    PERFORM tasker.transition_task(p_task, 'enqueuing_steps', p_metadata);
    PERFORM tasker.transition_task(p_task, 'steps_in_process', p_metadata);
    task_state := 'steps_in_process';
    UPDATE tasker.workflow_steps
    SET claimable_at = CASE
            WHEN current_state = 'enqueued' THEN v_now
            -- the retry's own schedule, which has passed when the block outlasted it
            ELSE coalesce(last_attempted_at, v_now)
                 + make_interval(secs => coalesce(backoff_request_seconds, 0))
        END
    WHERE task_uuid = p_task AND claimable_at IS NULL
      AND current_state IN ('enqueued', 'waiting_for_retry');
    GET DIAGNOSTICS v_restored = ROW_COUNT;
    SELECT array_agg(workflow_step_uuid ORDER BY workflow_step_uuid) INTO v_ready
    FROM tasker.workflow_steps
    WHERE task_uuid = p_task AND current_state = 'pending' AND pending_parents = 0;
    IF v_ready IS NOT NULL THEN
        PERFORM tasker.enqueue_steps(v_ready);
        enqueued := cardinality(v_ready);
    END IF;
    IF v_restored + enqueued > 0 THEN
        PERFORM pg_notify('tasker_steps_ready', v_namespace);
    END IF;
    IF EXISTS (SELECT 1 FROM tasker.tasks WHERE task_uuid = p_task AND has_isolated_failures) THEN
        task_state := tasker.block_if_stuck(p_task);
    END IF;
END
$$;

-- Tasker Core's reset_for_retry: a failed step goes error -> pending with its attempts
-- reset to 0 (the transition records the attempts it had). It is enqueued at once when its
-- parents are all complete or resolved and the task takes work; a task blocked by failures
-- resumes first when this was its last failed step. TK001 unless the step is an unprocessed
-- failure of a task that has not finished.
CREATE FUNCTION tasker.retry_failed_step(
    p_step uuid, p_metadata jsonb,
    OUT step_state varchar, OUT task_state varchar, OUT enqueued integer
)
LANGUAGE plpgsql AS $$
DECLARE
    v_locked  record;
    v_step    tasker.workflow_steps;
    v_resumed record;
BEGIN
    v_locked := tasker.lock_step_for_operator(p_step);
    v_step := v_locked.step;
    task_state := v_locked.task_state;
    IF v_step.current_state <> 'error' OR v_step.processed THEN
        RAISE EXCEPTION 'step % is %, not an unprocessed error', p_step, v_step.current_state
            USING ERRCODE = 'TK001';
    END IF;
    PERFORM tasker.record_step_transition(p_step, v_step.task_uuid, 'error', 'pending', 0,
        p_metadata || jsonb_build_object('previous_attempts', v_step.attempts));
    UPDATE tasker.workflow_steps
    SET current_state = 'pending', attempts = 0, in_process = false, processed = false,
        processed_at = NULL, claimable_at = NULL, lease_owner = NULL, lease_expires_at = NULL,
        backoff_request_seconds = NULL, updated_at = tasker.now()
    WHERE workflow_step_uuid = p_step;
    SELECT * INTO v_resumed FROM tasker.resume_repaired_task(
        v_step.task_uuid, p_metadata || jsonb_build_object('step', v_step.name));
    task_state := v_resumed.task_state;
    enqueued := v_resumed.enqueued;
    SELECT current_state INTO step_state FROM tasker.workflow_steps
    WHERE workflow_step_uuid = p_step;
    IF step_state = 'pending' AND v_step.pending_parents = 0
       AND tasker.task_accepts_work(task_state) THEN
        PERFORM tasker.enqueue_steps(ARRAY[p_step]);
        PERFORM pg_notify('tasker_steps_ready', v_step.namespace_name);
        step_state := 'enqueued';
        enqueued := enqueued + 1;
    END IF;
END
$$;

-- Settle a step by hand: p_to is resolved_manually (its stored results stay as they are) or
-- complete (with p_results, the envelope the caller built). Either satisfies the step's
-- children exactly as a worker's completion does (propagate_completion), and a task blocked
-- by failures resumes when no other failed step holds it back. A running attempt's step is
-- settled only with p_force; that attempt's result is then refused (fencing). TK001 when
-- the step or the task has already finished, the step is a tolerated failure, or some of
-- its parents have not finished.
CREATE FUNCTION tasker.settle_step_by_operator(
    p_step uuid, p_to varchar, p_results jsonb, p_metadata jsonb, p_force boolean,
    OUT step_state varchar, OUT task_state varchar, OUT enqueued integer
)
LANGUAGE plpgsql AS $$
DECLARE
    v_locked     record;
    v_step       tasker.workflow_steps;
    v_now        timestamptz := tasker.now();
    v_propagated record;
    v_resumed    record;
BEGIN
    IF p_to NOT IN ('resolved_manually', 'complete') THEN
        RAISE EXCEPTION 'an operator settles a step as resolved_manually or complete, not %',
            p_to USING ERRCODE = 'TK001';
    END IF;
    v_locked := tasker.lock_step_for_operator(p_step);
    v_step := v_locked.step;
    task_state := v_locked.task_state;
    IF v_step.current_state IN ('complete', 'cancelled', 'resolved_manually')
       OR (v_step.current_state = 'in_progress' AND NOT p_force)
       OR (v_step.current_state = 'error' AND v_step.processed) THEN
        RAISE EXCEPTION 'step % is %, which an operator cannot settle', p_step,
            v_step.current_state USING ERRCODE = 'TK001';
    END IF;
    -- the last step of a task to finish must be one without children (only a leaf's
    -- completion asks whether the task is done): a step settled before its parents would
    -- leave the last of them to finish unable to complete the task. (A batch worker waiting
    -- for a slot, its parents finished, may be settled: propagate_completion releases it.)
    IF EXISTS (
        SELECT 1 FROM tasker.workflow_step_edges e
        JOIN tasker.workflow_steps p ON p.workflow_step_uuid = e.from_step_uuid
        WHERE e.to_step_uuid = p_step AND NOT tasker.has_final_result(p.current_state, p.processed)
    ) THEN
        RAISE EXCEPTION 'step % still waits for some of its parents', p_step
            USING ERRCODE = 'TK001';
    END IF;
    PERFORM tasker.record_step_transition(p_step, v_step.task_uuid, v_step.current_state, p_to,
                                          v_step.attempts, p_metadata);
    UPDATE tasker.workflow_steps
    SET current_state = p_to,
        results = CASE WHEN p_to = 'complete' THEN p_results ELSE results END,
        processed = true, processed_at = v_now, in_process = false, claimable_at = NULL,
        lease_owner = NULL, lease_expires_at = NULL, updated_at = v_now
    WHERE workflow_step_uuid = p_step;
    step_state := p_to;
    SELECT * INTO v_propagated
    FROM tasker.propagate_completion(p_step, v_step.task_uuid, v_step.namespace_name);
    SELECT * INTO v_resumed FROM tasker.resume_repaired_task(
        v_step.task_uuid, p_metadata || jsonb_build_object('step', v_step.name));
    task_state := v_resumed.task_state;
    enqueued := coalesce(v_propagated.enqueued, 0) + v_resumed.enqueued;
END
$$;

-- ---------------------------------------------------------------------------------------
-- Staleness and DLQ
-- ---------------------------------------------------------------------------------------

-- Staleness detection and the dead-letter queue (docs/dlq.md).
--
--   lifecycle_minutes   a template's lifecycle threshold, when it holds a usable number
--   task_progress_at    the last sign of progress of a task
--   task_snapshot       a task and its steps as JSON, kept with a DLQ entry
--   fail_stale_task     move a stale task to error, with or without a DLQ entry
--
-- Which tasks are stale, and what to do with them, is decided by
-- tasker_ctl.engine.operator.staleness (the query find_stale_tasks measures; the sweeper
-- judges each task under its row lock and calls fail_stale_task in the same transaction).

-- A lifecycle threshold of a template (its `configuration -> 'lifecycle'`), in minutes; NULL
-- when the template does not set it or sets something other than a whole number of minutes
-- in the range of the template model (a u32), so that a malformed registration falls back
-- to the default instead of failing the sweep. The nested CASE fixes the order of the
-- checks: a string is never cast to a number.
CREATE FUNCTION tasker.lifecycle_minutes(p_lifecycle jsonb, p_key text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(p_lifecycle -> p_key) = 'number' THEN
               CASE WHEN (p_lifecycle ->> p_key)::numeric BETWEEN 0 AND 4294967295
                         AND (p_lifecycle ->> p_key)::numeric
                             = trunc((p_lifecycle ->> p_key)::numeric)
                    THEN (p_lifecycle ->> p_key)::numeric::bigint
               END
           END
$$;

-- The last sign of progress of a task: the latest of
--   * its own last transition (it entered its current state),
--   * the last transition of any of its steps (enqueued, started, completed, failed, ...),
--   * for a running step, its lease: a worker that renews the lease is alive, so a lease
--     that has not expired is progress now, and an expired one was progress until it ran out,
--   * for a step waiting for a retry, the end of its backoff: a retry that is not due yet
--     is scheduled work, progress now; once due, its waiting counts from when it fell due.
-- A task that stays in steps_in_process while its steps move is therefore not stale.
CREATE FUNCTION tasker.task_progress_at(p_task uuid) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT greatest(
        (SELECT tt.created_at FROM tasker.task_transitions tt
         WHERE tt.task_uuid = p_task AND tt.most_recent),
        (SELECT max(greatest(
                    w.created_at,
                    CASE WHEN s.current_state = 'in_progress'
                         THEN least(s.lease_expires_at, tasker.now()) END,
                    CASE WHEN s.current_state = 'waiting_for_retry'
                         THEN least(s.claimable_at, tasker.now()) END))
         FROM tasker.workflow_steps s
         LEFT JOIN tasker.workflow_step_transitions w
           ON w.workflow_step_uuid = s.workflow_step_uuid AND w.most_recent
         WHERE s.task_uuid = p_task))
$$;

-- A task and its steps as JSON, for the record of a DLQ entry: the task's identity, state and
-- context; per step its state, attempts, lease and last error (never results, which can be
-- large). Steps that have not finished come first; past p_step_limit steps only the counts
-- by state (step_counts, always complete) describe the rest (steps_omitted).
CREATE FUNCTION tasker.task_snapshot(p_task uuid, p_step_limit integer DEFAULT 1000)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'taken_at', tasker.now(),
        'task', jsonb_build_object(
            'task_uuid', t.task_uuid,
            'namespace', t.namespace_name,
            'name', nt.name,
            'version', nt.version,
            'state', t.current_state,
            'state_since', tt.created_at,
            'created_at', t.created_at,
            'requested_at', t.requested_at,
            'updated_at', t.updated_at,
            'correlation_id', t.correlation_id,
            'parent_correlation_id', t.parent_correlation_id,
            'initiator', t.initiator,
            'source_system', t.source_system,
            'reason', t.reason,
            'tags', t.tags,
            'priority', t.priority,
            'context', t.context),
        'step_counts', coalesce(
            (SELECT jsonb_object_agg(c.current_state, c.steps)
             FROM (SELECT current_state, count(*) AS steps FROM tasker.workflow_steps
                   WHERE task_uuid = p_task GROUP BY current_state) c), '{}'::jsonb),
        'steps_omitted', greatest(
            (SELECT count(*) FROM tasker.workflow_steps WHERE task_uuid = p_task)
            - p_step_limit, 0),
        'steps', coalesce(
            (SELECT jsonb_agg(listed.step ORDER BY listed.finished, listed.created_at,
                              listed.name)
             FROM (SELECT s.current_state IN ('complete', 'resolved_manually', 'cancelled')
                              AS finished,
                          s.created_at, s.name,
                          jsonb_build_object(
                              'workflow_step_uuid', s.workflow_step_uuid,
                              'name', s.name,
                              'state', s.current_state,
                              'attempts', s.attempts,
                              'max_attempts', s.max_attempts,
                              'retryable', s.retryable,
                              'created_by', s.created_by,
                              'step_type', s.step_type,
                              'pending_parents', s.pending_parents,
                              'last_attempted_at', s.last_attempted_at,
                              'last_transition_at', w.created_at,
                              'claimable_at', s.claimable_at,
                              'lease_owner', s.lease_owner,
                              'lease_expires_at', s.lease_expires_at,
                              'backoff_request_seconds', s.backoff_request_seconds,
                              'last_error', CASE WHEN s.results ->> 'success' = 'false'
                                                 THEN s.results -> 'error' END) AS step
                   FROM tasker.workflow_steps s
                   LEFT JOIN tasker.workflow_step_transitions w
                     ON w.workflow_step_uuid = s.workflow_step_uuid AND w.most_recent
                   WHERE s.task_uuid = p_task
                   ORDER BY 1, s.created_at, s.name
                   LIMIT greatest(p_step_limit, 0)) listed), '[]'::jsonb))
    FROM tasker.tasks t
    JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
    LEFT JOIN tasker.task_transitions tt ON tt.task_uuid = t.task_uuid AND tt.most_recent
    WHERE t.task_uuid = p_task
$$;

-- Move a stale task to error. The caller holds the task row (taken with SKIP LOCKED, so that
-- sweepers never wait for each other) and has judged the task stale in its current state,
-- p_expected; TK001 when the state is another one by now, TK003 for an unknown task.
--
-- With p_dead_letter, a DLQ entry (reason staleness_timeout) records the task's state and a
-- snapshot taken before anything changes; a task with a pending entry already keeps that one
-- (entry_created false). The task then goes to error along transitions the rules allow,
-- each carrying p_transition_metadata and the entry's uuid: the rules have no direct edge
-- from a running state to error, so the route ends with Tasker Core's GiveUp
-- (blocked_by_failures -> error) or EnqueueFailed (enqueuing_steps -> error).
--
-- Its steps are made unclaimable, so nothing of it starts again; as block_task does, steps
-- that another transaction holds are skipped (a claim re-checks the task's state and drops
-- them). Attempts already running finish; their results are recorded and enqueue nothing.
CREATE FUNCTION tasker.fail_stale_task(
    p_task uuid, p_expected varchar, p_dead_letter boolean, p_entry_metadata jsonb,
    p_transition_metadata jsonb, OUT entry_uuid uuid, OUT entry_created boolean
)
LANGUAGE plpgsql AS $$
DECLARE
    v_state    varchar;
    v_route    varchar[];
    v_to       varchar;
    v_metadata jsonb;
BEGIN
    SELECT current_state INTO v_state FROM tasker.tasks WHERE task_uuid = p_task FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'task % does not exist', p_task USING ERRCODE = 'TK003';
    END IF;
    IF v_state <> p_expected THEN
        RAISE EXCEPTION 'task % is %, not %', p_task, v_state, p_expected
            USING ERRCODE = 'TK001';
    END IF;
    v_route := CASE v_state
        WHEN 'pending' THEN ARRAY['initializing', 'enqueuing_steps', 'error']
        WHEN 'initializing' THEN ARRAY['enqueuing_steps', 'error']
        WHEN 'enqueuing_steps' THEN ARRAY['error']
        WHEN 'waiting_for_retry' THEN ARRAY['enqueuing_steps', 'error']
        WHEN 'steps_in_process' THEN ARRAY['evaluating_results', 'blocked_by_failures', 'error']
        WHEN 'waiting_for_dependencies'
            THEN ARRAY['evaluating_results', 'blocked_by_failures', 'error']
        WHEN 'evaluating_results' THEN ARRAY['blocked_by_failures', 'error']
    END;
    IF v_route IS NULL THEN
        RAISE EXCEPTION 'task % is %: staleness applies only to running tasks', p_task, v_state
            USING ERRCODE = 'TK001';
    END IF;
    entry_created := false;
    IF p_dead_letter THEN
        INSERT INTO tasker.tasks_dlq
            (task_uuid, original_state, dlq_reason, task_snapshot, metadata)
        VALUES (p_task, v_state, 'staleness_timeout', tasker.task_snapshot(p_task),
                coalesce(p_entry_metadata, '{}'::jsonb))
        ON CONFLICT (task_uuid) WHERE resolution_status = 'pending' DO NOTHING
        RETURNING tasks_dlq.dlq_entry_uuid INTO entry_uuid;
        entry_created := entry_uuid IS NOT NULL;
        IF NOT entry_created THEN
            SELECT d.dlq_entry_uuid INTO entry_uuid FROM tasker.tasks_dlq d
            WHERE d.task_uuid = p_task AND d.resolution_status = 'pending';
        END IF;
    END IF;
    v_metadata := coalesce(p_transition_metadata, '{}'::jsonb)
        || jsonb_build_object('reason', 'staleness_timeout', 'dlq_entry_uuid', entry_uuid);
    FOREACH v_to IN ARRAY v_route LOOP
        PERFORM tasker.transition_task(p_task, v_to, v_metadata);
    END LOOP;
    UPDATE tasker.workflow_steps SET claimable_at = NULL
    WHERE workflow_step_uuid IN (
        SELECT workflow_step_uuid FROM tasker.workflow_steps
        WHERE task_uuid = p_task AND claimable_at IS NOT NULL
        FOR UPDATE SKIP LOCKED);
    PERFORM pg_notify('tasker_task_settled', p_task::text);
END
$$;

-- ---------------------------------------------------------------------------------------
-- Stats
-- ---------------------------------------------------------------------------------------

-- What the outlier alerts of `tasker-ctl stats` watch, one value per task of a window (the
-- tasks created at or after p_since, NULL: all, of namespace p_namespace, NULL: any): its
-- use of cost_usd, steps and phases (tasks with ledger entries for the resource), and its
-- planning depth, the deepest planning_phase it reached (tasks with planner calls).
CREATE FUNCTION tasker.task_watch_values(p_since timestamptz, p_namespace varchar)
RETURNS TABLE (metric varchar, task_uuid uuid, value numeric)
LANGUAGE sql STABLE AS $$
    WITH scope AS (
        SELECT t.task_uuid FROM tasker.tasks t
        WHERE t.created_at >= coalesce(p_since, '-infinity')
          AND (p_namespace IS NULL OR t.namespace_name = p_namespace)
    )
    SELECT u.resource, u.task_uuid, u.used
    FROM scope sc
    JOIN tasker.task_budget_use u ON u.task_uuid = sc.task_uuid
    WHERE u.resource IN ('cost_usd', 'steps', 'phases')
    UNION ALL
    SELECT 'planning_depth', pa.task_uuid, max(pa.planning_phase)::numeric
    FROM scope sc
    JOIN tasker.planning_attempts pa ON pa.task_uuid = sc.task_uuid
    GROUP BY pa.task_uuid
$$;

-- ---------------------------------------------------------------------------------------
-- Gates
-- ---------------------------------------------------------------------------------------

--   await_gate    in_progress -> waiting_for_retry with no due time, the composition's
--                 progress kept in the checkpoint; the claim's attempt is handed back, so
--                 the wait does not use up a retry
--   decide_gate   an approver's decision written into that checkpoint, the step enqueued
--                 again (rejection is carried out by the gate when the step runs)

CREATE FUNCTION tasker.await_gate(
    p_step uuid, p_attempt integer, p_checkpoint jsonb, p_metadata jsonb
) RETURNS varchar
LANGUAGE plpgsql AS $$
DECLARE
    v_step tasker.workflow_steps;
    v_now  timestamptz := tasker.now();
BEGIN
    v_step := tasker.lock_attempt(p_step, p_attempt);
    PERFORM tasker.record_step_transition(p_step, v_step.task_uuid, 'in_progress',
        'waiting_for_retry', p_attempt, p_metadata || '{"awaiting_approval": true}');
    UPDATE tasker.workflow_steps
    SET current_state = 'waiting_for_retry', in_process = false, lease_owner = NULL,
        lease_expires_at = NULL, claimable_at = NULL, backoff_request_seconds = NULL,
        -- the attempt ended waiting, not failing: the claim's attempt is handed back, so
        -- the wait costs no retry and the step's attempts stay those that ran to an end
        attempts = attempts - 1,
        checkpoint = p_checkpoint || jsonb_build_object(
            'timestamp', v_now,
            'history', coalesce(checkpoint -> 'history', '[]'::jsonb)
                       || jsonb_build_array(jsonb_build_object(
                              'cursor', p_checkpoint -> 'cursor', 'timestamp', v_now))),
        updated_at = v_now
    WHERE workflow_step_uuid = p_step;
    RETURN 'waiting_for_retry';
END
$$;

-- TK001 unless the step waits at a gate; the gate's index must be the one waiting.
CREATE FUNCTION tasker.decide_gate(
    p_step uuid, p_decision jsonb, p_metadata jsonb,
    OUT step_state varchar, OUT task_state varchar, OUT gate_index integer
)
LANGUAGE plpgsql AS $$
DECLARE
    v_locked  record;
    v_step    tasker.workflow_steps;
    v_pending jsonb;
BEGIN
    v_locked := tasker.lock_step_for_operator(p_step);
    v_step := v_locked.step;
    task_state := v_locked.task_state;
    v_pending := v_step.checkpoint -> 'composition' -> 'pending_gate';
    IF v_step.current_state <> 'waiting_for_retry' OR v_pending IS NULL THEN
        RAISE EXCEPTION 'step % is %, not waiting for approval', v_step.name,
            v_step.current_state USING ERRCODE = 'TK001';
    END IF;
    gate_index := (v_pending ->> 'index')::integer;
    UPDATE tasker.workflow_steps
    SET checkpoint = jsonb_set(
            checkpoint #- '{composition,pending_gate}',
            ARRAY['composition', 'gates'],
            coalesce(checkpoint -> 'composition' -> 'gates', '{}'::jsonb)
                || jsonb_build_object(gate_index::text, p_decision)),
        updated_at = tasker.now()
    WHERE workflow_step_uuid = p_step;
    PERFORM tasker.record_step_transition(p_step, v_step.task_uuid, 'waiting_for_retry',
        'enqueued', v_step.attempts, p_metadata || jsonb_build_object('gate', p_decision));
    UPDATE tasker.workflow_steps
    SET current_state = 'enqueued',
        claimable_at = CASE WHEN tasker.task_accepts_work(task_state) THEN tasker.now() END
    WHERE workflow_step_uuid = p_step;
    PERFORM pg_notify('tasker_steps_ready', v_step.namespace_name);
    step_state := 'enqueued';
END
$$;
