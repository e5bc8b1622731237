-- Engine functions: every state change of the orchestrator is one call, one transaction.
--
--   transition_task / transition_step   record a transition (lock, compare, insert, cache)
--   claim_step                          take the next claimable step with a lease
--   extend_lease                        heartbeat of a running attempt
--   complete_step / fail_step           store an attempt's outcome, enqueue ready children,
--                                       finalize or block the task
--   dependency_results                  what a step's handler sees of its ancestors
--
-- A completion or failure must carry the attempt number it was claimed with (the fencing
-- token); a late result from an attempt whose lease expired and was taken over is refused
-- with SQLSTATE TK002. Unknown entities raise TK003.
--
-- Locks, always in this order, so that no two engine transactions deadlock: first the one
-- step the call is about, then the task row (every outcome of a task takes it, so outcomes of
-- one task are serialized), then other steps of the task (children, waiting siblings).

-- A task in one of these states takes no new work: nothing of it is enqueued or claimed.
CREATE OR REPLACE FUNCTION tasker.task_accepts_work(p_state varchar) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_state NOT IN ('blocked_by_failures', 'complete', 'error', 'cancelled',
                           'resolved_manually')
$$;

CREATE OR REPLACE FUNCTION tasker.transition_task(
    p_task uuid, p_to varchar, p_metadata jsonb DEFAULT '{}', p_expected varchar DEFAULT NULL
) RETURNS varchar
LANGUAGE plpgsql AS $$
DECLARE
    v_from  varchar;
    v_sort  integer;
BEGIN
    SELECT current_state INTO v_from FROM tasker.tasks WHERE task_uuid = p_task FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'task % does not exist', p_task USING ERRCODE = 'TK003';
    END IF;
    IF p_expected IS NOT NULL AND v_from <> p_expected THEN
        RAISE EXCEPTION 'task % is %, not %', p_task, v_from, p_expected USING ERRCODE = 'TK001';
    END IF;
    UPDATE tasker.task_transitions SET most_recent = false
    WHERE task_uuid = p_task AND most_recent
    RETURNING sort_key INTO v_sort;
    -- the rules trigger names the event, or rejects the row
    INSERT INTO tasker.task_transitions (task_uuid, from_state, to_state, metadata, sort_key)
    VALUES (p_task, v_from, p_to, p_metadata, coalesce(v_sort, 0) + 1);
    UPDATE tasker.tasks
    SET current_state = p_to,
        updated_at = tasker.now(),
        complete = (p_to = 'complete') OR complete,
        completed_at = CASE WHEN p_to = 'complete' THEN tasker.now() ELSE completed_at END
    WHERE task_uuid = p_task;
    RETURN v_from;
END
$$;

