-- The action grammar's storage: the outbox that `emit` writes events into, the ledger of
-- effects that makes a retried `persist` or `emit` happen once, and the two calls of a gate
-- (a composition waiting for a person's approval).
--
--   await_gate    in_progress -> waiting_for_retry with no due time, the composition's
--                 progress kept in the checkpoint; the wait does not use up a retry
--   decide_gate   an approver's decision written into that checkpoint, the step enqueued
--                 again (rejection is carried out by the gate when the step runs)

CREATE TABLE tasker.grammar_outbox (
    event_uuid          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    idempotency_key     varchar(128) NOT NULL UNIQUE,
    resource            varchar(128) NOT NULL,
    event_name          varchar(255) NOT NULL,
    event_version       varchar(64),
    delivery_mode       varchar(16) NOT NULL DEFAULT 'async',
    payload             jsonb NOT NULL,
    metadata            jsonb NOT NULL DEFAULT '{}',
    task_uuid           uuid REFERENCES tasker.tasks (task_uuid) ON DELETE SET NULL,
    workflow_step_uuid  uuid,
    invocation_index    integer,
    created_at          timestamptz NOT NULL DEFAULT tasker.now(),
    published_at        timestamptz
);
-- a relay reads what is not yet published, oldest first
CREATE INDEX grammar_outbox_unpublished_idx ON tasker.grammar_outbox (created_at)
    WHERE published_at IS NULL;
CREATE INDEX grammar_outbox_task_idx ON tasker.grammar_outbox (task_uuid);

CREATE TABLE tasker.grammar_effects (
    idempotency_key     varchar(128) PRIMARY KEY,
    task_uuid           uuid,
    workflow_step_uuid  uuid,
    invocation_index    integer NOT NULL,
    capability          varchar(32) NOT NULL,
    resource            varchar(128) NOT NULL,
    entity              varchar(255) NOT NULL,
    result              jsonb NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT tasker.now()
);
CREATE INDEX grammar_effects_step_idx ON tasker.grammar_effects (workflow_step_uuid);

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
        -- the attempt ended waiting, not failing: it must not cost the step a retry
        max_attempts = max_attempts + 1,
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

-- TK001 unless the step waits at a gate; the gate's index must be the one waiting.
CREATE OR REPLACE FUNCTION tasker.decide_gate(
    p_step uuid, p_decision jsonb, p_metadata jsonb,
    OUT step_state varchar, OUT task_state varchar, OUT gate_index integer
)
LANGUAGE plpgsql AS $$
DECLARE
    v_locked  record;
    v_step    tasker.workflow_steps;
    v_pending jsonb;
BEGIN
    v_locked := tasker.lock_step_for_operator(p_step);
    v_step := v_locked.step;
    task_state := v_locked.task_state;
    v_pending := v_step.checkpoint -> 'composition' -> 'pending_gate';
    IF v_step.current_state <> 'waiting_for_retry' OR v_pending IS NULL THEN
        RAISE EXCEPTION 'step % is %, not waiting for approval', v_step.name,
            v_step.current_state USING ERRCODE = 'TK001';
    END IF;
    gate_index := (v_pending ->> 'index')::integer;
    UPDATE tasker.workflow_steps
    SET checkpoint = jsonb_set(
            checkpoint #- '{composition,pending_gate}',
            ARRAY['composition', 'gates'],
            coalesce(checkpoint -> 'composition' -> 'gates', '{}'::jsonb)
                || jsonb_build_object(gate_index::text, p_decision)),
        updated_at = tasker.now()
    WHERE workflow_step_uuid = p_step;
    PERFORM tasker.record_step_transition(p_step, v_step.task_uuid, 'waiting_for_retry',
        'enqueued', v_step.attempts, p_metadata || jsonb_build_object('gate', p_decision));
    UPDATE tasker.workflow_steps
    SET current_state = 'enqueued',
        claimable_at = CASE WHEN tasker.task_accepts_work(task_state) THEN tasker.now() END
    WHERE workflow_step_uuid = p_step;
    PERFORM pg_notify('tasker_steps_ready', v_step.namespace_name);
    step_state := 'enqueued';
END
$$;
