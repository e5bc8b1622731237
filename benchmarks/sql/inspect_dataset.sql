-- A large database for bench_inspect.py, built set-based: a handful of statements, each
-- one INSERT ... SELECT, instead of a million round trips through the engine. Rows are
-- what the engine would write (states, attempts, times, transitions, edges, provenance),
-- not what it would do: the session runs with session_replication_role = replica, so the
-- transition-rules trigger and the foreign-key triggers stay quiet during the load.
--
-- Step and edge UUIDs are md5(task_uuid || ':' || step name): a step's parents and origin
-- are then known without looking them up.

-- name: create_plan
CREATE TEMP TABLE bench_plan (
    template           varchar NOT NULL,
    ordinal            integer NOT NULL,
    name               varchar NOT NULL,
    template_step_name varchar NOT NULL,
    step_type          varchar NOT NULL,
    created_by         varchar NOT NULL,
    handler_type       varchar NOT NULL,
    composition_source varchar,
    origin             varchar,
    planning_phase     integer,
    parents            text[] NOT NULL
);

-- name: add_plan_row
INSERT INTO bench_plan VALUES (%(template)s, %(ordinal)s, %(name)s, %(template_step_name)s,
    %(step_type)s, %(created_by)s, %(handler_type)s, %(composition_source)s, %(origin)s,
    %(planning_phase)s, %(parents)s);

-- name: create_templates
CREATE TEMP TABLE bench_templates (
    idx             integer PRIMARY KEY,
    template        varchar NOT NULL,
    named_task_uuid uuid NOT NULL
);

-- name: add_namespace
INSERT INTO tasker.task_namespaces (name) VALUES ('bench')
RETURNING task_namespace_uuid;

-- name: add_template
WITH named AS (
    INSERT INTO tasker.named_tasks (task_namespace_uuid, name, version, configuration,
                                    content_hash)
    VALUES (%(namespace)s, %(template)s, '1.0.0', %(configuration)s, 'bench')
    RETURNING named_task_uuid
)
INSERT INTO bench_templates SELECT %(idx)s, %(template)s, named_task_uuid FROM named;

-- name: add_named_steps
INSERT INTO tasker.named_steps (name) SELECT DISTINCT name FROM bench_plan
ON CONFLICT (name) DO NOTHING;

-- name: add_tasks
-- Task i uses template i mod (templates); extra tasks are given by template index and
-- count. Created over the last 7 days. A task's fate: 85 % complete, 6 % blocked by a
-- failed step, 7 % still running, 2 % taken out by the staleness sweep (error).
INSERT INTO tasker.tasks (task_uuid, named_task_uuid, namespace_name, current_state, complete,
                          requested_at, completed_at, identity_hash, correlation_id,
                          created_at, updated_at, context, budget_limits)
SELECT gen_random_uuid(), bt.named_task_uuid, 'bench', fate.state, fate.state = 'complete',
       created, CASE WHEN fate.state = 'complete' THEN created + interval '30 seconds' END,
       'bench-' || bt.template || '-' || i, gen_random_uuid(), created, created,
       jsonb_build_object('order', i),
       CASE WHEN bt.template = 'planner' THEN
           '{"steps": 32, "phases": 2, "llm_calls": 6, "tokens": 100000, "cost_usd": 2.0,
             "wall_seconds": 600}'::jsonb ELSE '{}'::jsonb END
FROM (
    SELECT i, CASE WHEN %(template)s::integer IS NULL THEN i %% %(templates)s
                   ELSE %(template)s END AS idx,
           tasker.now() - random() * interval '7 days' AS created, random() AS r
    FROM generate_series(1, %(count)s) AS i
) g
JOIN bench_templates bt ON bt.idx = g.idx
CROSS JOIN LATERAL (SELECT CASE WHEN g.r < 0.85 THEN 'complete'
                                WHEN g.r < 0.91 THEN 'blocked_by_failures'
                                WHEN g.r < 0.98 THEN 'steps_in_process'
                                ELSE 'error' END AS state) fate
