-- name: upsert_namespace
-- Find or create a namespace by name.
INSERT INTO tasker.task_namespaces (name) VALUES (%(name)s)
ON CONFLICT (name) DO UPDATE SET updated_at = tasker.now()
RETURNING task_namespace_uuid;

-- name: upsert_named_task
-- Register a template version; re-registering replaces its configuration, and a changed
-- configuration gets a new revision (workers re-read the template when it changes).
INSERT INTO tasker.named_tasks
    (task_namespace_uuid, name, version, description, configuration, content_hash)
VALUES (%(namespace_uuid)s, %(name)s, %(version)s, %(description)s, %(configuration)s,
        %(content_hash)s)
ON CONFLICT (task_namespace_uuid, name, version) DO UPDATE
SET description = EXCLUDED.description, configuration = EXCLUDED.configuration,
    content_hash = EXCLUDED.content_hash, updated_at = tasker.now(),
    revision = tasker.named_tasks.revision
        + (tasker.named_tasks.configuration IS DISTINCT FROM EXCLUDED.configuration)::integer
RETURNING named_task_uuid;

-- name: upsert_named_steps
-- Find or create named steps. Inserting in name order means two submissions that share
-- step names wait for each other instead of deadlocking. A name committed by another
-- transaction after this statement began is missing from the answer: ask again for it.
WITH wanted AS (
    SELECT DISTINCT unnest(%(names)b::varchar[]) AS name
), inserted AS (
    INSERT INTO tasker.named_steps (name)
    SELECT name FROM wanted ORDER BY name
    ON CONFLICT (name) DO NOTHING
    RETURNING name, named_step_uuid
)
SELECT name, named_step_uuid FROM inserted
UNION ALL
SELECT s.name, s.named_step_uuid FROM tasker.named_steps s JOIN wanted w ON w.name = s.name;

-- name: find_task_by_identity
SELECT task_uuid, current_state, created_at, context FROM tasker.tasks
WHERE identity_hash = %(identity_hash)s;

-- name: insert_task
-- No row when a task with the same identity exists (see find_task_by_identity).
INSERT INTO tasker.tasks
    (named_task_uuid, namespace_name, context, identity_hash, priority, correlation_id,
     parent_correlation_id, initiator, source_system, reason, tags, environment,
     budget_limits, trace_id, span_id)
VALUES (%(named_task_uuid)s, %(namespace_name)s, %(context)s, %(identity_hash)s, %(priority)s,
        %(correlation_id)s, %(parent_correlation_id)s, %(initiator)s, %(source_system)s,
        %(reason)s, %(tags)s, %(environment)s, %(budget_limits)s, %(trace_id)s, %(span_id)s)
ON CONFLICT (identity_hash) DO NOTHING
RETURNING task_uuid, correlation_id, requested_at;

-- name: insert_initial_task_transition
INSERT INTO tasker.task_transitions (task_uuid, from_state, to_state, event, sort_key, metadata)
VALUES (%(task_uuid)s, NULL, 'pending', 'Create', 1, %(metadata)s);

-- name: transition_task
SELECT tasker.transition_task(%(task_uuid)s, %(to_state)s, %(metadata)s, %(expected)s) AS from_state;

-- name: insert_workflow_steps
-- Create steps, given as a JSON array of objects, each with its first transition; all were
-- created by origin_step_uuid (NULL: with the task). Only grammar steps carry handler_type
-- and their composition.
WITH step AS (
    INSERT INTO tasker.workflow_steps
        (task_uuid, named_step_uuid, name, template_step_name, step_type, namespace_name,
         retryable, max_attempts, timeout_seconds, idempotency_key, inputs, created_by,
         origin_step_uuid, handler_type, composition_source, composition_spec)
    SELECT %(task_uuid)s::uuid, s.named_step_uuid, s.name, s.template_step_name, s.step_type,
           %(namespace_name)s, s.retryable, s.max_attempts, s.timeout_seconds,
           s.idempotency_key, s.inputs, s.created_by, %(origin_step_uuid)s::uuid,
           coalesce(s.handler_type, 'application'), s.composition_source, s.composition_spec
    FROM jsonb_to_recordset(%(steps)s) AS s (
        named_step_uuid uuid, name varchar, template_step_name varchar, step_type varchar,
        retryable boolean, max_attempts integer, timeout_seconds integer,
        idempotency_key varchar, inputs jsonb, created_by varchar, handler_type varchar,
        composition_source varchar, composition_spec jsonb)
    RETURNING workflow_step_uuid, task_uuid, name
), first_transition AS (
    INSERT INTO tasker.workflow_step_transitions
        (workflow_step_uuid, task_uuid, from_state, to_state, sort_key)
    SELECT workflow_step_uuid, task_uuid, NULL, 'pending', 1 FROM step
)
SELECT name, workflow_step_uuid FROM step;

