-- Operator functions: the repairs a person makes to a task, each one call in the caller's
-- transaction (see tasker_ctl/engine/operator.py and docs/operations.md).
--
--   lock_task_for_operator    take every unfinished step of a task, then the task row
--   cancel_task_by_operator   every unfinished step -> cancelled, then the task
--   retry_failed_step         error -> pending with attempts reset (reset_for_retry)
--   settle_step_by_operator   -> resolved_manually or complete, propagated like a completion
--   resume_repaired_task      blocked_by_failures -> running again (or complete) once no
--                             failed step holds it back
--
-- Locks. An operator's change may touch any step of the task (cancelling all of them,
-- enqueueing the steps a block held back), so it first holds every unfinished step and then
-- the task row: no engine call of the task is half done underneath it, and none starts
-- until it commits. The steps are taken with SKIP LOCKED, never waited for, so the engine's
-- rule holds (step rows before the task row; a holder of the task row never waits for a
-- step row). When another transaction holds one of them, the call fails with SQLSTATE 40001
-- and the caller tries again: engine transactions are short, and an attempt that is running
-- a handler holds no row lock.
--
-- Metadata. Every transition an operator causes, of a step or of the task, carries the
-- caller's p_metadata ({"action", "by", "reason"}); transitions of the task also name the
-- step that was repaired.

CREATE OR REPLACE FUNCTION tasker.lock_task_for_operator(p_task uuid) RETURNS varchar
LANGUAGE plpgsql AS $$
DECLARE
    v_locked uuid[];
    v_state  varchar;
BEGIN
    SELECT array_agg(workflow_step_uuid) INTO v_locked FROM (
        SELECT workflow_step_uuid FROM tasker.workflow_steps
        WHERE task_uuid = p_task
          AND current_state NOT IN ('complete', 'cancelled', 'resolved_manually')
        FOR UPDATE SKIP LOCKED
    ) taken;
    SELECT current_state INTO v_state FROM tasker.tasks WHERE task_uuid = p_task FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'task % does not exist', p_task USING ERRCODE = 'TK003';
    END IF;
    -- a later statement, so a fresh snapshot: it also sees steps committed meanwhile
    IF EXISTS (
        SELECT 1 FROM tasker.workflow_steps
        WHERE task_uuid = p_task
          AND current_state NOT IN ('complete', 'cancelled', 'resolved_manually')
          AND workflow_step_uuid <> ALL (coalesce(v_locked, '{}'::uuid[]))
    ) THEN
        RAISE EXCEPTION 'steps of task % are being changed by another transaction', p_task
            USING ERRCODE = '40001', HINT = 'try again';
    END IF;
    RETURN v_state;
END
$$;

-- The step an operator changes, read after its task is held (lock_task_for_operator), and
-- the task's state. TK003 for an unknown step, TK001 when the task has finished.
CREATE OR REPLACE FUNCTION tasker.lock_step_for_operator(
    p_step uuid, OUT step tasker.workflow_steps, OUT task_state varchar
)
LANGUAGE plpgsql AS $$
DECLARE
    v_task uuid;
BEGIN
    SELECT task_uuid INTO v_task FROM tasker.workflow_steps WHERE workflow_step_uuid = p_step;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'step % does not exist', p_step USING ERRCODE = 'TK003';
    END IF;
    task_state := tasker.lock_task_for_operator(v_task);
    IF task_state IN ('complete', 'error', 'cancelled', 'resolved_manually') THEN
        RAISE EXCEPTION 'task % is already %', v_task, task_state USING ERRCODE = 'TK001';
    END IF;
    SELECT * INTO step FROM tasker.workflow_steps WHERE workflow_step_uuid = p_step;
END
$$;

