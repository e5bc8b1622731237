-- A step parked at a gate used to be given one more max_attempts for every park, so that the
-- wait would cost no retry; its attempts and max_attempts then said more than the step had
-- run or was allowed (1/4 for a step of 3 waiting for its first approval). A park now hands
-- the claim's attempt back instead, and the steps parked before are set right here: each park
-- is taken off max_attempts, and each park since the step's last reset off its attempts.
-- A step running now keeps its figures: its worker holds its attempt number, and changing it
-- under the worker would refuse the outcome it is about to record.

CREATE OR REPLACE FUNCTION tasker.await_gate(
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

UPDATE tasker.workflow_steps s
SET max_attempts = s.max_attempts - parks.total,
    attempts = s.attempts - parks.since_reset
FROM (
    SELECT g.workflow_step_uuid,
           count(*) AS total,
           count(*) FILTER (WHERE g.sort_key > (
               SELECT coalesce(max(r.sort_key), -1) FROM tasker.workflow_step_transitions r
               WHERE r.workflow_step_uuid = g.workflow_step_uuid
                 AND r.from_state = 'error' AND r.to_state = 'pending')) AS since_reset
    FROM tasker.workflow_step_transitions g
    WHERE g.metadata ? 'awaiting_approval'
    GROUP BY g.workflow_step_uuid
) parks
WHERE s.workflow_step_uuid = parks.workflow_step_uuid AND s.current_state <> 'in_progress';
