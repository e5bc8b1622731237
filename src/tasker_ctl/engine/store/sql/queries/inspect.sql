-- Queries of `tasker-ctl inspect`, `task graph` and `report provenance|budget`
-- (tasker_ctl.engine.views.inspection, lineage, budget_reports).

-- name: latest_task
-- The most recently created task, of a namespace when one is given.
SELECT task_uuid FROM tasker.tasks
WHERE %(namespace)s::varchar IS NULL OR namespace_name = %(namespace)s::varchar
ORDER BY created_at DESC, task_uuid DESC
LIMIT 1;

-- name: inspect_task
-- A task with its template's identity and configuration (step handlers are read from it).
SELECT t.task_uuid, t.current_state, t.namespace_name, t.requested_at, t.completed_at,
       t.created_at, t.correlation_id, t.parent_correlation_id, t.trace_id, t.context,
       t.initiator, t.source_system, t.reason, t.tags, t.environment, t.priority,
       t.budget_limits, nt.name AS task_name, nt.version AS task_version,
       nt.configuration -> 'steps' AS template_steps
FROM tasker.tasks t JOIN tasker.named_tasks nt USING (named_task_uuid)
WHERE t.task_uuid = %(task_uuid)s;

-- name: task_template_steps
-- The steps of a task's template as registered (its planning blocks, its handlers).
SELECT nt.configuration -> 'steps' AS template_steps
FROM tasker.tasks t JOIN tasker.named_tasks nt USING (named_task_uuid)
WHERE t.task_uuid = %(task_uuid)s;

-- name: inspect_task_steps
-- Every step of a task: what `task_report` reads (state, attempts, timing), and provenance.
-- A step's start is its first `in_progress` transition, as in fetch_task_steps; both
-- views of a task therefore show the same timing.
SELECT s.workflow_step_uuid, s.name, s.template_step_name, s.step_type, s.current_state,
       s.attempts, s.max_attempts, s.results, s.created_by, s.idempotency_key,
       tr.first_started_at, tr.last_started_at, s.processed_at,
       s.origin_step_uuid, s.planning_step_uuid, s.fragment_id, s.planning_phase,
       s.planning_reasoning, s.handler_type, s.composition_source, s.composition_spec,
       s.created_at,
       CASE WHEN s.current_state = 'waiting_for_retry'
            THEN s.checkpoint -> 'composition' -> 'pending_gate' END AS pending_gate
FROM tasker.workflow_steps s
LEFT JOIN LATERAL (
    SELECT min(t.created_at) AS first_started_at, max(t.created_at) AS last_started_at
    FROM tasker.workflow_step_transitions t
    WHERE t.workflow_step_uuid = s.workflow_step_uuid AND t.to_state = 'in_progress'
) tr ON true
WHERE s.task_uuid = %(task_uuid)s
ORDER BY s.created_at, s.name;

-- name: inspect_task_edges
-- The dependency edges between a task's steps.
SELECT e.from_step_uuid, e.to_step_uuid, e.name
FROM tasker.workflow_step_edges e
JOIN tasker.workflow_steps s ON s.workflow_step_uuid = e.to_step_uuid
WHERE s.task_uuid = %(task_uuid)s
ORDER BY e.created_at, e.from_step_uuid, e.to_step_uuid;

-- name: inspect_task_transitions
-- A task's own transitions, oldest first.
SELECT from_state, to_state, event, metadata, created_at
FROM tasker.task_transitions
WHERE task_uuid = %(task_uuid)s
ORDER BY sort_key;

-- name: inspect_step
-- One step, all of it: what it was given, what it returned, its lease and checkpoint, and
-- the results of its parents as its handler receives them.
SELECT s.*, pr.results AS parent_results
FROM tasker.workflow_steps s
CROSS JOIN LATERAL tasker.parent_results(s.workflow_step_uuid) pr
WHERE s.task_uuid = %(task_uuid)s AND s.name = %(name)s;

-- name: inspect_step_transitions
-- A step's transitions, oldest first.
SELECT from_state, to_state, event, attempt, metadata, created_at
FROM tasker.workflow_step_transitions
WHERE workflow_step_uuid = %(step_uuid)s
ORDER BY sort_key;

-- name: inspect_planning_attempts
-- The planner calls of a task, by planning step, phase and attempt (views/planning_layers.py).
SELECT p.*, s.name AS step_name
FROM tasker.planning_attempts p
JOIN tasker.workflow_steps s ON s.workflow_step_uuid = p.workflow_step_uuid
WHERE p.task_uuid = %(task_uuid)s
ORDER BY s.name, p.planning_phase, p.attempt;

-- name: record_planning_attempt
-- A planner call written whole, as record_planning_attempt (engine/views/inspection_layers.py)
-- gives it: tests and tools that replay a call.
INSERT INTO tasker.planning_attempts
    (task_uuid, workflow_step_uuid, planning_phase, attempt, provider, model, prompt,
     prompt_hash, capability_schema, capability_schema_hash, fragment_id, fragment, findings,
     accepted, error, tokens_in, tokens_out, latency_ms, cost_usd, status, planner,
     prompt_version, capability_text, answer, reserved, usage_estimated, prices_version,
     finished_at)