WHERE %(template)s::integer IS NULL OR g.idx = %(template)s;

-- name: add_steps
-- Every step of the task's plan. A finished task's steps are complete; a blocked one's
-- first `cut` steps are complete, the next failed and the rest pending; a running one's
-- next step is running or waiting for a retry. Most steps take one attempt; the final
-- attempt lasts an exponential time of mean 40 ms, longer for batch workers.
WITH cut AS (
    SELECT t.task_uuid, t.current_state, t.created_at, bt.template,
           (abs(hashtext(t.task_uuid::text)) %% (max(p.ordinal) + 1)) AS cut
    FROM tasker.tasks t
    JOIN bench_templates bt ON bt.named_task_uuid = t.named_task_uuid
    JOIN bench_plan p ON p.template = bt.template
    WHERE t.namespace_name = 'bench' AND NOT EXISTS (
        SELECT FROM tasker.workflow_steps s WHERE s.task_uuid = t.task_uuid)
    GROUP BY t.task_uuid, t.current_state, t.created_at, bt.template
), picked AS (
    SELECT c.task_uuid, c.created_at, p.*, random() AS r, random() AS d,
           CASE
               WHEN c.current_state = 'complete' OR p.ordinal < c.cut THEN 'complete'
               WHEN p.ordinal > c.cut THEN 'pending'
               WHEN c.current_state IN ('blocked_by_failures', 'error') THEN 'error'
               WHEN p.ordinal %% 2 = 0 THEN 'in_progress'
               ELSE 'waiting_for_retry'
           END AS state
    FROM cut c
    JOIN bench_plan p ON p.template = c.template
)
INSERT INTO tasker.workflow_steps (
    workflow_step_uuid, task_uuid, named_step_uuid, name, template_step_name, step_type,
    namespace_name, current_state, attempts, max_attempts, processed, processed_at,
    last_attempted_at, in_process, idempotency_key, results, created_by, handler_type,
    composition_source, origin_step_uuid, planning_step_uuid, planning_phase, created_at,
    updated_at)
SELECT md5(r.task_uuid::text || ':' || r.name)::uuid, r.task_uuid, ns.named_step_uuid, r.name,
       r.template_step_name, r.step_type, 'bench', r.state,
       CASE WHEN r.state = 'pending' THEN 0 WHEN r.state = 'error' THEN 3
            WHEN r.r < 0.9 THEN 1 WHEN r.r < 0.98 THEN 2 ELSE 3 END,
       3, r.state = 'complete',
       CASE WHEN r.state = 'complete' THEN r.created_at + r.ordinal * interval '100 ms'
            + (-ln(1 - r.d)) * (CASE WHEN r.step_type = 'batch_worker' THEN 400 ELSE 40 END)
              * interval '1 ms' END,
       CASE WHEN r.state <> 'pending' THEN r.created_at + r.ordinal * interval '100 ms' END,
       r.state = 'in_progress', md5(r.task_uuid::text || r.name),
       CASE WHEN r.state = 'complete' THEN jsonb_build_object(
                'success', true, 'status', 'completed',
                'result', jsonb_build_object('rows', r.ordinal, 'note', repeat('x', 200)),
                'metadata', jsonb_build_object('worker_id', 'bench', 'attempt', 1))
            WHEN r.state IN ('error', 'waiting_for_retry') THEN jsonb_build_object(
                'success', false, 'status', 'retryable_error',
                'error', jsonb_build_object('message', 'upstream timed out'))
       END,
       r.created_by, r.handler_type, r.composition_source,
       CASE WHEN r.origin IS NOT NULL THEN md5(r.task_uuid::text || ':' || r.origin)::uuid END,
       CASE WHEN r.created_by = 'planning_step'
            THEN md5(r.task_uuid::text || ':' || r.origin)::uuid END,
       r.planning_phase, r.created_at, r.created_at