-- name: insert_planned_workflow_steps
-- insert_workflow_steps for the steps of an accepted fragment: with their planning provenance
-- and their own definition (a separate statement, so that the one every other step takes
-- names no column that a schema before migration 0004 lacks).
WITH step AS (
    INSERT INTO tasker.workflow_steps
        (task_uuid, named_step_uuid, name, template_step_name, step_type, namespace_name,
         retryable, max_attempts, timeout_seconds, idempotency_key, inputs, created_by,
         origin_step_uuid, handler_type, composition_source, composition_spec,
         planning_step_uuid, fragment_id, planning_phase, planning_reasoning, step_definition)
    SELECT %(task_uuid)s::uuid, s.named_step_uuid, s.name, s.template_step_name, s.step_type,
           %(namespace_name)s, s.retryable, s.max_attempts, s.timeout_seconds,
           s.idempotency_key, s.inputs, s.created_by, %(origin_step_uuid)s::uuid,
           coalesce(s.handler_type, 'application'), s.composition_source, s.composition_spec,
           s.planning_step_uuid, s.fragment_id, s.planning_phase, s.planning_reasoning,
           s.step_definition
    FROM jsonb_to_recordset(%(steps)s) AS s (
        named_step_uuid uuid, name varchar, template_step_name varchar, step_type varchar,
        retryable boolean, max_attempts integer, timeout_seconds integer,
        idempotency_key varchar, inputs jsonb, created_by varchar, handler_type varchar,
        composition_source varchar, composition_spec jsonb, planning_step_uuid uuid,
        fragment_id varchar, planning_phase integer, planning_reasoning text,
        step_definition jsonb)
    RETURNING workflow_step_uuid, task_uuid, name
), first_transition AS (
    INSERT INTO tasker.workflow_step_transitions
        (workflow_step_uuid, task_uuid, from_state, to_state, sort_key)
    SELECT workflow_step_uuid, task_uuid, NULL, 'pending', 1 FROM step
)
SELECT name, workflow_step_uuid FROM step;

-- name: insert_step_edges
-- Edges given as three parallel arrays: parents, children and edge names. Each new edge
-- from a parent that has not completed adds one to its child's pending_parents; a child
-- given 32 or more edges at once has them counted in new shards (step_parent_counts, at
-- most 16), and pending_parents counts the shards with parents left. Runs of eight parents, in the
-- order given, take the shards in turn: that is the order their steps were created and,
-- as they become ready together, the order workers claim them, so a worker's batch of
-- parents counts down two or three shards and the batches other workers finish at the same
-- time count down others (spread one by one, every batch would wait for every other's shard
-- rows; in one run per shard, all workers would wait for the same row).
WITH given AS (
    SELECT g.from_step_uuid, g.to_step_uuid, g.name,
           row_number() OVER (PARTITION BY g.to_step_uuid ORDER BY g.position) AS ordinal,
           count(*) OVER (PARTITION BY g.to_step_uuid) AS fan_in
    FROM unnest(%(from_step_uuids)b::uuid[], %(to_step_uuids)b::uuid[], %(names)b::varchar[])
         WITH ORDINALITY AS g (from_step_uuid, to_step_uuid, name, position)
), inserted AS (
    INSERT INTO tasker.workflow_step_edges (from_step_uuid, to_step_uuid, name, counter_shard)
    SELECT g.from_step_uuid, g.to_step_uuid, g.name,
           CASE WHEN g.fan_in >= 32 THEN ((g.ordinal - 1) / 8 %% 16 + coalesce(
               (SELECT max(c.shard) + 1 FROM tasker.step_parent_counts c
                WHERE c.workflow_step_uuid = g.to_step_uuid), 0))::smallint END
    FROM given g
    ON CONFLICT DO NOTHING
    RETURNING from_step_uuid, to_step_uuid, counter_shard
), waiting AS (
    SELECT i.to_step_uuid, i.counter_shard
    FROM inserted i
    JOIN tasker.workflow_steps p ON p.workflow_step_uuid = i.from_step_uuid
    WHERE NOT tasker.has_final_result(p.current_state, p.processed)
), shards AS (
    INSERT INTO tasker.step_parent_counts (workflow_step_uuid, shard, pending)
    SELECT to_step_uuid, counter_shard, count(*) FROM waiting
    WHERE counter_shard IS NOT NULL
    GROUP BY to_step_uuid, counter_shard
    RETURNING workflow_step_uuid
), counts AS (
    SELECT to_step_uuid, count(*) AS parents FROM (
        SELECT to_step_uuid FROM waiting WHERE counter_shard IS NULL
        UNION ALL
        SELECT workflow_step_uuid FROM shards
    ) counted
    GROUP BY to_step_uuid
)
UPDATE tasker.workflow_steps s SET pending_parents = s.pending_parents + c.parents
FROM counts c WHERE s.workflow_step_uuid = c.to_step_uuid;