-- Append a step transition. The caller holds the step's row lock, knows its current state
-- (p_from) and writes workflow_steps.current_state = p_to in its own update of the row, so
-- that one engine call rewrites the step row once.
CREATE OR REPLACE FUNCTION tasker.record_step_transition(
    p_step uuid, p_task uuid, p_from varchar, p_to varchar, p_attempt integer,
    p_metadata jsonb DEFAULT '{}'
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_sort integer;
    v_last varchar;
BEGIN
    UPDATE tasker.workflow_step_transitions SET most_recent = false
    WHERE workflow_step_uuid = p_step AND most_recent
    RETURNING sort_key, to_state INTO v_sort, v_last;
    IF v_last IS DISTINCT FROM p_from THEN
        RAISE EXCEPTION 'step % is % in its transitions, not %', p_step,
            coalesce(v_last, '(new)'), coalesce(p_from, '(new)') USING ERRCODE = 'TK001';
    END IF;
    INSERT INTO tasker.workflow_step_transitions
        (workflow_step_uuid, task_uuid, from_state, to_state, attempt, metadata, sort_key)
    VALUES (p_step, p_task, p_from, p_to, p_attempt, p_metadata, coalesce(v_sort, 0) + 1);
END
$$;

CREATE OR REPLACE FUNCTION tasker.transition_step(
    p_step uuid, p_to varchar, p_metadata jsonb DEFAULT '{}', p_expected varchar DEFAULT NULL
) RETURNS varchar
LANGUAGE plpgsql AS $$
DECLARE
    v_step tasker.workflow_steps;
BEGIN
    SELECT * INTO v_step FROM tasker.workflow_steps WHERE workflow_step_uuid = p_step FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'step % does not exist', p_step USING ERRCODE = 'TK003';
    END IF;
    IF p_expected IS NOT NULL AND v_step.current_state <> p_expected THEN
        RAISE EXCEPTION 'step % is %, not %', p_step, v_step.current_state, p_expected
            USING ERRCODE = 'TK001';
    END IF;
    PERFORM tasker.record_step_transition(p_step, v_step.task_uuid, v_step.current_state, p_to,
                                          v_step.attempts, p_metadata);
    UPDATE tasker.workflow_steps SET current_state = p_to, updated_at = tasker.now()
    WHERE workflow_step_uuid = p_step;
    RETURN v_step.current_state;
END
$$;

-- Make a pending step claimable now.
CREATE OR REPLACE FUNCTION tasker.enqueue_step(p_step uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_step tasker.workflow_steps;
BEGIN
    SELECT * INTO v_step FROM tasker.workflow_steps WHERE workflow_step_uuid = p_step FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'step % does not exist', p_step USING ERRCODE = 'TK003';
    END IF;
    IF v_step.current_state <> 'pending' THEN
        RAISE EXCEPTION 'step % is %, not pending', p_step, v_step.current_state
            USING ERRCODE = 'TK001';
    END IF;
    PERFORM tasker.record_step_transition(p_step, v_step.task_uuid, 'pending', 'enqueued',
                                          v_step.attempts);
    UPDATE tasker.workflow_steps
    SET current_state = 'enqueued', claimable_at = tasker.now(), updated_at = tasker.now()
    WHERE workflow_step_uuid = p_step;
END
$$;

-- Enqueue every pending child of p_step whose parents are all complete or resolved. The
-- caller holds the task row lock, which every completion of the task takes before calling
-- this: of two parents completing at once, the second sees the first's committed completion.
-- The children are counted down even when p_enqueue is false (a blocked task), so that the
-- counts stay true when the task resumes.
CREATE OR REPLACE FUNCTION tasker.enqueue_ready_children(p_step uuid, p_enqueue boolean)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_child tasker.workflow_steps;
    v_count integer := 0;
BEGIN
    -- Each edge from p_step satisfies one pending parent of its child.
    FOR v_child IN
        UPDATE tasker.workflow_steps c
        SET pending_parents = c.pending_parents - 1
        FROM tasker.workflow_step_edges e
        WHERE e.from_step_uuid = p_step AND c.workflow_step_uuid = e.to_step_uuid
          AND c.pending_parents > 0
        RETURNING c.*
    LOOP
        IF p_enqueue AND v_child.pending_parents = 0 AND v_child.current_state = 'pending' THEN
            PERFORM tasker.enqueue_step(v_child.workflow_step_uuid);
            v_count := v_count + 1;
        END IF;
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

-- A task with a failed step stops: its waiting steps are no longer claimable. Attempts
-- already running finish, and their outcomes are recorded, but enqueue nothing.
CREATE OR REPLACE FUNCTION tasker.block_task(p_task uuid, p_step uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- the task row first: a concurrent outcome that waits for it then sees the task blocked
    PERFORM 1 FROM tasker.tasks WHERE task_uuid = p_task FOR UPDATE;
    UPDATE tasker.workflow_steps SET claimable_at = NULL
    WHERE task_uuid = p_task AND claimable_at IS NOT NULL
      AND current_state IN ('enqueued', 'waiting_for_retry');
    PERFORM tasker.settle_task(p_task, 'blocked_by_failures',
        jsonb_build_object('failed_step', p_step));
    PERFORM pg_notify('tasker_task_settled', p_task::text);
END
$$;

-- The attempt of p_step (in_progress, lease expired) is lost: its worker stopped renewing
-- the lease. Record it as a retryable failure; true when the step may be claimed again now.
CREATE OR REPLACE FUNCTION tasker.release_lost_attempt(p_step tasker.workflow_steps)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_task_state varchar;
    v_retry      boolean := p_step.retryable AND p_step.attempts < p_step.max_attempts;
    v_metadata   jsonb := jsonb_build_object('reason', 'lease_expired',
                                             'worker', p_step.lease_owner);
    v_message    text := format('attempt %s lost: worker %s stopped renewing its lease',
                                p_step.attempts, p_step.lease_owner);
BEGIN
    SELECT current_state INTO v_task_state FROM tasker.tasks
    WHERE task_uuid = p_step.task_uuid FOR UPDATE;
    UPDATE tasker.workflow_steps
    SET in_process = false, lease_owner = NULL, lease_expires_at = NULL,
        results = jsonb_build_object(
            'step_uuid', p_step.workflow_step_uuid, 'success', false, 'result', NULL,
            'status', CASE WHEN v_retry THEN 'retryable_error' ELSE 'permanent_error' END,
            'error', jsonb_build_object('error_type', 'lease_expired', 'message', v_message,
                                        'retryable', true, 'metadata', v_metadata),
            'metadata', jsonb_build_object('retryable', true, 'error_type', 'lease_expired',
                                           'attempt', p_step.attempts,
                                           'worker_id', p_step.lease_owner))
    WHERE workflow_step_uuid = p_step.workflow_step_uuid;
    IF NOT v_retry THEN
        PERFORM tasker.record_step_transition(p_step.workflow_step_uuid, p_step.task_uuid,
            'in_progress', 'error', p_step.attempts, v_metadata);
        UPDATE tasker.workflow_steps SET current_state = 'error', claimable_at = NULL,
            updated_at = tasker.now()
        WHERE workflow_step_uuid = p_step.workflow_step_uuid;
        PERFORM tasker.block_task(p_step.task_uuid, p_step.workflow_step_uuid);
        RETURN false;
    END IF;
    PERFORM tasker.record_step_transition(p_step.workflow_step_uuid, p_step.task_uuid,
        'in_progress', 'waiting_for_retry', p_step.attempts, v_metadata);
    IF tasker.task_accepts_work(v_task_state) THEN
        RETURN true;
    END IF;
    UPDATE tasker.workflow_steps SET current_state = 'waiting_for_retry', claimable_at = NULL,
        updated_at = tasker.now()
    WHERE workflow_step_uuid = p_step.workflow_step_uuid;
    RETURN false;
END
$$;

CREATE OR REPLACE FUNCTION tasker.claim_step(
    p_worker varchar, p_namespaces varchar[], p_lease_seconds integer, p_task uuid DEFAULT NULL
) RETURNS SETOF tasker.workflow_steps
LANGUAGE plpgsql AS $$
DECLARE
    v_step  tasker.workflow_steps;
    v_now   timestamptz := tasker.now();
    v_until timestamptz := tasker.now() + make_interval(secs => p_lease_seconds);
    v_state varchar;
BEGIN
    LOOP
        -- two statements rather than one with "p_task IS NULL OR ...": each gets a plan
        -- that walks its own index in claimable_at order
        IF p_task IS NOT NULL THEN
            SELECT * INTO v_step FROM tasker.workflow_steps
            WHERE task_uuid = p_task AND claimable_at <= v_now
            ORDER BY claimable_at
            LIMIT 1
            FOR UPDATE SKIP LOCKED;
        ELSE
            SELECT * INTO v_step FROM tasker.workflow_steps
            WHERE claimable_at <= v_now
              AND (p_namespaces IS NULL OR namespace_name = ANY (p_namespaces))
            ORDER BY claimable_at
            LIMIT 1
            FOR UPDATE SKIP LOCKED;
        END IF;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        v_state := v_step.current_state;
        IF v_state = 'in_progress' THEN
            CONTINUE WHEN NOT tasker.release_lost_attempt(v_step);
            v_state := 'waiting_for_retry';
        END IF;
        IF v_state = 'waiting_for_retry' THEN
            PERFORM tasker.record_step_transition(v_step.workflow_step_uuid, v_step.task_uuid,
                'waiting_for_retry', 'enqueued', v_step.attempts);
            v_state := 'enqueued';
        END IF;
        IF v_state NOT IN ('enqueued', 'pending') THEN
            -- claimable_at on a step in another state is stale: drop it rather than fail
            -- every claim that meets the step
            UPDATE tasker.workflow_steps SET claimable_at = NULL
            WHERE workflow_step_uuid = v_step.workflow_step_uuid;
            CONTINUE;
        END IF;
        PERFORM tasker.record_step_transition(v_step.workflow_step_uuid, v_step.task_uuid,
            v_state, 'in_progress', v_step.attempts + 1, jsonb_build_object('worker', p_worker));
        UPDATE tasker.workflow_steps
        SET current_state = 'in_progress',
            attempts = attempts + 1,
            in_process = true,
            last_attempted_at = v_now,
            lease_owner = p_worker,
            lease_expires_at = v_until,
            -- a lease that runs out makes the step claimable again (see release_lost_attempt)
            claimable_at = v_until,
            updated_at = v_now
        WHERE workflow_step_uuid = v_step.workflow_step_uuid
        RETURNING * INTO v_step;
        RETURN NEXT v_step;
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

-- Results of every completed ancestor of a step, by step name (Tasker Core hands a handler
-- all of them, not only its parents'). VOLATILE on purpose: called in the statement that
-- claims the step, it must read with a snapshot taken after the claim, which may have seen
-- a parent's completion that committed after the statement began.
CREATE OR REPLACE FUNCTION tasker.dependency_results(p_step uuid) RETURNS jsonb
LANGUAGE sql VOLATILE AS $$
    WITH RECURSIVE ancestors (step_uuid) AS (
        SELECT e.from_step_uuid FROM tasker.workflow_step_edges e
        WHERE e.to_step_uuid = p_step
        UNION
        SELECT e.from_step_uuid FROM tasker.workflow_step_edges e
        JOIN ancestors a ON e.to_step_uuid = a.step_uuid
    )
    SELECT coalesce(jsonb_object_agg(s.name, s.results), '{}'::jsonb)
    FROM ancestors a JOIN tasker.workflow_steps s ON s.workflow_step_uuid = a.step_uuid
    WHERE s.current_state IN ('complete', 'resolved_manually') AND s.results IS NOT NULL
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

CREATE OR REPLACE FUNCTION tasker.complete_step(
    p_step uuid, p_attempt integer, p_results jsonb, p_metadata jsonb DEFAULT '{}'
) RETURNS TABLE (task_state varchar, enqueued integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_step      tasker.workflow_steps;
    v_now       timestamptz := tasker.now();
    v_enqueued  integer := 0;
    v_remaining integer;
    v_state     varchar;
BEGIN
    v_step := tasker.lock_attempt(p_step, p_attempt);
    PERFORM tasker.record_step_transition(p_step, v_step.task_uuid, 'in_progress', 'complete',
                                          p_attempt, p_metadata);
    UPDATE tasker.workflow_steps
    SET current_state = 'complete', results = p_results, processed = true, processed_at = v_now,
        in_process = false, claimable_at = NULL, lease_owner = NULL, lease_expires_at = NULL,
        updated_at = v_now
    WHERE workflow_step_uuid = p_step;
    UPDATE tasker.tasks SET unfinished_steps = unfinished_steps - 1
    WHERE task_uuid = v_step.task_uuid
    RETURNING unfinished_steps, current_state INTO v_remaining, v_state;
    v_enqueued := tasker.enqueue_ready_children(p_step, tasker.task_accepts_work(v_state));
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
    v_step    tasker.workflow_steps;
    v_now     timestamptz := tasker.now();
    v_state   varchar;
    v_resumes timestamptz;
BEGIN
    v_step := tasker.lock_attempt(p_step, p_attempt);
    SELECT current_state INTO v_state FROM tasker.tasks
    WHERE task_uuid = v_step.task_uuid FOR UPDATE;
    IF p_retryable AND v_step.retryable AND v_step.attempts < v_step.max_attempts THEN
        PERFORM tasker.record_step_transition(p_step, v_step.task_uuid, 'in_progress',
                                              'waiting_for_retry', p_attempt, p_metadata);
        IF tasker.task_accepts_work(v_state) THEN
            v_resumes := v_now + make_interval(secs => greatest(p_backoff_seconds, 0));
        END IF;
        UPDATE tasker.workflow_steps
        SET current_state = 'waiting_for_retry', results = p_results, in_process = false,
            lease_owner = NULL, lease_expires_at = NULL,
            backoff_request_seconds = ceil(greatest(p_backoff_seconds, 0))::integer,
            claimable_at = v_resumes, updated_at = v_now
        WHERE workflow_step_uuid = p_step;
        IF v_resumes IS NOT NULL THEN
            -- idle workers learn when the retry is due and sleep until then
            PERFORM pg_notify('tasker_steps_ready', v_step.namespace_name);
        END IF;
        RETURN QUERY SELECT 'waiting_for_retry'::varchar, v_state;
        RETURN;
    END IF;
    PERFORM tasker.record_step_transition(p_step, v_step.task_uuid, 'in_progress', 'error',
                                          p_attempt, p_metadata);
    UPDATE tasker.workflow_steps
    SET current_state = 'error', results = p_results, in_process = false, lease_owner = NULL,
        lease_expires_at = NULL, claimable_at = NULL, updated_at = v_now
    WHERE workflow_step_uuid = p_step;
    PERFORM tasker.block_task(v_step.task_uuid, p_step);
    SELECT current_state INTO v_state FROM tasker.tasks WHERE task_uuid = v_step.task_uuid;
    RETURN QUERY SELECT 'error'::varchar, v_state;
END
$$;
