-- Engine functions: every state change of the orchestrator is one call, one transaction.
--
--   transition_task / transition_step   record a transition (lock, compare, insert, cache)
--   claim_step                          take the next claimable step with a lease
--   extend_lease                        heartbeat of a running attempt
--   complete_step / fail_step           store an attempt's outcome, enqueue ready children,
--                                       finalize or block the task
--   complete_and_claim                  complete_step (if any) and the worker's next
--                                       claim_step in one transaction (one round trip)
--   parent_results / dependency_results what a step's handler sees of its ancestors
--   release_batch_slot                  a finished batch worker's slot to the next waiting
--                                       worker of its batch (parallelism)
--   block_if_stuck                      block a task left only with isolated batch failures
--   record_checkpoint                   a batch worker's progress within its attempt
--
-- A completion or failure must carry the attempt number it was claimed with (the fencing
-- token); a late result from an attempt whose lease expired and was taken over is refused
-- with SQLSTATE TK002. Unknown entities raise TK003.
--
-- Locks. Step rows are locked before the task row, children in uuid order, and a
-- transaction that holds a task row never waits for a step row (block_task skips steps that
-- are locked; claims re-check the task's state), so engine transactions cannot deadlock.
-- Only outcomes that may change the task's state take its row: failures, and completions of
-- steps without children (the last step of a task to finish is always such a leaf). Other
-- completions of one task run side by side.

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

-- Make pending steps claimable now (TK001 unless every one of them is pending).
CREATE OR REPLACE FUNCTION tasker.enqueue_steps(p_steps uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_now     timestamptz := tasker.now();
    v_enqueued uuid[];
BEGIN
    PERFORM 1 FROM tasker.workflow_steps WHERE workflow_step_uuid = ANY (p_steps)
    ORDER BY workflow_step_uuid FOR UPDATE;
    WITH enqueued AS (
        UPDATE tasker.workflow_steps
        SET current_state = 'enqueued', claimable_at = v_now, updated_at = v_now
        WHERE workflow_step_uuid = ANY (p_steps) AND current_state = 'pending'
        RETURNING workflow_step_uuid
    )
    SELECT array_agg(workflow_step_uuid) INTO v_enqueued FROM enqueued;
    IF coalesce(cardinality(v_enqueued), 0) <> cardinality(p_steps) THEN
        RAISE EXCEPTION 'of % steps to enqueue only % exist and are pending',
            cardinality(p_steps), coalesce(cardinality(v_enqueued), 0) USING ERRCODE = 'TK001';
    END IF;
    PERFORM tasker.record_enqueued(v_enqueued);
END
$$;

-- Record pending -> enqueued for steps whose rows already say so; with p_taken, that one
-- step (whose row already says in_progress, leased to p_taker) also gets its
-- enqueued -> in_progress, in the same statement.
CREATE OR REPLACE FUNCTION tasker.record_enqueued(
    p_steps uuid[], p_taken uuid DEFAULT NULL, p_taker varchar DEFAULT NULL
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_count integer;
BEGIN
    WITH previous AS (
        UPDATE tasker.workflow_step_transitions SET most_recent = false
        WHERE workflow_step_uuid = ANY (p_steps) AND most_recent
        RETURNING workflow_step_uuid, task_uuid, to_state, sort_key
    )
    INSERT INTO tasker.workflow_step_transitions
        (workflow_step_uuid, task_uuid, from_state, to_state, attempt, metadata, sort_key,
         most_recent)
    SELECT p.workflow_step_uuid, p.task_uuid, 'pending', 'enqueued',
           s.attempts - (p.workflow_step_uuid IS NOT DISTINCT FROM p_taken)::integer,
           '{}'::jsonb, p.sort_key + 1, p.workflow_step_uuid IS DISTINCT FROM p_taken
    FROM previous p JOIN tasker.workflow_steps s USING (workflow_step_uuid)
    WHERE p.to_state = 'pending'
    UNION ALL
    SELECT p.workflow_step_uuid, p.task_uuid, 'enqueued', 'in_progress', s.attempts,
           jsonb_build_object('worker', p_taker), p.sort_key + 2, true
    FROM previous p JOIN tasker.workflow_steps s USING (workflow_step_uuid)
    WHERE p.to_state = 'pending' AND p.workflow_step_uuid = p_taken;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count <> cardinality(p_steps) + (p_taken IS NOT NULL)::integer THEN
        RAISE EXCEPTION 'of % steps to enqueue only % are pending in their transitions',
            cardinality(p_steps), v_count USING ERRCODE = 'TK001';
    END IF;
END
$$;

-- Count down the pending parents of every child of p_step (a child counted in shards, once
-- p_step's shard is empty: see step_parent_counts); enqueue those left with none, when the
-- task p_task takes work (its state read without a lock: a task blocked meanwhile is caught
-- by the claim, see claim_step). With p_taker, the first of them (in uuid order) is not
-- left for a claim but started at once as an attempt of that worker, leased for
-- p_lease_seconds: its transitions still go pending -> enqueued -> in_progress, recorded
-- together. Children are locked in uuid order, so that two parents sharing children cannot
-- deadlock; they are counted down even when the task takes no work (it is blocked), so that
-- the counts stay true when the task resumes.
CREATE OR REPLACE FUNCTION tasker.enqueue_ready_children(
    p_step uuid, p_task uuid, p_taker varchar DEFAULT NULL,
    p_lease_seconds integer DEFAULT NULL,
    OUT children integer, OUT enqueued integer, OUT taken uuid
)
LANGUAGE plpgsql AS $$
DECLARE
    v_now   timestamptz := tasker.now();
    v_until timestamptz := v_now + make_interval(secs => coalesce(p_lease_seconds, 0));
    v_ready uuid[];
    v_emptied uuid[];
    v_sharded integer;
    v_plain   integer;
    v_enqueue boolean;
BEGIN
    -- parents counted in shards: only a shard emptied now counts its child's row down
    WITH locked AS (
        SELECT pc.workflow_step_uuid, pc.shard
        FROM tasker.workflow_step_edges e
        JOIN tasker.step_parent_counts pc
          ON pc.workflow_step_uuid = e.to_step_uuid AND pc.shard = e.counter_shard
        WHERE e.from_step_uuid = p_step AND e.counter_shard IS NOT NULL AND pc.pending > 0
        ORDER BY pc.workflow_step_uuid, pc.shard
        FOR UPDATE OF pc
    ), counted AS (
        UPDATE tasker.step_parent_counts pc SET pending = greatest(pc.pending - 1, 0)
        FROM locked l
        WHERE pc.workflow_step_uuid = l.workflow_step_uuid AND pc.shard = l.shard
        RETURNING pc.workflow_step_uuid, pc.pending
    )
    SELECT count(*), array_agg(workflow_step_uuid) FILTER (WHERE pending = 0),
           (SELECT count(*) FROM tasker.workflow_step_edges
            WHERE from_step_uuid = p_step AND counter_shard IS NULL)
    INTO v_sharded, v_emptied, v_plain FROM counted;
    IF v_plain = 0 AND v_emptied IS NULL THEN
        -- no child's own row to count down (a leaf, or only shards that are not empty yet)
        children := v_sharded;
        enqueued := 0;
        RETURN;
    END IF;
    SELECT tasker.task_accepts_work(current_state) INTO v_enqueue
    FROM tasker.tasks WHERE task_uuid = p_task;
    WITH locked AS (
        SELECT c.workflow_step_uuid,
               v_enqueue AND c.pending_parents = 1 AND c.current_state = 'pending' AS ready
        FROM tasker.workflow_step_edges e
        JOIN tasker.workflow_steps c ON c.workflow_step_uuid = e.to_step_uuid
        WHERE e.from_step_uuid = p_step
          AND (e.counter_shard IS NULL OR c.workflow_step_uuid = ANY (v_emptied))
        ORDER BY c.workflow_step_uuid
        FOR UPDATE OF c
    ), chosen AS (
        SELECT workflow_step_uuid FROM locked
        WHERE ready AND p_taker IS NOT NULL
        ORDER BY workflow_step_uuid LIMIT 1
    ), counted AS (
        -- one edge from p_step satisfies one pending parent of its child
        UPDATE tasker.workflow_steps c
        SET pending_parents = greatest(c.pending_parents - 1, 0),
            current_state = CASE WHEN h.workflow_step_uuid IS NOT NULL THEN 'in_progress'
                                 WHEN l.ready THEN 'enqueued'
                                 ELSE c.current_state END,
            claimable_at = CASE WHEN h.workflow_step_uuid IS NOT NULL THEN v_until
                                WHEN l.ready THEN v_now
                                ELSE c.claimable_at END,
            attempts = c.attempts + (h.workflow_step_uuid IS NOT NULL)::integer,
            in_process = c.in_process OR h.workflow_step_uuid IS NOT NULL,
            last_attempted_at = CASE WHEN h.workflow_step_uuid IS NOT NULL THEN v_now
                                     ELSE c.last_attempted_at END,
            lease_owner = CASE WHEN h.workflow_step_uuid IS NOT NULL THEN p_taker
                               ELSE c.lease_owner END,
            lease_expires_at = CASE WHEN h.workflow_step_uuid IS NOT NULL THEN v_until
                                    ELSE c.lease_expires_at END,
            updated_at = v_now
        FROM locked l LEFT JOIN chosen h ON h.workflow_step_uuid = l.workflow_step_uuid
        WHERE c.workflow_step_uuid = l.workflow_step_uuid
        RETURNING c.workflow_step_uuid, l.ready, h.workflow_step_uuid AS chosen_uuid
    )
    SELECT count(*) + v_sharded - coalesce(cardinality(v_emptied), 0),
           array_agg(workflow_step_uuid) FILTER (WHERE ready),
           (array_agg(chosen_uuid) FILTER (WHERE chosen_uuid IS NOT NULL))[1]
    INTO children, v_ready, taken FROM counted;
    enqueued := coalesce(cardinality(v_ready), 0);
    IF enqueued > 0 THEN
        PERFORM tasker.record_enqueued(v_ready, taken, p_taker);
    END IF;
END
$$;

-- A step without children finished: if no step of its task is left, complete the task.
-- The task row is locked first and the steps are counted by a later statement (a fresh
-- snapshot): of two leaves finishing at once, the second sees the first's commit. A task
-- with isolated batch failures is blocked when nothing else of it can run.
CREATE OR REPLACE FUNCTION tasker.finish_task_if_done(p_task uuid) RETURNS varchar
LANGUAGE plpgsql AS $$
DECLARE
    v_state    varchar;
    v_isolated boolean;
BEGIN
    SELECT current_state, has_isolated_failures INTO v_state, v_isolated
    FROM tasker.tasks WHERE task_uuid = p_task FOR UPDATE;
    IF v_state <> 'steps_in_process' THEN
        RETURN v_state;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM tasker.workflow_steps WHERE task_uuid = p_task AND NOT processed)
    THEN
        PERFORM tasker.settle_task(p_task, 'complete', '{}'::jsonb);
        RETURN 'complete';
    END IF;
    IF v_isolated THEN
        RETURN tasker.block_if_stuck(p_task);
    END IF;
    RETURN v_state;
END
$$;

-- A task whose failed batch workers were isolated (failure_strategy isolate) runs on
-- without them; once nothing else of it can run, it waits for an operator, blocked. The
-- caller holds the task row. Steps still able to run: those enqueued, running or waiting
-- for a retry, and pending ones with no parent left (enqueued when the task resumes).
CREATE OR REPLACE FUNCTION tasker.block_if_stuck(p_task uuid) RETURNS varchar
LANGUAGE plpgsql AS $$
DECLARE
    v_failed uuid;
BEGIN
    IF EXISTS (
        SELECT 1 FROM tasker.workflow_steps
        WHERE task_uuid = p_task AND NOT processed
          AND (current_state IN ('enqueued', 'in_progress', 'waiting_for_retry',
                                 'enqueued_for_orchestration',
                                 'enqueued_as_error_for_orchestration')
               OR (current_state = 'pending' AND pending_parents = 0))
    ) THEN
        RETURN (SELECT current_state FROM tasker.tasks WHERE task_uuid = p_task);
    END IF;
    SELECT workflow_step_uuid INTO v_failed FROM tasker.workflow_steps
    WHERE task_uuid = p_task AND current_state = 'error' AND NOT processed
    ORDER BY updated_at LIMIT 1;
    IF v_failed IS NULL THEN
        RETURN (SELECT current_state FROM tasker.tasks WHERE task_uuid = p_task);
    END IF;
    PERFORM tasker.block_task(p_task, v_failed);
    RETURN 'blocked_by_failures';
END
$$;

-- A batch worker finished (or its failure was tolerated): its slot passes to the next
-- waiting worker of its batch, which is enqueued when nothing else holds it back. No-op
-- for a step without a running slot (most steps). Waiting rows are taken with SKIP
-- LOCKED: two workers finishing at once pass their slots to two different workers.
CREATE OR REPLACE FUNCTION tasker.release_batch_slot(p_step uuid, p_task uuid) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_batch  uuid;
    v_held   varchar;
    v_next   uuid;
    v_now    timestamptz;
    v_ready  boolean;
BEGIN
    SELECT batch_step_uuid, state INTO v_batch, v_held FROM tasker.batch_worker_slots
    WHERE worker_step_uuid = p_step AND state <> 'released'
    FOR UPDATE;
    IF v_batch IS NULL THEN
        RETURN false;
    END IF;
    -- a worker resolved by an operator while it waited gives up its place in the queue
    UPDATE tasker.batch_worker_slots SET state = 'released' WHERE worker_step_uuid = p_step;
    IF v_held = 'waiting' THEN
        RETURN false;
    END IF;
    SELECT worker_step_uuid INTO v_next FROM tasker.batch_worker_slots
    WHERE batch_step_uuid = v_batch AND state = 'waiting'
    ORDER BY ordinal LIMIT 1
    FOR UPDATE SKIP LOCKED;
    IF v_next IS NULL THEN
        RETURN false;
    END IF;
    UPDATE tasker.batch_worker_slots SET state = 'running' WHERE worker_step_uuid = v_next;
    v_now := tasker.now();
    UPDATE tasker.workflow_steps s
    SET pending_parents = greatest(s.pending_parents - 1, 0),
        current_state = CASE WHEN r.ready THEN 'enqueued' ELSE s.current_state END,
        claimable_at = CASE WHEN r.ready THEN v_now ELSE s.claimable_at END,
        updated_at = v_now
    FROM (SELECT w.pending_parents = 1 AND w.current_state = 'pending'
                 AND tasker.task_accepts_work(t.current_state) AS ready
          FROM tasker.workflow_steps w JOIN tasker.tasks t USING (task_uuid)
          WHERE w.workflow_step_uuid = v_next FOR UPDATE OF w) r
    WHERE s.workflow_step_uuid = v_next
    RETURNING r.ready INTO v_ready;
    IF v_ready THEN
        PERFORM tasker.record_enqueued(ARRAY[v_next]);
    END IF;
    RETURN v_ready;
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
-- already running finish, and their outcomes are recorded, but enqueue nothing. Steps
-- locked by another transaction are skipped (the task row's holder never waits for a step):
-- a claim re-checks the task's state and drops a step of a task that takes no work.
CREATE OR REPLACE FUNCTION tasker.block_task(p_task uuid, p_step uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM tasker.tasks WHERE task_uuid = p_task FOR UPDATE;
    UPDATE tasker.workflow_steps SET claimable_at = NULL
    WHERE workflow_step_uuid IN (
        SELECT workflow_step_uuid FROM tasker.workflow_steps
        WHERE task_uuid = p_task AND claimable_at IS NOT NULL
          AND current_state IN ('enqueued', 'waiting_for_retry')
        FOR UPDATE SKIP LOCKED);
    PERFORM tasker.settle_task(p_task, 'blocked_by_failures',
        jsonb_build_object('failed_step', p_step));
    PERFORM pg_notify('tasker_task_settled', p_task::text);
END
$$;

-- The attempt of p_step (in_progress, lease expired) is lost: its worker stopped renewing
-- the lease. Record it as a retryable failure; true when the step may be claimed again now.
-- A lost last attempt is a failure like any other (fail_step: the task is blocked, or the
-- batch's failure strategy applies).
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
    v_results    jsonb := jsonb_build_object(
            'step_uuid', p_step.workflow_step_uuid, 'success', false, 'result', NULL,
            'status', CASE WHEN v_retry THEN 'retryable_error' ELSE 'permanent_error' END,
            'error', jsonb_build_object('error_type', 'lease_expired', 'message', v_message,
                                        'retryable', true, 'metadata', v_metadata),
            'metadata', jsonb_build_object('retryable', true, 'error_type', 'lease_expired',
                                           'attempt', p_step.attempts,
                                           'worker_id', p_step.lease_owner));
BEGIN
    IF NOT v_retry THEN
        PERFORM tasker.fail_step(p_step.workflow_step_uuid, p_step.attempts, v_results, false,
                                 0, v_metadata);
        RETURN false;
    END IF;
    SELECT current_state INTO v_task_state FROM tasker.tasks
    WHERE task_uuid = p_step.task_uuid FOR UPDATE;
    UPDATE tasker.workflow_steps
    SET in_process = false, lease_owner = NULL, lease_expires_at = NULL, results = v_results
    WHERE workflow_step_uuid = p_step.workflow_step_uuid;
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

-- p_recover false: stop at a step whose lease expired instead of recovering it (recovery
-- takes the task row, which a caller already holding other steps' rows must not wait for).
CREATE OR REPLACE FUNCTION tasker.claim_step(
    p_worker varchar, p_namespaces varchar[], p_lease_seconds integer, p_task uuid DEFAULT NULL,
    p_recover boolean DEFAULT true
) RETURNS SETOF tasker.workflow_steps
LANGUAGE plpgsql AS $$
DECLARE
    v_step     tasker.workflow_steps;
    v_started  tasker.workflow_steps;
    v_now      timestamptz := tasker.now();
    v_until    timestamptz := v_now + make_interval(secs => p_lease_seconds);
    v_state    varchar;
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
        IF v_state = 'enqueued' THEN
            -- the common case in one statement: record the transition and start the
            -- attempt; when the task stopped taking work, or the transitions do not say
            -- enqueued, nothing is written and the general path below deals with the step
            WITH previous AS (
                UPDATE tasker.workflow_step_transitions w SET most_recent = false
                FROM tasker.tasks t
                WHERE w.workflow_step_uuid = v_step.workflow_step_uuid AND w.most_recent
                  AND w.to_state = 'enqueued'
                  AND t.task_uuid = v_step.task_uuid AND tasker.task_accepts_work(t.current_state)
                RETURNING w.sort_key
            ), started AS (
                UPDATE tasker.workflow_steps s
                SET current_state = 'in_progress', attempts = s.attempts + 1,
                    in_process = true, last_attempted_at = v_now, lease_owner = p_worker,
                    lease_expires_at = v_until, claimable_at = v_until, updated_at = v_now
                FROM previous p
                WHERE s.workflow_step_uuid = v_step.workflow_step_uuid
                RETURNING s.*
            ), recorded AS (
                INSERT INTO tasker.workflow_step_transitions
                    (workflow_step_uuid, task_uuid, from_state, to_state, attempt, metadata,
                     sort_key)
                SELECT v_step.workflow_step_uuid, v_step.task_uuid, 'enqueued', 'in_progress',
                       v_step.attempts + 1, jsonb_build_object('worker', p_worker),
                       p.sort_key + 1
                FROM previous p
            )
            SELECT s.* INTO v_started FROM started s;
            IF v_started.workflow_step_uuid IS NOT NULL THEN
                RETURN NEXT v_started;
                RETURN;
            END IF;
        END IF;
        IF v_state = 'in_progress' THEN
            IF NOT p_recover THEN
                RETURN;
            END IF;
            CONTINUE WHEN NOT tasker.release_lost_attempt(v_step);
            v_state := 'waiting_for_retry';
        END IF;
        IF v_state NOT IN ('enqueued', 'pending', 'waiting_for_retry')
           OR NOT tasker.task_accepts_work(
                  (SELECT current_state FROM tasker.tasks WHERE task_uuid = v_step.task_uuid))
        THEN
            -- claimable_at on a step in another state, or of a task that stopped taking
            -- work after the step was enqueued, is stale: drop it rather than fail every
            -- claim that meets the step
            UPDATE tasker.workflow_steps SET claimable_at = NULL
            WHERE workflow_step_uuid = v_step.workflow_step_uuid;
            CONTINUE;
        END IF;
        IF v_state = 'waiting_for_retry' THEN
            PERFORM tasker.record_step_transition(v_step.workflow_step_uuid, v_step.task_uuid,
                'waiting_for_retry', 'enqueued', v_step.attempts);
            v_state := 'enqueued';
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
            -- a lease that runs out makes the step claimable again (see release_lost_attempt);
            -- a child handed over by enqueue_ready_children gets the same lease columns
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

-- Whether a step's stored result is final and handed to its descendants: it completed, was
-- resolved, or failed in a way its batch tolerates (processed: continue_on_failure).
CREATE OR REPLACE FUNCTION tasker.has_final_result(p_state varchar, p_processed boolean)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_state IN ('complete', 'resolved_manually') OR (p_state = 'error' AND p_processed)
$$;

-- Results of every completed ancestor of a step, by step name (Tasker Core hands a handler
-- all of them, not only its parents'). Workers read the parents' results with the claim
-- (parent_results) and the rest only when a handler asks for them.
CREATE OR REPLACE FUNCTION tasker.dependency_results(p_step uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE ancestors (step_uuid) AS (
        SELECT e.from_step_uuid FROM tasker.workflow_step_edges e
        WHERE e.to_step_uuid = p_step
        UNION
        SELECT e.from_step_uuid FROM tasker.workflow_step_edges e
        JOIN ancestors a ON e.to_step_uuid = a.step_uuid
    )
    SELECT coalesce(jsonb_object_agg(s.name, s.results), '{}'::jsonb)
    FROM ancestors a JOIN tasker.workflow_steps s ON s.workflow_step_uuid = a.step_uuid
    WHERE tasker.has_final_result(s.current_state, s.processed) AND s.results IS NOT NULL
$$;

-- The completed parents' results of a step, and whether the step has ancestors beyond its
-- parents. VOLATILE on purpose: called in the statement that claims the step, it must read
-- with a snapshot taken after the claim, which may have seen a parent's completion that
-- committed after the statement began.
CREATE OR REPLACE FUNCTION tasker.parent_results(
    p_step uuid, OUT results jsonb, OUT has_more_ancestors boolean
)
LANGUAGE sql VOLATILE AS $$
    SELECT coalesce(jsonb_object_agg(s.name, s.results)
                    FILTER (WHERE tasker.has_final_result(s.current_state, s.processed)
                            AND s.results IS NOT NULL), '{}'::jsonb),
           coalesce(bool_or(EXISTS (SELECT 1 FROM tasker.workflow_step_edges g
                                    WHERE g.to_step_uuid = e.from_step_uuid)), false)
    FROM tasker.workflow_step_edges e
    JOIN tasker.workflow_steps s ON s.workflow_step_uuid = e.from_step_uuid
    WHERE e.to_step_uuid = p_step
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

-- Store a successful attempt's result; the step row stays locked until the transaction ends.
-- One statement writes the fenced row update and its transition (what lock_attempt and
-- record_step_transition do in two calls); when it finds no current attempt, lock_attempt
-- names the reason.
CREATE OR REPLACE FUNCTION tasker.record_completion(
    p_step uuid, p_attempt integer, p_results jsonb, p_metadata jsonb,
    OUT task_uuid uuid, OUT namespace_name varchar, OUT isolating boolean
)
LANGUAGE plpgsql AS $$
DECLARE
    v_now      timestamptz := tasker.now();
    v_recorded integer;
BEGIN
    WITH done AS (
        UPDATE tasker.workflow_steps s
        SET current_state = 'complete', results = p_results, processed = true,
            processed_at = v_now, in_process = false, claimable_at = NULL, lease_owner = NULL,
            lease_expires_at = NULL, updated_at = v_now
        WHERE s.workflow_step_uuid = p_step AND s.current_state = 'in_progress'
          AND s.attempts = p_attempt
        RETURNING s.task_uuid, s.namespace_name, tasker.isolates_failures(s) AS isolating
    ), previous AS (
        UPDATE tasker.workflow_step_transitions w SET most_recent = false
        WHERE w.workflow_step_uuid = p_step AND w.most_recent AND EXISTS (SELECT FROM done)
        RETURNING w.sort_key, w.to_state
    ), recorded AS (
        INSERT INTO tasker.workflow_step_transitions
            (workflow_step_uuid, task_uuid, from_state, to_state, attempt, metadata, sort_key)
        SELECT p_step, d.task_uuid, 'in_progress', 'complete', p_attempt, p_metadata,
               p.sort_key + 1
        FROM done d, previous p
        WHERE p.to_state = 'in_progress'
        RETURNING 1
    )
    SELECT d.task_uuid, d.namespace_name, d.isolating, (SELECT count(*) FROM recorded)
    INTO task_uuid, namespace_name, isolating, v_recorded FROM done d;
    IF task_uuid IS NULL THEN
        PERFORM tasker.lock_attempt(p_step, p_attempt);  -- raises TK003 or TK002
        RAISE EXCEPTION 'attempt % of step % is no longer current', p_attempt, p_step
            USING ERRCODE = 'TK002';
    END IF;
    IF v_recorded <> 1 THEN
        RAISE EXCEPTION 'step % is not in_progress in its transitions', p_step
            USING ERRCODE = 'TK001';
    END IF;
END
$$;

-- What a completion changes beyond the step: its batch slot, its children, and the task
-- when it was the last step left. With p_taker, one ready child is started at once for that
-- worker (see enqueue_ready_children); idle workers are woken for the rest. task_state is
-- the task's state after a step without children finished (NULL after other steps: their
-- completions do not read the task row). p_isolating: the step is a batch worker under
-- failure_strategy isolate (NULL: look it up); its completion may leave only isolated
-- failures, so it always asks, holding the task row (see block_if_stuck). Other steps ask
-- only once the task has had such a failure.
CREATE OR REPLACE FUNCTION tasker.propagate_completion(
    p_step uuid, p_task uuid, p_namespace varchar, p_taker varchar DEFAULT NULL,
    p_lease_seconds integer DEFAULT NULL, p_isolating boolean DEFAULT NULL,
    OUT task_state varchar, OUT enqueued integer, OUT taken uuid
)
LANGUAGE plpgsql AS $$
DECLARE
    v_children integer;
    v_slot     boolean;
BEGIN
    v_slot := tasker.release_batch_slot(p_step, p_task);
    SELECT c.children, c.enqueued, c.taken INTO v_children, enqueued, taken
    FROM tasker.enqueue_ready_children(p_step, p_task, p_taker, p_lease_seconds) c;
    IF v_children = 0 THEN
        task_state := tasker.finish_task_if_done(p_task);
        IF task_state = 'complete' THEN
            PERFORM pg_notify('tasker_task_settled', p_task::text);
        END IF;
    ELSIF enqueued = 0 AND NOT v_slot AND (
        coalesce(p_isolating, (SELECT tasker.isolates_failures(s) FROM tasker.workflow_steps s
                               WHERE s.workflow_step_uuid = p_step))
        OR (SELECT has_isolated_failures FROM tasker.tasks WHERE task_uuid = p_task))
    THEN
        PERFORM 1 FROM tasker.tasks WHERE task_uuid = p_task AND has_isolated_failures
            AND current_state = 'steps_in_process' FOR UPDATE;
        IF FOUND THEN
            task_state := tasker.block_if_stuck(p_task);
        END IF;
    END IF;
    IF enqueued > (taken IS NOT NULL)::integer OR v_slot THEN
        PERFORM pg_notify('tasker_steps_ready', p_namespace);
    END IF;
END
$$;

-- Whether a step is a batch worker whose permanent failure stays with it
-- (failure_strategy isolate): the rest of its batch runs on without it.
CREATE OR REPLACE FUNCTION tasker.isolates_failures(p_step tasker.workflow_steps)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_step.created_by = 'batch_spawn'
       AND p_step.inputs -> 'batch_metadata' ->> 'failure_strategy' = 'isolate'
$$;

CREATE OR REPLACE FUNCTION tasker.complete_step(
    p_step uuid, p_attempt integer, p_results jsonb, p_metadata jsonb DEFAULT '{}'
) RETURNS TABLE (task_state varchar, enqueued integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_done record;
BEGIN
    v_done := tasker.record_completion(p_step, p_attempt, p_results, p_metadata);
    RETURN QUERY SELECT coalesce(c.task_state, t.current_state), c.enqueued
    FROM tasker.propagate_completion(p_step, v_done.task_uuid, v_done.namespace_name,
                                     p_isolating => v_done.isolating) c
    JOIN tasker.tasks t ON t.task_uuid = v_done.task_uuid;
END
$$;

-- A worker's completion and its next claim in one transaction. The claim comes before the
-- children are counted down, so that a child shared by many parents (a join) stays locked
-- only for the commit. When it finds nothing, the worker takes one of the children the
-- completion makes ready (a chain hands each step to the worker that finished its parent).
-- With p_step NULL there is nothing to complete: a plain claim_step.
CREATE OR REPLACE FUNCTION tasker.complete_and_claim(
    p_step uuid, p_attempt integer, p_results jsonb, p_metadata jsonb,
    p_worker varchar, p_namespaces varchar[], p_lease_seconds integer, p_task uuid
) RETURNS SETOF tasker.workflow_steps
LANGUAGE plpgsql AS $$
DECLARE
    v_done    record;
    v_next    tasker.workflow_steps;
    v_outcome record;
BEGIN
    IF p_step IS NULL THEN
        RETURN QUERY SELECT * FROM tasker.claim_step(p_worker, p_namespaces, p_lease_seconds,
                                                     p_task);
        RETURN;
    END IF;
    v_done := tasker.record_completion(p_step, p_attempt, p_results, p_metadata);
    SELECT * INTO v_next
    FROM tasker.claim_step(p_worker, p_namespaces, p_lease_seconds, p_task, false);
    IF v_next.workflow_step_uuid IS NOT NULL THEN
        PERFORM tasker.propagate_completion(p_step, v_done.task_uuid, v_done.namespace_name,
                                            p_isolating => v_done.isolating);
        RETURN NEXT v_next;
        RETURN;
    END IF;
    SELECT * INTO v_outcome FROM tasker.propagate_completion(
        p_step, v_done.task_uuid, v_done.namespace_name, p_worker, p_lease_seconds,
        v_done.isolating);
    IF v_outcome.taken IS NOT NULL THEN
        RETURN QUERY SELECT * FROM tasker.workflow_steps
                     WHERE workflow_step_uuid = v_outcome.taken;
    END IF;
END
$$;

-- A failed attempt: retried after its backoff while attempts remain and it is retryable;
-- else the step is in error and, as a batch worker's failure_strategy says: the task is
-- blocked (fail_fast, and every step that is not a batch worker); the failure is tolerated
-- and the step counts as finished for its dependents (continue_on_failure); or it waits
-- for an operator while the rest of the task runs on (isolate: see block_if_stuck).
CREATE OR REPLACE FUNCTION tasker.fail_step(
    p_step uuid, p_attempt integer, p_results jsonb, p_retryable boolean,
    p_backoff_seconds double precision, p_metadata jsonb DEFAULT '{}'
) RETURNS TABLE (step_state varchar, task_state varchar)
LANGUAGE plpgsql AS $$
DECLARE
    v_step     tasker.workflow_steps;
    v_now      timestamptz := tasker.now();
    v_state    varchar;
    v_resumes  timestamptz;
    v_retry    boolean;
    v_strategy varchar;
BEGIN
    v_step := tasker.lock_attempt(p_step, p_attempt);
    v_retry := p_retryable AND v_step.retryable AND v_step.attempts < v_step.max_attempts;
    IF v_step.created_by = 'batch_spawn' THEN
        v_strategy := v_step.inputs -> 'batch_metadata' ->> 'failure_strategy';
    END IF;
    IF NOT v_retry AND v_strategy = 'continue_on_failure' THEN
        -- finished as far as the graph goes; the task row is taken (if at all) after the
        -- children's rows, as for a completion
        PERFORM tasker.record_step_transition(p_step, v_step.task_uuid, 'in_progress', 'error',
            p_attempt, p_metadata || jsonb_build_object('failure_tolerated', true));
        UPDATE tasker.workflow_steps
        SET current_state = 'error', results = p_results, in_process = false,
            processed = true, processed_at = v_now, lease_owner = NULL,
            lease_expires_at = NULL, claimable_at = NULL, updated_at = v_now
        WHERE workflow_step_uuid = p_step;
        SELECT c.task_state INTO v_state FROM tasker.propagate_completion(
            p_step, v_step.task_uuid, v_step.namespace_name, p_isolating => false) c;
        RETURN QUERY SELECT 'error'::varchar, coalesce(v_state,
            (SELECT current_state FROM tasker.tasks WHERE task_uuid = v_step.task_uuid));
        RETURN;
    END IF;
    SELECT current_state INTO v_state FROM tasker.tasks
    WHERE task_uuid = v_step.task_uuid FOR UPDATE;
    IF v_retry THEN
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
        p_attempt, CASE WHEN v_strategy = 'isolate'
                        THEN p_metadata || jsonb_build_object('failure_isolated', true)
                        ELSE p_metadata END);
    UPDATE tasker.workflow_steps
    SET current_state = 'error', results = p_results, in_process = false, lease_owner = NULL,
        lease_expires_at = NULL, claimable_at = NULL, updated_at = v_now
    WHERE workflow_step_uuid = p_step;
    IF v_strategy = 'isolate' THEN
        UPDATE tasker.tasks SET has_isolated_failures = true
        WHERE task_uuid = v_step.task_uuid AND NOT has_isolated_failures;
        IF v_state = 'steps_in_process' THEN
            PERFORM tasker.block_if_stuck(v_step.task_uuid);
        END IF;
    ELSE
        PERFORM tasker.block_task(v_step.task_uuid, p_step);
    END IF;
    SELECT current_state INTO v_state FROM tasker.tasks WHERE task_uuid = v_step.task_uuid;
    RETURN QUERY SELECT 'error'::varchar, v_state;
END
$$;

-- A batch worker's progress, kept while its attempt goes on (checkpoint_yield): the
-- cursor, items processed and accumulated results, with the time and a history of every
-- cursor. Renews the lease; the attempt number does not change. Refused (TK002) when the
-- attempt is no longer current.
CREATE OR REPLACE FUNCTION tasker.record_checkpoint(
    p_step uuid, p_attempt integer, p_worker varchar, p_checkpoint jsonb,
    p_lease_seconds integer
) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_now   timestamptz := tasker.now();
    v_until timestamptz := v_now + make_interval(secs => p_lease_seconds);
    v_saved jsonb;
BEGIN
    UPDATE tasker.workflow_steps
    SET checkpoint = p_checkpoint || jsonb_build_object(
            'timestamp', v_now,
            'history', coalesce(checkpoint -> 'history', '[]'::jsonb)
                       || jsonb_build_array(jsonb_build_object(
                              'cursor', p_checkpoint -> 'cursor', 'timestamp', v_now))),
        lease_expires_at = v_until, claimable_at = v_until, updated_at = v_now
    WHERE workflow_step_uuid = p_step AND current_state = 'in_progress'
      AND attempts = p_attempt AND lease_owner = p_worker
    RETURNING checkpoint INTO v_saved;
    IF v_saved IS NULL THEN
        PERFORM tasker.lock_attempt(p_step, p_attempt);  -- raises TK003 or TK002
        RAISE EXCEPTION 'attempt % of step % is leased to another worker', p_attempt, p_step
            USING ERRCODE = 'TK002';
    END IF;
    RETURN v_saved;
END
$$;
