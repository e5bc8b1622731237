-- What a stopping worker gives back: attempts it claimed and never started (docs/engine.md,
-- "Stopping").

-- name: release_unstarted_attempts
-- Undo the claims of attempts this worker holds and has not started (steps, attempts: arrays
-- in the same order), as if they had never been claimed: the in_progress transition each
-- claim wrote is removed (the one before it is the step's latest again), the attempt count
-- goes back, the lease is dropped and the step is claimable at once, so a resumed run or
-- another worker starts it as its own first attempt. A claim that is no longer this
-- worker's current attempt is left alone. One row per step released.
WITH held AS MATERIALIZED (
    SELECT s.workflow_step_uuid, s.attempts
    FROM tasker.workflow_steps s
    JOIN unnest(%(steps)s::uuid[], %(attempts)s::integer[]) AS h (step, attempt)
      ON s.workflow_step_uuid = h.step AND s.attempts = h.attempt
    WHERE s.current_state = 'in_progress' AND s.lease_owner = %(worker)s
    ORDER BY s.workflow_step_uuid
    FOR UPDATE OF s
), undone AS (
    DELETE FROM tasker.workflow_step_transitions w
    USING held h
    WHERE w.workflow_step_uuid = h.workflow_step_uuid AND w.most_recent
      AND w.to_state = 'in_progress' AND w.attempt = h.attempts
    RETURNING w.workflow_step_uuid, w.sort_key, w.from_state
), restored AS (
    UPDATE tasker.workflow_step_transitions w SET most_recent = true
    FROM undone u
    WHERE w.workflow_step_uuid = u.workflow_step_uuid AND w.sort_key = u.sort_key - 1
    RETURNING w.workflow_step_uuid
)
UPDATE tasker.workflow_steps s
SET current_state = u.from_state, attempts = s.attempts - 1, in_process = false,
    lease_owner = NULL, lease_expires_at = NULL, claimable_at = tasker.now(),
    last_attempted_at = CASE WHEN s.attempts > 1 THEN s.last_attempted_at END,
    updated_at = tasker.now()
FROM undone u
WHERE s.workflow_step_uuid = u.workflow_step_uuid
RETURNING s.workflow_step_uuid, s.namespace_name;