-- name: enqueue_steps
-- Make pending steps claimable now.
SELECT tasker.enqueue_steps(%(step_uuids)b::uuid[]);

-- name: notify_steps_ready
SELECT pg_notify('tasker_steps_ready', %(namespace_name)s);

-- name: claim_attempt
-- Record the worker's previous success when it gives one (step_uuid, attempt, results,
-- metadata; all NULL otherwise) and claim its next steps (up to %(limit)s), in one
-- transaction, reading all each step's handler needs in the same round trip: the step row,
-- the task (as JSON, the shape the dispatch payload wants), the template's revision and the
-- stored results of its completed parents (other ancestors' results are read when a handler
-- asks for them: see ancestor_results), and the task's trace context, the parent of the
-- attempt's span. No row when nothing was claimable. Each claimed step's task is read by its
-- key (a LATERAL lookup the planner cannot turn into a join): for the thousand rows it
-- guesses a function returns, it would otherwise hash every task ever run, a cost that grew
-- with the database's history.
WITH claimed AS MATERIALIZED (
    SELECT * FROM tasker.complete_and_claim(
        %(step_uuid)s::uuid, %(attempt)s::integer, %(results)s::jsonb, %(metadata)s::jsonb,
        %(worker)s, %(namespaces)s::varchar[], %(lease_seconds)s, %(task_uuid)s::uuid,
        %(limit)s::integer)
)
SELECT c.*,
       d.task,
       d.named_task_uuid,
       d.trace_id,
       d.span_id,
       d.template_revision,
       pr.results AS parent_results,
       pr.has_more_ancestors
FROM claimed c
CROSS JOIN LATERAL (
    SELECT tasker.dispatch_task(t, nt) AS task, t.named_task_uuid, t.trace_id, t.span_id,
           nt.revision AS template_revision
    FROM tasker.tasks t
    JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
    WHERE t.task_uuid = c.task_uuid
    LIMIT 1
) d
CROSS JOIN LATERAL tasker.parent_results(c.workflow_step_uuid) pr;

-- name: claim_attempts
-- claim_attempt for several successes: record the worker's successes (steps, attempts, results,
-- metadata: arrays in the same order, empty when there are none) and claim up to %(limit)s
-- steps, with what each one's handler needs. A refused success (its attempt was taken over)
-- comes back as a row with only refused_step set. Tasks are read by key, as in claim_attempt.
WITH claimed AS MATERIALIZED (
    SELECT * FROM tasker.complete_and_claim_many(
        %(steps)b::uuid[], %(attempts)b::integer[], %(results)b::jsonb[],
        %(metadata)b::jsonb[], %(worker)s, %(namespaces)s::varchar[], %(lease_seconds)s,
        %(task_uuid)s::uuid, %(limit)s)
)
SELECT (c.step).*,
       c.refused_step,
       d.task,
       d.named_task_uuid,
       d.trace_id,
       d.span_id,
       d.template_revision,
       pr.results AS parent_results,
       pr.has_more_ancestors
FROM claimed c
LEFT JOIN LATERAL (
    SELECT tasker.dispatch_task(t, nt) AS task, t.named_task_uuid, t.trace_id, t.span_id,
           nt.revision AS template_revision
    FROM tasker.tasks t
    JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
    WHERE t.task_uuid = (c.step).task_uuid
    LIMIT 1
) d ON true
LEFT JOIN LATERAL tasker.parent_results((c.step).workflow_step_uuid) pr
    ON (c.step).workflow_step_uuid IS NOT NULL;

-- name: ancestor_results
-- Stored results of every completed ancestor of a step, by step name.
SELECT tasker.dependency_results(%(step_uuid)s) AS results;

-- name: fetch_template
-- A registered template's configuration, read when a worker's copy is missing or outdated.
SELECT configuration, revision FROM tasker.named_tasks
WHERE named_task_uuid = %(named_task_uuid)s;

-- name: extend_lease
SELECT tasker.extend_lease(%(step_uuid)s, %(attempt)s, %(worker)s, %(lease_seconds)s) AS extended;

-- name: complete_step
SELECT * FROM tasker.complete_step(%(step_uuid)s, %(attempt)s, %(results)s, %(metadata)s);

