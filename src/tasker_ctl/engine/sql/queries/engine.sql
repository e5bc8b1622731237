-- name: upsert_namespace
-- Find or create a namespace by name.
INSERT INTO tasker.task_namespaces (name) VALUES (%(name)s)
ON CONFLICT (name) DO UPDATE SET updated_at = tasker.now()
RETURNING task_namespace_uuid;

-- name: upsert_named_task
-- Register a template version; re-registering replaces its configuration.
INSERT INTO tasker.named_tasks
    (task_namespace_uuid, name, version, description, configuration, content_hash)
VALUES (%(namespace_uuid)s, %(name)s, %(version)s, %(description)s, %(configuration)s,
        %(content_hash)s)
ON CONFLICT (task_namespace_uuid, name, version) DO UPDATE
SET description = EXCLUDED.description, configuration = EXCLUDED.configuration,
    content_hash = EXCLUDED.content_hash, updated_at = tasker.now()
RETURNING named_task_uuid;

-- name: upsert_named_step
INSERT INTO tasker.named_steps (name) VALUES (%(name)s)
ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
RETURNING named_step_uuid;

-- name: find_task_by_identity
SELECT task_uuid, current_state, created_at FROM tasker.tasks
WHERE identity_hash = %(identity_hash)s;

-- name: insert_task
INSERT INTO tasker.tasks
    (named_task_uuid, namespace_name, context, identity_hash, priority, correlation_id,
     parent_correlation_id, initiator, source_system, reason, tags, environment,
     unfinished_steps, budget_limits)
VALUES (%(named_task_uuid)s, %(namespace_name)s, %(context)s, %(identity_hash)s, %(priority)s,
        %(correlation_id)s, %(parent_correlation_id)s, %(initiator)s, %(source_system)s,
        %(reason)s, %(tags)s, %(environment)s, %(unfinished_steps)s, %(budget_limits)s)
RETURNING task_uuid, correlation_id, requested_at;

-- name: insert_initial_task_transition
INSERT INTO tasker.task_transitions (task_uuid, from_state, to_state, event, sort_key, metadata)
VALUES (%(task_uuid)s, NULL, 'pending', 'Create', 1, %(metadata)s);

-- name: transition_task
SELECT tasker.transition_task(%(task_uuid)s, %(to_state)s, %(metadata)s, %(expected)s) AS from_state;

-- name: insert_workflow_step
INSERT INTO tasker.workflow_steps
    (task_uuid, named_step_uuid, name, template_step_name, step_type, namespace_name,
     retryable, max_attempts, timeout_seconds, idempotency_key, inputs, created_by)
VALUES (%(task_uuid)s, %(named_step_uuid)s, %(name)s, %(template_step_name)s, %(step_type)s,
        %(namespace_name)s, %(retryable)s, %(max_attempts)s, %(timeout_seconds)s,
        %(idempotency_key)s, %(inputs)s, %(created_by)s)
RETURNING workflow_step_uuid;

-- name: insert_initial_step_transition
INSERT INTO tasker.workflow_step_transitions
    (workflow_step_uuid, task_uuid, from_state, to_state, event, sort_key)
VALUES (%(step_uuid)s, %(task_uuid)s, NULL, 'pending', 'Create', 1);

-- name: insert_step_edge
INSERT INTO tasker.workflow_step_edges (from_step_uuid, to_step_uuid, name)
VALUES (%(from_step_uuid)s, %(to_step_uuid)s, %(name)s)
ON CONFLICT DO NOTHING;

-- name: enqueue_step
-- Make a pending step claimable now.
SELECT tasker.enqueue_step(%(step_uuid)s);

-- name: notify_steps_ready
SELECT pg_notify('tasker_steps_ready', %(namespace_name)s);

-- name: claim_step
SELECT * FROM tasker.claim_step(%(worker)s, %(namespaces)s::varchar[], %(lease_seconds)s,
                                %(task_uuid)s::uuid);

-- name: extend_lease
SELECT tasker.extend_lease(%(step_uuid)s, %(attempt)s, %(worker)s, %(lease_seconds)s) AS extended;

-- name: complete_step
SELECT * FROM tasker.complete_step(%(step_uuid)s, %(attempt)s, %(results)s, %(metadata)s);

-- name: fail_step
SELECT * FROM tasker.fail_step(%(step_uuid)s, %(attempt)s, %(results)s, %(retryable)s,
                               %(backoff_seconds)s, %(metadata)s);

-- name: fetch_task
SELECT t.*, nt.name AS task_name, nt.version AS task_version, nt.configuration
FROM tasker.tasks t JOIN tasker.named_tasks nt USING (named_task_uuid)
WHERE t.task_uuid = %(task_uuid)s;

-- name: fetch_task_steps
-- Every step of a task with its attempts and timing, in creation order.
SELECT s.workflow_step_uuid, s.name, s.template_step_name, s.step_type, s.current_state,
       s.attempts, s.max_attempts, s.results, s.created_by, s.idempotency_key,
       (SELECT min(tr.created_at) FROM tasker.workflow_step_transitions tr
         WHERE tr.workflow_step_uuid = s.workflow_step_uuid AND tr.to_state = 'in_progress')
           AS first_started_at,
       (SELECT max(tr.created_at) FROM tasker.workflow_step_transitions tr
         WHERE tr.workflow_step_uuid = s.workflow_step_uuid AND tr.to_state = 'in_progress')
           AS last_started_at,
       s.processed_at
FROM tasker.workflow_steps s
WHERE s.task_uuid = %(task_uuid)s
ORDER BY s.created_at, s.name;

-- name: fetch_ancestor_results
-- Results of every completed ancestor of a step (Tasker Core hands handlers all of them).
WITH RECURSIVE ancestors (step_uuid, depth) AS (
    SELECT e.from_step_uuid, 1 FROM tasker.workflow_step_edges e
    WHERE e.to_step_uuid = %(step_uuid)s
    UNION
    SELECT e.from_step_uuid, a.depth + 1 FROM tasker.workflow_step_edges e
    JOIN ancestors a ON e.to_step_uuid = a.step_uuid
    WHERE a.depth < 100
)
SELECT DISTINCT s.name, s.results
FROM ancestors a JOIN tasker.workflow_steps s ON s.workflow_step_uuid = a.step_uuid
WHERE s.current_state IN ('complete', 'resolved_manually');

-- name: next_claimable_at
-- When the next step becomes claimable (to sleep exactly until a retry is due).
SELECT min(claimable_at) AS next_at, tasker.now() AS now FROM tasker.workflow_steps
WHERE claimable_at IS NOT NULL
  AND (%(namespaces)s::varchar[] IS NULL OR namespace_name = ANY (%(namespaces)s::varchar[]))
  AND (%(task_uuid)s::uuid IS NULL OR task_uuid = %(task_uuid)s::uuid);