FROM picked r
JOIN tasker.named_steps ns ON ns.name = r.name;

-- name: add_edges
INSERT INTO tasker.workflow_step_edges (from_step_uuid, to_step_uuid, name)
SELECT md5(s.task_uuid::text || ':' || parent)::uuid, s.workflow_step_uuid, 'provides'
FROM tasker.workflow_steps s
JOIN tasker.tasks t ON t.task_uuid = s.task_uuid
JOIN bench_templates bt ON bt.named_task_uuid = t.named_task_uuid
JOIN bench_plan p ON p.template = bt.template AND p.name = s.name
CROSS JOIN LATERAL unnest(p.parents) AS parent
WHERE NOT EXISTS (SELECT FROM tasker.workflow_step_edges e
                  WHERE e.to_step_uuid = s.workflow_step_uuid);

-- name: add_step_transitions
-- pending -> enqueued -> in_progress -> (complete | error | waiting_for_retry): one to
-- four rows by the step's state, the last one most_recent.
INSERT INTO tasker.workflow_step_transitions (workflow_step_uuid, task_uuid, from_state,
    to_state, event, attempt, sort_key, most_recent, created_at)
SELECT s.workflow_step_uuid, s.task_uuid, v.from_state, coalesce(v.to_state, s.current_state),
       coalesce(v.event, CASE s.current_state WHEN 'complete' THEN 'Complete'
                             WHEN 'error' THEN 'Fail' ELSE 'WaitForRetry' END),
       v.attempt * s.attempts, v.sort_key, v.sort_key = n.last,
       s.created_at + v.sort_key * interval '1 ms'
FROM tasker.workflow_steps s
CROSS JOIN LATERAL (SELECT CASE s.current_state WHEN 'pending' THEN 1 WHEN 'enqueued' THEN 2
                                WHEN 'in_progress' THEN 3 ELSE 4 END AS last) n
CROSS JOIN LATERAL (VALUES
    (1, NULL, 'pending', 'Create', 0),
    (2, 'pending', 'enqueued', 'Enqueue', 0),
    (3, 'enqueued', 'in_progress', 'Start', 1),
    (4, 'in_progress', NULL, NULL, 1)
) AS v(sort_key, from_state, to_state, event, attempt)
WHERE v.sort_key <= n.last AND s.namespace_name = 'bench'
  AND NOT EXISTS (SELECT FROM tasker.workflow_step_transitions x
                  WHERE x.workflow_step_uuid = s.workflow_step_uuid);

-- name: add_task_transitions
INSERT INTO tasker.task_transitions (task_uuid, from_state, to_state, event, sort_key,
                                     most_recent, created_at)
SELECT t.task_uuid, v.from_state, coalesce(v.to_state, t.current_state), v.event, v.sort_key,
       v.sort_key = n.last, t.created_at + v.sort_key * interval '1 ms'
FROM tasker.tasks t
CROSS JOIN LATERAL (SELECT CASE WHEN t.current_state = 'steps_in_process' THEN 4
                                WHEN t.current_state = 'error' THEN 7 ELSE 6 END AS last) n
CROSS JOIN LATERAL (VALUES
    (1, NULL, 'pending', 'Create'),
    (2, 'pending', 'initializing', 'Start'),
    (3, 'initializing', 'enqueuing_steps', 'ReadyStepsFound'),
    (4, 'enqueuing_steps', 'steps_in_process', 'StepsEnqueued'),
    (5, 'steps_in_process', 'evaluating_results', 'StepCompleted'),
    (6, 'evaluating_results',
        CASE WHEN t.current_state = 'complete' THEN 'complete' ELSE 'blocked_by_failures' END,
        CASE WHEN t.current_state = 'complete' THEN 'AllStepsSuccessful'
             ELSE 'PermanentFailure' END),
    (7, 'blocked_by_failures', 'error', 'GiveUp')
) AS v(sort_key, from_state, to_state, event)
WHERE v.sort_key <= n.last
  AND NOT EXISTS (SELECT FROM tasker.task_transitions x WHERE x.task_uuid = t.task_uuid);

