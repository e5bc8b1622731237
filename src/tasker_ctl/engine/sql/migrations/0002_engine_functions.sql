-- Engine functions: every state change of the orchestrator is one call, one transaction.
--
--   transition_task / transition_step   record a transition (lock, compare, insert, cache)
--   claim_step                          take the next claimable step with a lease
--   extend_lease                        heartbeat of a running attempt
--   complete_step / fail_step           store an attempt's outcome, enqueue ready children,
--                                       finalize or block the task
--
-- A completion or failure must carry the attempt number it was claimed with (the fencing
-- token); a late result from an attempt whose lease expired is refused with SQLSTATE TK002.
-- Unknown entities raise TK003.

CREATE OR REPLACE FUNCTION tasker.transition_task(
    p_task uuid, p_to varchar, p_metadata jsonb DEFAULT '{}', p_expected varchar DEFAULT NULL
) RETURNS varchar
LANGUAGE plpgsql AS $$
DECLARE
    v_from  varchar;
    v_sort  integer;
    v_event varchar;
BEGIN
    SELECT current_state INTO v_from FROM tasker.tasks WHERE task_uuid = p_task FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'task % does not exist', p_task USING ERRCODE = 'TK003';
    END IF;
    IF p_expected IS NOT NULL AND v_from <> p_expected THEN
        RAISE EXCEPTION 'task % is %, not %', p_task, v_from, p_expected USING ERRCODE = 'TK001';
    END IF;
    SELECT event INTO v_event FROM tasker.task_transition_rules
    WHERE from_state = v_from AND to_state = p_to;
    UPDATE tasker.task_transitions SET most_recent = false
    WHERE task_uuid = p_task AND most_recent
    RETURNING sort_key INTO v_sort;
    INSERT INTO tasker.task_transitions (task_uuid, from_state, to_state, event, metadata, sort_key)
    VALUES (p_task, v_from, p_to, coalesce(v_event, 'Invalid'), p_metadata, coalesce(v_sort, 0) + 1);
    UPDATE tasker.tasks
    SET current_state = p_to,
        updated_at = tasker.now(),
        complete = (p_to = 'complete') OR complete,
        completed_at = CASE WHEN p_to = 'complete' THEN tasker.now() ELSE completed_at END
    WHERE task_uuid = p_task;
    RETURN v_from;
END
$$;

CREATE OR REPLACE FUNCTION tasker.transition_step(
    p_step uuid, p_to varchar, p_metadata jsonb DEFAULT '{}', p_expected varchar DEFAULT NULL
) RETURNS varchar
LANGUAGE plpgsql AS $$
DECLARE
    v_from     varchar;
    v_task     uuid;
    v_attempts integer;
    v_sort     integer;
    v_event    varchar;
BEGIN
    SELECT current_state, task_uuid, attempts INTO v_from, v_task, v_attempts
    FROM tasker.workflow_steps WHERE workflow_step_uuid = p_step FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'step % does not exist', p_step USING ERRCODE = 'TK003';
    END IF;
    IF p_expected IS NOT NULL AND v_from <> p_expected THEN
        RAISE EXCEPTION 'step % is %, not %', p_step, v_from, p_expected USING ERRCODE = 'TK001';
    END IF;
    SELECT event INTO v_event FROM tasker.step_transition_rules
    WHERE from_state = v_from AND to_state = p_to;
    UPDATE tasker.workflow_step_transitions SET most_recent = false
    WHERE workflow_step_uuid = p_step AND most_recent
    RETURNING sort_key INTO v_sort;
    INSERT INTO tasker.workflow_step_transitions
        (workflow_step_uuid, task_uuid, from_state, to_state, event, attempt, metadata, sort_key)
    VALUES (p_step, v_task, v_from, p_to, coalesce(v_event, 'Invalid'), v_attempts, p_metadata,
            coalesce(v_sort, 0) + 1);
    UPDATE tasker.workflow_steps SET current_state = p_to, updated_at = tasker.now()
    WHERE workflow_step_uuid = p_step;
    RETURN v_from;
END
$$;

