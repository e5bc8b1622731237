-- A planning step's attempts and its task's budget ledger (docs/planning.md, "How a planning
-- step runs"). Each model call is written before it is made and completed after it, and
-- every ledger entry an attempt makes names it.

-- name: lock_task_budget
-- The task's budget limits, its row locked: reservations of concurrent planning steps of one
-- task are made one at a time, so that together they never pass a limit.
SELECT budget_limits FROM tasker.tasks WHERE task_uuid = %(task_uuid)s FOR UPDATE;

-- name: task_budget_sums
-- A task's ledger summed by resource and kind (exact numerics).
SELECT resource, kind, sum(amount) AS amount
FROM tasker.task_budget_entries
WHERE task_uuid = %(task_uuid)s
GROUP BY resource, kind;

-- name: insert_planning_ledger_entry
INSERT INTO tasker.task_budget_entries
    (task_uuid, workflow_step_uuid, planning_attempt_uuid, resource, kind, amount, note)
VALUES (%(task_uuid)s, %(step_uuid)s, %(attempt_uuid)s, %(resource)s, %(kind)s, %(amount)s,
        %(note)s);

-- name: planning_attempts_of_step
-- A planning step's attempts in one phase, in order, with what each reserved.
SELECT planning_attempt_uuid, attempt, status, accepted, fragment, fragment_id, answer,
       findings, reserved, tokens_in, tokens_out, cost_usd, created_at
FROM tasker.planning_attempts
WHERE workflow_step_uuid = %(step_uuid)s AND planning_phase = %(phase)s
ORDER BY attempt;

-- name: insert_planning_attempt
-- An attempt about to call its model: what it sends and what it reserved.
INSERT INTO tasker.planning_attempts
    (task_uuid, workflow_step_uuid, planning_phase, attempt, status, planner, provider, model,
     prompt, prompt_hash, prompt_version, capability_schema, capability_schema_hash,
     capability_text, reserved, prices_version, purpose, context_inputs)
VALUES (%(task_uuid)s, %(step_uuid)s, %(phase)s,
        (SELECT coalesce(max(attempt), 0) + 1 FROM tasker.planning_attempts
         WHERE workflow_step_uuid = %(step_uuid)s AND planning_phase = %(phase)s),
        'calling', %(planner)s, %(provider)s, %(model)s, %(prompt)s, %(prompt_hash)s,
        %(prompt_version)s, %(capability_schema)s, %(capability_schema_hash)s,
        %(capability_text)s, %(reserved)s, %(prices_version)s, %(purpose)s,
        %(context_inputs)s)
RETURNING planning_attempt_uuid, attempt;

-- name: finish_planning_attempt
-- An attempt's call came back (answered) or did not (failed): what it cost and, for an
-- answer, what the validator found. Only an attempt still calling is finished.
UPDATE tasker.planning_attempts
SET status = %(status)s, provider = coalesce(%(provider)s, provider),
    model = coalesce(%(model)s, model), answer = %(answer)s, fragment = %(fragment)s,
    fragment_id = %(fragment_id)s, findings = %(findings)s, accepted = %(accepted)s,
    error = %(error)s, tokens_in = %(tokens_in)s, tokens_out = %(tokens_out)s,
    latency_ms = %(latency_ms)s, cost_usd = %(cost_usd)s,
    usage_estimated = %(usage_estimated)s, finished_at = tasker.now()
WHERE planning_attempt_uuid = %(attempt_uuid)s AND status = 'calling'
RETURNING planning_attempt_uuid;

-- name: interrupt_planning_attempt
-- An attempt a worker left calling (it died, or lost its claim, during the call): its
-- reservation is counted as spent, so the ledger never holds less than the call may have cost.
UPDATE tasker.planning_attempts
SET status = 'interrupted', tokens_in = %(tokens_in)s, tokens_out = %(tokens_out)s,
    cost_usd = %(cost_usd)s, usage_estimated = true, finished_at = tasker.now(),
    error = %(error)s
WHERE planning_attempt_uuid = %(attempt_uuid)s AND status = 'calling'
RETURNING planning_attempt_uuid;

-- name: fill_committed
-- Whether an accepted attempt's fill was written: its materialization commits the phase.
SELECT EXISTS (
    SELECT 1 FROM tasker.task_budget_entries
    WHERE planning_attempt_uuid = %(attempt_uuid)s AND resource = 'phases' AND kind = 'commit'
) AS committed;

-- name: task_budget_limits
SELECT budget_limits FROM tasker.tasks WHERE task_uuid = %(task_uuid)s;

-- name: insert_supplied_fragment
-- A fragment an operator supplied, recorded as an accepted attempt without a model call (the
-- fragment is named after the attempt, as a planner's is).
WITH id AS (SELECT gen_random_uuid() AS uuid)
INSERT INTO tasker.planning_attempts
    (planning_attempt_uuid, fragment_id, task_uuid, workflow_step_uuid, planning_phase,
     attempt, status, planner, provider, fragment, findings, accepted, tokens_in, tokens_out,
     cost_usd, finished_at)
SELECT id.uuid, id.uuid::text, %(task_uuid)s, %(step_uuid)s, %(phase)s,
       (SELECT coalesce(max(attempt), 0) + 1 FROM tasker.planning_attempts
        WHERE workflow_step_uuid = %(step_uuid)s AND planning_phase = %(phase)s),
       'answered', %(planner)s, 'operator', %(fragment)s, %(findings)s, true, 0, 0, 0,
       tasker.now()
FROM id
RETURNING planning_attempt_uuid, attempt;

-- name: task_planned_definitions
-- Every step of a task by name, with a planned step's own definition (NULL for the
-- template's): the names a fragment may not take, and what planned steps declare.
SELECT name, step_definition FROM tasker.workflow_steps WHERE task_uuid = %(task_uuid)s;

-- name: note_planning_exhausted
-- A planning step that ran out of budget hands its convergence step the diagnostic under
-- inputs.planning.exhausted (a list: one entry per planning step that ran out), in the
-- transaction that completes the planning step.
UPDATE tasker.workflow_steps
SET inputs = inputs || jsonb_build_object('planning',
        coalesce(inputs -> 'planning', '{}'::jsonb) || jsonb_build_object('exhausted',
            coalesce(inputs #> '{planning,exhausted}', '[]'::jsonb)
            || jsonb_build_array(%(diagnostic)s::jsonb)))
WHERE task_uuid = %(task_uuid)s AND name = %(name)s;