-- name: add_dlq_entries
-- The tasks in error were taken out by a sweep; half their entries are resolved.
INSERT INTO tasker.tasks_dlq (task_uuid, original_state, dlq_reason, dlq_timestamp,
                              resolution_status, resolution_timestamp, resolved_by,
                              task_snapshot)
SELECT t.task_uuid, 'steps_in_process', 'staleness_timeout', t.created_at + interval '1 hour',
       CASE WHEN random() < 0.5 THEN 'pending' ELSE 'manually_resolved' END, NULL, NULL,
       jsonb_build_object('task', jsonb_build_object('task_uuid', t.task_uuid))
FROM tasker.tasks t WHERE t.current_state = 'error';

-- name: resolve_dlq_entries
UPDATE tasker.tasks_dlq SET resolution_timestamp = dlq_timestamp + interval '2 hours',
    resolved_by = 'bench', resolution_notes = 'resubmitted'
WHERE resolution_status <> 'pending';

-- name: add_ledger
-- The planner tasks' budgets: each reserves and commits its planned steps, commits a phase
-- or two, its LLM calls, tokens and cost; one in a hundred spends ten times more.
INSERT INTO tasker.task_budget_entries (task_uuid, workflow_step_uuid, resource, kind, amount,
                                        created_at)
SELECT t.task_uuid, md5(t.task_uuid::text || ':plan')::uuid, v.resource, v.kind,
       v.amount * CASE WHEN abs(hashtext(t.task_uuid::text)) %% 100 = 0 THEN 10 ELSE 1 END,
       t.created_at + interval '1 second'
FROM tasker.tasks t
JOIN bench_templates bt ON bt.named_task_uuid = t.named_task_uuid AND bt.template = 'planner'
CROSS JOIN LATERAL (SELECT 1 + abs(hashtext(t.task_uuid::text)) %% 2 AS phases) p
CROSS JOIN LATERAL (VALUES
    ('steps', 'reserve', 16::numeric),
    ('steps', 'commit', 16),
    ('phases', 'commit', p.phases),
    ('llm_calls', 'commit', p.phases + 1),
    ('tokens', 'commit', 8000 + abs(hashtext(t.task_uuid::text)) %% 4000),
    ('cost_usd', 'commit', 0.05 + (abs(hashtext(t.task_uuid::text)) %% 50) / 1000.0),
    ('wall_seconds', 'commit', 12)
) AS v(resource, kind, amount);

-- name: add_planning_attempts
-- One to three planner calls per planner task; the first of three is rejected.
INSERT INTO tasker.planning_attempts (task_uuid, workflow_step_uuid, planning_phase, attempt,
    provider, model, prompt, fragment_id, fragment, findings, accepted, tokens_in,
    tokens_out, latency_ms, cost_usd, created_at)
SELECT t.task_uuid, md5(t.task_uuid::text || ':plan')::uuid, 1 + (g.n > 2)::integer, g.n,
       'bench', 'bench-model', repeat('plan the work ', 20), 'f' || g.n,
       '{"steps": []}'::jsonb,
       CASE WHEN g.n = 1 AND c.calls = 3 THEN '[{"code": "FRAGMENT_CYCLE"}]'::jsonb
            ELSE '[]'::jsonb END,
       NOT (g.n = 1 AND c.calls = 3), 3000, 800, 400 + abs(hashtext(t.task_uuid::text)) %% 900,
       0.02, t.created_at + g.n * interval '1 second'
FROM tasker.tasks t
JOIN bench_templates bt ON bt.named_task_uuid = t.named_task_uuid AND bt.template = 'planner'
CROSS JOIN LATERAL (SELECT 1 + abs(hashtext(t.task_uuid::text || 'calls')) %% 3 AS calls) c
CROSS JOIN LATERAL generate_series(1, c.calls) AS g(n);