-- Make a pending step claimable now.
CREATE OR REPLACE FUNCTION tasker.enqueue_step(p_step uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tasker.transition_step(p_step, 'enqueued', '{}'::jsonb, 'pending');
    UPDATE tasker.workflow_steps SET claimable_at = tasker.now() WHERE workflow_step_uuid = p_step;
END
$$;

-- Enqueue every pending child of p_step whose parents are all complete or resolved.
-- Locking each child before reading its parents makes two parents completing at the same
-- time agree: the second to lock sees the first's committed completion.
CREATE OR REPLACE FUNCTION tasker.enqueue_ready_children(p_step uuid) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_child uuid;
    v_count integer := 0;
BEGIN
    FOR v_child IN
        SELECT e.to_step_uuid FROM tasker.workflow_step_edges e
        WHERE e.from_step_uuid = p_step
        ORDER BY e.to_step_uuid
    LOOP
        PERFORM 1 FROM tasker.workflow_steps
        WHERE workflow_step_uuid = v_child AND current_state = 'pending' FOR UPDATE;
        CONTINUE WHEN NOT FOUND;
        CONTINUE WHEN EXISTS (
            SELECT 1 FROM tasker.workflow_step_edges e
            JOIN tasker.workflow_steps p ON p.workflow_step_uuid = e.from_step_uuid
            WHERE e.to_step_uuid = v_child
              AND p.current_state NOT IN ('complete', 'resolved_manually')
        );
        PERFORM tasker.enqueue_step(v_child);
        v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
END
$$;

-- Move a running task to a resting state through evaluating_results.
CREATE OR REPLACE FUNCTION tasker.settle_task(p_task uuid, p_to varchar, p_metadata jsonb)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_state varchar;
BEGIN
    SELECT current_state INTO v_state FROM tasker.tasks WHERE task_uuid = p_task FOR UPDATE;
    IF v_state = p_to OR v_state IN ('complete', 'error', 'cancelled', 'resolved_manually') THEN
        RETURN;
    END IF;
    IF v_state <> 'evaluating_results' THEN
        PERFORM tasker.transition_task(p_task, 'evaluating_results', p_metadata);
    END IF;
    PERFORM tasker.transition_task(p_task, p_to, p_metadata);
END
$$;

CREATE OR REPLACE FUNCTION tasker.claim_step(
    p_worker varchar, p_namespaces varchar[], p_lease_seconds integer, p_task uuid DEFAULT NULL
) RETURNS SETOF tasker.workflow_steps
LANGUAGE plpgsql AS $$
DECLARE
    v_step tasker.workflow_steps;
    v_now  timestamptz := tasker.now();
BEGIN
    LOOP
        SELECT * INTO v_step FROM tasker.workflow_steps
        WHERE claimable_at <= v_now
          AND (p_namespaces IS NULL OR namespace_name = ANY (p_namespaces))
          AND (p_task IS NULL OR task_uuid = p_task)
        ORDER BY claimable_at, priority DESC
        LIMIT 1
        FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        IF v_step.current_state = 'in_progress' THEN
            -- The worker holding this attempt stopped renewing its lease: the attempt is lost.
            UPDATE tasker.workflow_steps
            SET in_process = false, lease_owner = NULL, lease_expires_at = NULL,
                results = jsonb_build_object(
                    'success', false, 'status', 'error',
                    'error', jsonb_build_object(
                        'error_type', 'lease_expired', 'retryable', true,
                        'message', format('attempt %s lost: worker %s stopped renewing its lease',
                                          v_step.attempts, v_step.lease_owner)))
            WHERE workflow_step_uuid = v_step.workflow_step_uuid;
            IF v_step.retryable AND v_step.attempts < v_step.max_attempts THEN
                PERFORM tasker.transition_step(v_step.workflow_step_uuid, 'waiting_for_retry',
                    jsonb_build_object('reason', 'lease_expired', 'worker', v_step.lease_owner));
            ELSE
                PERFORM tasker.transition_step(v_step.workflow_step_uuid, 'error',
                    jsonb_build_object('reason', 'lease_expired', 'worker', v_step.lease_owner));
                UPDATE tasker.workflow_steps SET claimable_at = NULL
                WHERE workflow_step_uuid = v_step.workflow_step_uuid;
                PERFORM tasker.block_task(v_step.task_uuid, v_step.workflow_step_uuid);
                CONTINUE;
            END IF;
            v_step.current_state := 'waiting_for_retry';
        END IF;
        IF v_step.current_state = 'waiting_for_retry' THEN
            PERFORM tasker.transition_step(v_step.workflow_step_uuid, 'enqueued', '{}'::jsonb);
        END IF;
        UPDATE tasker.workflow_steps
        SET attempts = attempts + 1,
            in_process = true,
            last_attempted_at = v_now,
            lease_owner = p_worker,
            lease_expires_at = v_now + make_interval(secs => p_lease_seconds),
            claimable_at = v_now + make_interval(secs => p_lease_seconds)
        WHERE workflow_step_uuid = v_step.workflow_step_uuid;
        PERFORM tasker.transition_step(v_step.workflow_step_uuid, 'in_progress',
            jsonb_build_object('worker', p_worker));
        RETURN QUERY SELECT * FROM tasker.workflow_steps
        WHERE workflow_step_uuid = v_step.workflow_step_uuid;
        RETURN;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION tasker.extend_lease(
    p_step uuid, p_attempt integer, p_worker varchar, p_lease_seconds integer
) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_until timestamptz := tasker.now() + make_interval(secs => p_lease_seconds);
BEGIN
    UPDATE tasker.workflow_steps
    SET lease_expires_at = v_until, claimable_at = v_until
    WHERE workflow_step_uuid = p_step AND attempts = p_attempt
      AND current_state = 'in_progress' AND lease_owner = p_worker;
    RETURN FOUND;
END
$$;

-- Lock a step for an outcome and check the fencing token.
CREATE OR REPLACE FUNCTION tasker.lock_attempt(p_step uuid, p_attempt integer)
RETURNS tasker.workflow_steps
LANGUAGE plpgsql AS $$
DECLARE
    v_step tasker.workflow_steps;
BEGIN
    SELECT * INTO v_step FROM tasker.workflow_steps WHERE workflow_step_uuid = p_step FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'step % does not exist', p_step USING ERRCODE = 'TK003';
    END IF;
    IF v_step.current_state <> 'in_progress' OR v_step.attempts <> p_attempt THEN
        RAISE EXCEPTION 'attempt % of step % is no longer current (step is % at attempt %)',
            p_attempt, p_step, v_step.current_state, v_step.attempts
            USING ERRCODE = 'TK002';
    END IF;
    RETURN v_step;
END
$$;

-- A task with a failed step stops: its waiting steps are no longer claimable.
CREATE OR REPLACE FUNCTION tasker.block_task(p_task uuid, p_step uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tasker.workflow_steps SET claimable_at = NULL
    WHERE task_uuid = p_task AND current_state IN ('enqueued', 'waiting_for_retry');
    PERFORM tasker.settle_task(p_task, 'blocked_by_failures',
        jsonb_build_object('failed_step', p_step));
END
$$;

CREATE OR REPLACE FUNCTION tasker.complete_step(
    p_step uuid, p_attempt integer, p_results jsonb, p_metadata jsonb DEFAULT '{}'
) RETURNS TABLE (task_state varchar, enqueued integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_step      tasker.workflow_steps;
    v_enqueued  integer;
    v_remaining integer;
    v_state     varchar;
BEGIN
    v_step := tasker.lock_attempt(p_step, p_attempt);
    PERFORM tasker.transition_step(p_step, 'complete', p_metadata);
    UPDATE tasker.workflow_steps
    SET results = p_results, processed = true, processed_at = tasker.now(), in_process = false,
        claimable_at = NULL, lease_owner = NULL, lease_expires_at = NULL
    WHERE workflow_step_uuid = p_step;
    v_enqueued := tasker.enqueue_ready_children(p_step);
    -- Last: the task row is the one lock every completion of this task shares.
    UPDATE tasker.tasks SET unfinished_steps = unfinished_steps - 1
    WHERE task_uuid = v_step.task_uuid
    RETURNING unfinished_steps, current_state INTO v_remaining, v_state;
    IF v_remaining = 0 AND v_state = 'steps_in_process' THEN
        PERFORM tasker.settle_task(v_step.task_uuid, 'complete', '{}'::jsonb);
        v_state := 'complete';
    END IF;
    IF v_enqueued > 0 THEN
        PERFORM pg_notify('tasker_steps_ready', v_step.namespace_name);
    END IF;
    IF v_state IN ('complete', 'blocked_by_failures') THEN
        PERFORM pg_notify('tasker_task_settled', v_step.task_uuid::text);
    END IF;
    RETURN QUERY SELECT v_state, v_enqueued;
END
$$;

CREATE OR REPLACE FUNCTION tasker.fail_step(
    p_step uuid, p_attempt integer, p_results jsonb, p_retryable boolean,
    p_backoff_seconds double precision, p_metadata jsonb DEFAULT '{}'
) RETURNS TABLE (step_state varchar, task_state varchar)
LANGUAGE plpgsql AS $$
DECLARE
    v_step  tasker.workflow_steps;
    v_state varchar;
BEGIN
    v_step := tasker.lock_attempt(p_step, p_attempt);
    UPDATE tasker.workflow_steps
    SET results = p_results, in_process = false, lease_owner = NULL, lease_expires_at = NULL,
        backoff_request_seconds = ceil(p_backoff_seconds)::integer
    WHERE workflow_step_uuid = p_step;
    IF p_retryable AND v_step.retryable AND v_step.attempts < v_step.max_attempts THEN
        PERFORM tasker.transition_step(p_step, 'waiting_for_retry', p_metadata);
        UPDATE tasker.workflow_steps
        SET claimable_at = tasker.now() + make_interval(secs => p_backoff_seconds)
        WHERE workflow_step_uuid = p_step;
        SELECT current_state INTO v_state FROM tasker.tasks WHERE task_uuid = v_step.task_uuid;
        PERFORM pg_notify('tasker_steps_ready', v_step.namespace_name);
        RETURN QUERY SELECT 'waiting_for_retry'::varchar, v_state;
        RETURN;
    END IF;
    PERFORM tasker.transition_step(p_step, 'error', p_metadata);
    UPDATE tasker.workflow_steps SET claimable_at = NULL WHERE workflow_step_uuid = p_step;
    PERFORM tasker.block_task(v_step.task_uuid, p_step);
    PERFORM pg_notify('tasker_task_settled', v_step.task_uuid::text);
    SELECT current_state INTO v_state FROM tasker.tasks WHERE task_uuid = v_step.task_uuid;
    RETURN QUERY SELECT 'error'::varchar, v_state;
END
$$;
