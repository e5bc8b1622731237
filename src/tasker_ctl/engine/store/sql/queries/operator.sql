-- Queries of the operator commands (tasker-ctl task list|cancel|retry-step|resolve-step|
-- complete-step); the state changes are the operator functions of schema.sql.

-- name: lock_task_for_operator
-- Hold every unfinished step of the task and the task row until the transaction ends
-- (SQLSTATE 40001 when another transaction holds one of them: try again).
SELECT tasker.lock_task_for_operator(%(task_uuid)s) AS task_state;

-- name: fetch_steps_for_operator
-- What an operator's checks need of every step of a task, by name.
SELECT workflow_step_uuid, task_uuid, name, template_step_name, step_type, namespace_name,
       current_state, processed, attempts, step_definition, created_by, planning_phase
FROM tasker.workflow_steps
WHERE task_uuid = %(task_uuid)s
ORDER BY name;

-- name: fetch_waiting_parents
-- The parents of a step that have not finished (neither complete, resolved, nor a
-- failure its batch tolerates).
SELECT p.name FROM tasker.workflow_step_edges e
JOIN tasker.workflow_steps p ON p.workflow_step_uuid = e.from_step_uuid
WHERE e.to_step_uuid = %(step_uuid)s
  AND NOT tasker.has_final_result(p.current_state, p.processed)
ORDER BY p.name;

-- name: fetch_blocking_steps
-- The failed steps that hold a task blocked (a processed failure is a tolerated one).
SELECT name FROM tasker.workflow_steps
WHERE task_uuid = %(task_uuid)s AND current_state = 'error' AND NOT processed
ORDER BY name;

-- name: cancel_task_by_operator
SELECT * FROM tasker.cancel_task_by_operator(%(task_uuid)s, %(metadata)s);

-- name: retry_failed_step
SELECT * FROM tasker.retry_failed_step(%(step_uuid)s, %(metadata)s);

-- name: settle_step_by_operator
SELECT * FROM tasker.settle_step_by_operator(%(step_uuid)s, %(to_state)s, %(results)s,
                                             %(metadata)s, %(force)s);
