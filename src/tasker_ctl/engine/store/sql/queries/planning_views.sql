-- What the read side shows of planning (engine/views/budget.py, inspection_layers.py):
-- reservations still open, and the planned steps of a task with their own definitions.

-- name: budget_in_flight
-- A task's planning attempts still calling their model: what each reserved before its
-- call, not yet committed or released.
SELECT pa.planning_attempt_uuid, pa.attempt, pa.planning_phase, pa.reserved, pa.created_at,
       pa.provider, pa.model, s.name AS step_name
FROM tasker.planning_attempts pa
JOIN tasker.workflow_steps s ON s.workflow_step_uuid = pa.workflow_step_uuid
WHERE pa.task_uuid = %(task_uuid)s AND pa.status = 'calling'
ORDER BY pa.created_at, pa.attempt;

-- name: planned_steps
-- A task's planned steps: their inputs and the definition the planner gave each.
SELECT name, inputs, step_definition
FROM tasker.workflow_steps
WHERE task_uuid = %(task_uuid)s AND created_by = 'planning_step';

-- name: task_budget_totals
-- A task's ledger summed by resource and kind (exact numerics): the budget sentence of the
-- run summary.
SELECT resource, kind, sum(amount) AS amount
FROM tasker.task_budget_entries
WHERE task_uuid = %(task_uuid)s
GROUP BY resource, kind;