-- name: fail_step
SELECT * FROM tasker.fail_step(%(step_uuid)s, %(attempt)s, %(results)s, %(retryable)s,
                               %(backoff_seconds)s, %(metadata)s);

-- name: fetch_task
-- A task with its template's name and version (not its configuration: that can be large).
SELECT t.*, nt.name AS task_name, nt.version AS task_version
FROM tasker.tasks t JOIN tasker.named_tasks nt USING (named_task_uuid)
WHERE t.task_uuid = %(task_uuid)s;

-- name: fetch_task_steps
-- Every step of a task with its attempts and timing, in creation order. A step parked at a
-- gate is stored as waiting_for_retry with its gate in the checkpoint (pending_gate).
SELECT s.workflow_step_uuid, s.name, s.template_step_name, s.step_type, s.current_state,
       s.attempts, s.max_attempts, s.results, s.created_by, s.idempotency_key,
       (SELECT min(tr.created_at) FROM tasker.workflow_step_transitions tr
         WHERE tr.workflow_step_uuid = s.workflow_step_uuid AND tr.to_state = 'in_progress')
           AS first_started_at,
       (SELECT max(tr.created_at) FROM tasker.workflow_step_transitions tr
         WHERE tr.workflow_step_uuid = s.workflow_step_uuid AND tr.to_state = 'in_progress')
           AS last_started_at,
       s.processed_at,
       CASE WHEN s.current_state = 'waiting_for_retry'
            THEN s.checkpoint -> 'composition' -> 'pending_gate' END AS pending_gate,
       s.handler_type, s.planning_step_uuid, s.fragment_id
FROM tasker.workflow_steps s
WHERE s.task_uuid = %(task_uuid)s
ORDER BY s.created_at, s.name;

-- name: next_claimable_at
-- When the next step becomes claimable (to sleep exactly until a retry is due).
SELECT min(claimable_at) AS next_at, tasker.now() AS now FROM tasker.workflow_steps
WHERE claimable_at IS NOT NULL
  AND (%(namespaces)s::varchar[] IS NULL OR namespace_name = ANY (%(namespaces)s::varchar[]))
  AND (%(task_uuid)s::uuid IS NULL OR task_uuid = %(task_uuid)s::uuid);

-- name: task_step_states
-- The name, uuid and state of every step of a task (what a growing graph connects to).
SELECT name, workflow_step_uuid, current_state FROM tasker.workflow_steps
WHERE task_uuid = %(task_uuid)s;

-- name: insert_batch_slots
-- The slots of a batch with more workers than its parallelism: workers in slot order, the
-- first `parallelism` running, the rest waiting with one more pending parent (the slot).
WITH slots AS (
    INSERT INTO tasker.batch_worker_slots (worker_step_uuid, batch_step_uuid, ordinal, state)
    SELECT w.worker_step_uuid, %(batch_step_uuid)s, w.ordinal,
           CASE WHEN w.ordinal <= %(parallelism)s THEN 'running' ELSE 'waiting' END
    FROM unnest(%(worker_step_uuids)b::uuid[]) WITH ORDINALITY AS w (worker_step_uuid, ordinal)
    RETURNING worker_step_uuid, state
)
UPDATE tasker.workflow_steps s SET pending_parents = s.pending_parents + 1
FROM slots WHERE slots.state = 'waiting' AND s.workflow_step_uuid = slots.worker_step_uuid;

-- name: record_checkpoint
SELECT tasker.record_checkpoint(%(step_uuid)s, %(attempt)s, %(worker)s, %(checkpoint)s,
                                %(lease_seconds)s) AS checkpoint;

-- name: task_rest
-- Whether a task rests, in one row (what TaskReport.resting decides from the whole report):
-- its state; whether a step waits at a gate (waiting_for_retry with a pending gate); whether
-- any step can still move (claimable, running, or waiting for a retry that is no gate).
SELECT t.current_state,
       coalesce(bool_or(s.current_state = 'waiting_for_retry'
                        AND jsonb_typeof(s.checkpoint -> 'composition' -> 'pending_gate')
                            = 'object'), false) AS gated,
       coalesce(bool_or(s.current_state IN ('enqueued', 'in_progress',
                                            'enqueued_for_orchestration',
                                            'enqueued_as_error_for_orchestration')
                        OR (s.current_state = 'waiting_for_retry'
                            AND jsonb_typeof(s.checkpoint -> 'composition' -> 'pending_gate')
                                IS DISTINCT FROM 'object')), false) AS moving
FROM tasker.tasks t LEFT JOIN tasker.workflow_steps s USING (task_uuid)
WHERE t.task_uuid = %(task_uuid)s
GROUP BY t.current_state;