SELECT s.task_uuid, s.workflow_step_uuid, %(planning_phase)s, %(attempt)s, %(provider)s,
       %(model)s, %(prompt)s, %(prompt_hash)s, %(capability_schema)s,
       %(capability_schema_hash)s, %(fragment_id)s, %(fragment)s, %(findings)s, %(accepted)s,
       %(error)s, %(tokens_in)s, %(tokens_out)s, %(latency_ms)s, %(cost_usd)s,
       %(status)s::varchar, %(planner)s, %(prompt_version)s, %(capability_text)s, %(answer)s, %(reserved)s,
       %(usage_estimated)s, %(prices_version)s,
       CASE WHEN %(status)s::varchar <> 'calling' THEN tasker.now() END
FROM tasker.workflow_steps s WHERE s.workflow_step_uuid = %(step_uuid)s
RETURNING planning_attempt_uuid;

-- name: task_ledger
-- A task's budget ledger, oldest first, with the step each entry is for and the number of
-- the planning attempt that made it.
SELECT b.resource, b.kind, b.amount, b.note, b.created_at, s.name AS step_name,
       pa.attempt AS planning_attempt
FROM tasker.task_budget_entries b
LEFT JOIN tasker.workflow_steps s ON s.workflow_step_uuid = b.workflow_step_uuid
LEFT JOIN tasker.planning_attempts pa ON pa.planning_attempt_uuid = b.planning_attempt_uuid
WHERE b.task_uuid = %(task_uuid)s
ORDER BY b.created_at, b.budget_entry_uuid;

-- name: insert_ledger_entry
INSERT INTO tasker.task_budget_entries (task_uuid, workflow_step_uuid, resource, kind, amount, note)
VALUES (%(task_uuid)s, %(step_uuid)s, %(resource)s, %(kind)s, %(amount)s, %(note)s);

-- name: task_steps_by_origin
SELECT created_by, count(*) AS steps FROM tasker.workflow_steps
WHERE task_uuid = %(task_uuid)s GROUP BY created_by;

-- name: lineage_tasks
-- The tasks of a delegation chain: from the given task up through parent_correlation_id to
-- the topmost task, then everything below it. Tasks that share a parent correlation id no
-- task carries (an agent's session id) are siblings under that id. Depth-limited, so a
-- malformed chain that loops ends.
WITH RECURSIVE up AS (
    SELECT t.task_uuid, t.correlation_id, t.parent_correlation_id, 0 AS hops
    FROM tasker.tasks t WHERE t.task_uuid = %(task_uuid)s
    UNION ALL
    SELECT p.task_uuid, p.correlation_id, p.parent_correlation_id, up.hops + 1
    FROM up JOIN tasker.tasks p ON p.correlation_id = up.parent_correlation_id
    WHERE up.hops < %(max_depth)s
), top AS (
    SELECT * FROM up ORDER BY hops DESC LIMIT 1
), roots AS (
    -- the top task, or every task under the same parent correlation id when no task has it
    SELECT t.task_uuid, t.correlation_id FROM tasker.tasks t, top
    WHERE t.task_uuid = top.task_uuid
       OR (top.parent_correlation_id IS NOT NULL
           AND t.parent_correlation_id = top.parent_correlation_id
           AND NOT EXISTS (SELECT 1 FROM tasker.tasks x
                           WHERE x.correlation_id = top.parent_correlation_id))
), down AS (
    SELECT r.task_uuid, r.correlation_id, NULL::uuid AS parent_task_uuid, 0 AS depth,
           ARRAY[r.task_uuid] AS path
    FROM roots r
    UNION ALL
    SELECT c.task_uuid, c.correlation_id, down.task_uuid, down.depth + 1,
           down.path || c.task_uuid
    FROM down JOIN tasker.tasks c ON c.parent_correlation_id = down.correlation_id
    WHERE down.depth < %(max_depth)s AND NOT c.task_uuid = ANY (down.path)
)
SELECT d.task_uuid, d.parent_task_uuid, d.depth, t.correlation_id, t.parent_correlation_id,
       t.current_state, t.namespace_name, nt.name AS task_name, nt.version AS task_version,
       t.requested_at, t.completed_at, t.budget_limits,
       (SELECT count(*) FROM tasker.workflow_steps s WHERE s.task_uuid = d.task_uuid) AS steps,
       (SELECT count(*) FROM tasker.workflow_steps s
        WHERE s.task_uuid = d.task_uuid AND s.created_by <> 'template') AS dynamic_steps,
       (SELECT coalesce(jsonb_object_agg(g.resource || ':' || g.kind, g.total), '{}')
        FROM (SELECT b.resource, b.kind, sum(b.amount) AS total
              FROM tasker.task_budget_entries b WHERE b.task_uuid = d.task_uuid
              GROUP BY b.resource, b.kind) g) AS ledger_totals,
       tasker.now() AS now
FROM down d
JOIN tasker.tasks t ON t.task_uuid = d.task_uuid
JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
ORDER BY d.depth, t.requested_at, d.task_uuid
LIMIT %(limit)s;

-- name: tasks_by_prefix
-- Tasks whose UUID starts with the given hex digits (hyphens ignored).
SELECT task_uuid FROM tasker.tasks
WHERE replace(task_uuid::text, '-', '') LIKE replace(%(prefix)s, '-', '') || '%%'
ORDER BY created_at DESC
LIMIT %(limit)s;

-- name: inspect_composition_steps
-- The stored checkpoint of a task's grammar steps (how far each composition got).
SELECT name, checkpoint FROM tasker.workflow_steps
WHERE task_uuid = %(task_uuid)s AND handler_type = 'grammar';