-- Append a transition to each of p_steps (their rows locked by the caller, still in the
-- state their last transition names), and write the new state to the rows' cache.
CREATE OR REPLACE FUNCTION tasker.record_operator_transitions(
    p_steps uuid[], p_to varchar, p_metadata jsonb
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_count integer;
BEGIN
    WITH previous AS (
        UPDATE tasker.workflow_step_transitions SET most_recent = false
        WHERE workflow_step_uuid = ANY (p_steps) AND most_recent
        RETURNING workflow_step_uuid, task_uuid, to_state, sort_key
    ), recorded AS (
        INSERT INTO tasker.workflow_step_transitions
            (workflow_step_uuid, task_uuid, from_state, to_state, attempt, metadata, sort_key)
        SELECT p.workflow_step_uuid, p.task_uuid, p.to_state, p_to, s.attempts, p_metadata,
               p.sort_key + 1
        FROM previous p JOIN tasker.workflow_steps s USING (workflow_step_uuid)
        WHERE p.to_state = s.current_state
        RETURNING 1
    )
    SELECT count(*) INTO v_count FROM recorded;
    IF v_count <> coalesce(cardinality(p_steps), 0) THEN
        RAISE EXCEPTION 'of % steps only % are in the state their transitions name',
            coalesce(cardinality(p_steps), 0), v_count USING ERRCODE = 'TK001';
    END IF;
    UPDATE tasker.workflow_steps SET current_state = p_to, updated_at = tasker.now()
    WHERE workflow_step_uuid = ANY (p_steps);
END
$$;

-- Cancel a task that has not finished: its unfinished steps first (a running attempt's
-- later result is then refused by the fencing of lock_attempt / record_completion), then
-- the task. TK001 when the task is already terminal.
CREATE OR REPLACE FUNCTION tasker.cancel_task_by_operator(
    p_task uuid, p_metadata jsonb, OUT task_state varchar, OUT cancelled_steps varchar[]
)
LANGUAGE plpgsql AS $$
DECLARE
    v_state varchar;
    v_steps uuid[];
    v_now   timestamptz := tasker.now();
BEGIN
    v_state := tasker.lock_task_for_operator(p_task);
    IF v_state IN ('complete', 'error', 'cancelled', 'resolved_manually') THEN
        RAISE EXCEPTION 'task % is already %', p_task, v_state USING ERRCODE = 'TK001';
    END IF;
    SELECT array_agg(workflow_step_uuid ORDER BY name), array_agg(name ORDER BY name)
    INTO v_steps, cancelled_steps
    FROM tasker.workflow_steps
    WHERE task_uuid = p_task
      AND current_state NOT IN ('complete', 'cancelled', 'resolved_manually');
    IF v_steps IS NOT NULL THEN
        PERFORM tasker.record_operator_transitions(v_steps, 'cancelled', p_metadata);
        UPDATE tasker.workflow_steps
        SET processed = true, processed_at = v_now, in_process = false, claimable_at = NULL,
            lease_owner = NULL, lease_expires_at = NULL
        WHERE workflow_step_uuid = ANY (v_steps);
    END IF;
    PERFORM tasker.transition_task(p_task, 'cancelled', p_metadata);
    PERFORM pg_notify('tasker_task_settled', p_task::text);
    task_state := 'cancelled';
    cancelled_steps := coalesce(cancelled_steps, '{}'::varchar[]);
END
$$;

-- A task blocked by failures runs again once no unprocessed step of it is in error (a step
-- in error that is processed is a tolerated failure). It goes blocked_by_failures ->
-- evaluating_results (StepRepaired), then to complete when every step is processed, else
-- through enqueuing_steps to steps_in_process, and its work becomes claimable again: what
-- block_task and claims took off the queue (enqueued and waiting steps), and the steps whose
-- parents finished while it was blocked (their enqueue was skipped). The caller holds the
-- task (lock_task_for_operator). Returns the task's state and how many steps were enqueued.
CREATE OR REPLACE FUNCTION tasker.resume_repaired_task(
    p_task uuid, p_metadata jsonb, OUT task_state varchar, OUT enqueued integer
)
LANGUAGE plpgsql AS $$
DECLARE
    v_now       timestamptz := tasker.now();
    v_namespace varchar;
    v_ready     uuid[];
    v_restored  integer;
BEGIN
    enqueued := 0;
    SELECT current_state, namespace_name INTO task_state, v_namespace
    FROM tasker.tasks WHERE task_uuid = p_task FOR UPDATE;
    -- an isolated batch failure holds back only what depends on it: the task runs on with
    -- it, and is blocked again below when nothing else can run
    IF task_state IS DISTINCT FROM 'blocked_by_failures' OR EXISTS (
        SELECT 1 FROM tasker.workflow_steps s
        WHERE s.task_uuid = p_task AND s.current_state = 'error' AND NOT s.processed
          AND NOT tasker.isolates_failures(s)
    ) THEN
        RETURN;
    END IF;
    PERFORM tasker.transition_task(p_task, 'evaluating_results', p_metadata);
    IF NOT EXISTS (SELECT 1 FROM tasker.workflow_steps WHERE task_uuid = p_task AND NOT processed)
    THEN
        PERFORM tasker.transition_task(p_task, 'complete', p_metadata);
        PERFORM pg_notify('tasker_task_settled', p_task::text);
        task_state := 'complete';
        RETURN;
    END IF;
    PERFORM tasker.transition_task(p_task, 'enqueuing_steps', p_metadata);
    PERFORM tasker.transition_task(p_task, 'steps_in_process', p_metadata);
    task_state := 'steps_in_process';
    UPDATE tasker.workflow_steps
    SET claimable_at = CASE
            WHEN current_state = 'enqueued' THEN v_now
            -- the retry's own schedule, which has passed when the block outlasted it
            ELSE coalesce(last_attempted_at, v_now)
                 + make_interval(secs => coalesce(backoff_request_seconds, 0))
        END
    WHERE task_uuid = p_task AND claimable_at IS NULL
      AND current_state IN ('enqueued', 'waiting_for_retry');
    GET DIAGNOSTICS v_restored = ROW_COUNT;
    SELECT array_agg(workflow_step_uuid ORDER BY workflow_step_uuid) INTO v_ready
    FROM tasker.workflow_steps
    WHERE task_uuid = p_task AND current_state = 'pending' AND pending_parents = 0;
    IF v_ready IS NOT NULL THEN
        PERFORM tasker.enqueue_steps(v_ready);
        enqueued := cardinality(v_ready);
    END IF;
    IF v_restored + enqueued > 0 THEN
        PERFORM pg_notify('tasker_steps_ready', v_namespace);
    END IF;
    IF EXISTS (SELECT 1 FROM tasker.tasks WHERE task_uuid = p_task AND has_isolated_failures) THEN
        task_state := tasker.block_if_stuck(p_task);
    END IF;
END
$$;

-- Tasker Core's reset_for_retry: a failed step goes error -> pending with its attempts
-- reset to 0 (the transition records the attempts it had). It is enqueued at once when its
-- parents are all complete or resolved and the task takes work; a task blocked by failures
-- resumes first when this was its last failed step. TK001 unless the step is an unprocessed
-- failure of a task that has not finished.
CREATE OR REPLACE FUNCTION tasker.retry_failed_step(
    p_step uuid, p_metadata jsonb,
    OUT step_state varchar, OUT task_state varchar, OUT enqueued integer
)
LANGUAGE plpgsql AS $$
DECLARE
    v_locked  record;
    v_step    tasker.workflow_steps;
    v_resumed record;
BEGIN
    v_locked := tasker.lock_step_for_operator(p_step);
    v_step := v_locked.step;
    task_state := v_locked.task_state;
    IF v_step.current_state <> 'error' OR v_step.processed THEN
        RAISE EXCEPTION 'step % is %, not an unprocessed error', p_step, v_step.current_state
            USING ERRCODE = 'TK001';
    END IF;
    PERFORM tasker.record_step_transition(p_step, v_step.task_uuid, 'error', 'pending', 0,
        p_metadata || jsonb_build_object('previous_attempts', v_step.attempts));
    UPDATE tasker.workflow_steps
    SET current_state = 'pending', attempts = 0, in_process = false, processed = false,
        processed_at = NULL, claimable_at = NULL, lease_owner = NULL, lease_expires_at = NULL,
        backoff_request_seconds = NULL, updated_at = tasker.now()
    WHERE workflow_step_uuid = p_step;
    SELECT * INTO v_resumed FROM tasker.resume_repaired_task(
        v_step.task_uuid, p_metadata || jsonb_build_object('step', v_step.name));
    task_state := v_resumed.task_state;
    enqueued := v_resumed.enqueued;
    SELECT current_state INTO step_state FROM tasker.workflow_steps
    WHERE workflow_step_uuid = p_step;
    IF step_state = 'pending' AND v_step.pending_parents = 0
       AND tasker.task_accepts_work(task_state) THEN
        PERFORM tasker.enqueue_steps(ARRAY[p_step]);
        PERFORM pg_notify('tasker_steps_ready', v_step.namespace_name);
        step_state := 'enqueued';
        enqueued := enqueued + 1;
    END IF;
END
$$;

-- Settle a step by hand: p_to is resolved_manually (its stored results stay as they are) or
-- complete (with p_results, the envelope the caller built). Either satisfies the step's
-- children exactly as a worker's completion does (propagate_completion), and a task blocked
-- by failures resumes when no other failed step holds it back. A running attempt's step is
-- settled only with p_force; that attempt's result is then refused (fencing). TK001 when
-- the step or the task has already finished, the step is a tolerated failure, or some of
-- its parents have not finished.
CREATE OR REPLACE FUNCTION tasker.settle_step_by_operator(
    p_step uuid, p_to varchar, p_results jsonb, p_metadata jsonb, p_force boolean,
    OUT step_state varchar, OUT task_state varchar, OUT enqueued integer
)
LANGUAGE plpgsql AS $$
DECLARE
    v_locked     record;
    v_step       tasker.workflow_steps;
    v_now        timestamptz := tasker.now();
    v_propagated record;
    v_resumed    record;
BEGIN
    IF p_to NOT IN ('resolved_manually', 'complete') THEN
        RAISE EXCEPTION 'an operator settles a step as resolved_manually or complete, not %',
            p_to USING ERRCODE = 'TK001';
    END IF;
    v_locked := tasker.lock_step_for_operator(p_step);
    v_step := v_locked.step;
    task_state := v_locked.task_state;
    IF v_step.current_state IN ('complete', 'cancelled', 'resolved_manually')
       OR (v_step.current_state = 'in_progress' AND NOT p_force)
       OR (v_step.current_state = 'error' AND v_step.processed) THEN
        RAISE EXCEPTION 'step % is %, which an operator cannot settle', p_step,
            v_step.current_state USING ERRCODE = 'TK001';
    END IF;
    -- the last step of a task to finish must be one without children (only a leaf's
    -- completion asks whether the task is done): a step settled before its parents would
    -- leave the last of them to finish unable to complete the task. (A batch worker waiting
    -- for a slot, its parents finished, may be settled: propagate_completion releases it.)
    IF EXISTS (
        SELECT 1 FROM tasker.workflow_step_edges e
        JOIN tasker.workflow_steps p ON p.workflow_step_uuid = e.from_step_uuid
        WHERE e.to_step_uuid = p_step AND NOT tasker.has_final_result(p.current_state, p.processed)
    ) THEN
        RAISE EXCEPTION 'step % still waits for some of its parents', p_step
            USING ERRCODE = 'TK001';
    END IF;
    PERFORM tasker.record_step_transition(p_step, v_step.task_uuid, v_step.current_state, p_to,
                                          v_step.attempts, p_metadata);
    UPDATE tasker.workflow_steps
    SET current_state = p_to,
        results = CASE WHEN p_to = 'complete' THEN p_results ELSE results END,
        processed = true, processed_at = v_now, in_process = false, claimable_at = NULL,
        lease_owner = NULL, lease_expires_at = NULL, updated_at = v_now
    WHERE workflow_step_uuid = p_step;
    step_state := p_to;
    SELECT * INTO v_propagated
    FROM tasker.propagate_completion(p_step, v_step.task_uuid, v_step.namespace_name);
    SELECT * INTO v_resumed FROM tasker.resume_repaired_task(
        v_step.task_uuid, p_metadata || jsonb_build_object('step', v_step.name));
    task_state := v_resumed.task_state;
    enqueued := coalesce(v_propagated.enqueued, 0) + v_resumed.enqueued;
END
$$;
