-- What a worker asks after its connection to the database was lost and reopened
-- (docs/engine.md, "When the database goes away").

-- name: take_back_attempts
-- The attempts in progress under this worker's lease that it does not hold (held: the step
-- uuids it holds), with their leases renewed, in claim_attempt's shape: claims whose reply
-- the lost connection took with it, which the worker runs rather than leave them to run out
-- their lease. A lease that has run out is left to whoever claims the step next. An
-- in-progress step's claimable_at is its lease's end: the claimable index finds them.
WITH taken AS MATERIALIZED (
    UPDATE tasker.workflow_steps s
    SET lease_expires_at = tasker.now() + make_interval(secs => %(lease_seconds)s),
        claimable_at = tasker.now() + make_interval(secs => %(lease_seconds)s)
    WHERE s.claimable_at > tasker.now()
      AND s.current_state = 'in_progress'
      AND s.lease_owner = %(worker)s
      AND s.lease_expires_at > tasker.now()
      AND s.workflow_step_uuid <> ALL (%(held)s::uuid[])
    RETURNING s.*
)
SELECT c.*,
       tasker.dispatch_task(t, nt) AS task,
       t.named_task_uuid,
       t.trace_id,
       t.span_id,
       nt.revision AS template_revision,
       pr.results AS parent_results,
       pr.has_more_ancestors
FROM taken c
JOIN tasker.tasks t ON t.task_uuid = c.task_uuid
JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
CROSS JOIN LATERAL tasker.parent_results(c.workflow_step_uuid) pr
ORDER BY c.last_attempted_at, c.workflow_step_uuid;

-- name: lock_current_attempt
-- Lock a step for an outcome, raising StaleAttemptError (TK002) when the attempt is no longer
-- current: the first statement of a transaction that writes more than the outcome (a
-- decision's or a batch's new steps), so that running it again, after a lost connection
-- left unknown whether it committed, cannot write them twice.
SELECT 1 AS locked FROM tasker.lock_attempt(%(step_uuid)s, %(attempt)s);
