-- Claims and completions in batches: a worker running short steps claims several at once and
-- records their successes together with its next claim, one statement and one transaction
-- for the lot.
--
--   start_enqueued           start up to N enqueued steps for a worker, set-based
--   claim_steps              claim_step, then start_enqueued for the rest of a batch
--   record_enqueued_taking   record_enqueued, handing any number of the steps to a worker
--   enqueue_children_of      enqueue_ready_children for a set of parents
--   record_completions       record_completion for a set of attempts; stale ones refused
--   complete_and_claim_many  complete_and_claim for a set of successes
--   dispatch_task            the task as a claimed step's handler sees it
--
-- enqueue_ready_children and record_enqueued (0002) are redefined on top of the set-based
-- functions, so that one parent and many count children down alike.
--
-- Locks, as in 0002: a worker's own step rows first, claims with SKIP LOCKED, then shard
-- counters and children in one global order, task rows last (in uuid order).

-- Start up to p_limit enqueued steps for p_worker, leased for p_lease_seconds; steps of a
-- task that takes no work, or whose transitions do not say enqueued, are left for
-- claim_step. Only steps with attempts to spare are taken: a step claimed ahead of its run
-- whose worker dies has lost an attempt it never ran, which must not be its last.
CREATE OR REPLACE FUNCTION tasker.start_enqueued(
    p_worker varchar, p_namespaces varchar[], p_lease_seconds integer, p_task uuid,
    p_limit integer
) RETURNS SETOF tasker.workflow_steps
LANGUAGE plpgsql AS $$
DECLARE
    v_now   timestamptz := tasker.now();
    v_until timestamptz := v_now + make_interval(secs => p_lease_seconds);
    v_steps uuid[];
BEGIN
    IF p_limit < 1 THEN
        RETURN;
    END IF;
    -- two statements, as in claim_step: each walks its own index in claimable_at order
    IF p_task IS NOT NULL THEN
        SELECT array_agg(workflow_step_uuid) INTO v_steps FROM (
            SELECT workflow_step_uuid FROM tasker.workflow_steps
            WHERE task_uuid = p_task AND claimable_at <= v_now AND current_state = 'enqueued'
              AND retryable AND attempts + 1 < max_attempts
            ORDER BY claimable_at
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED) s;
    ELSE
        SELECT array_agg(workflow_step_uuid) INTO v_steps FROM (
            SELECT workflow_step_uuid FROM tasker.workflow_steps
            WHERE claimable_at <= v_now AND current_state = 'enqueued'
              AND retryable AND attempts + 1 < max_attempts
              AND (p_namespaces IS NULL OR namespace_name = ANY (p_namespaces))
            ORDER BY claimable_at
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED) s;
    END IF;
    IF v_steps IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH previous AS (
        UPDATE tasker.workflow_step_transitions w SET most_recent = false
        FROM tasker.workflow_steps s JOIN tasker.tasks t ON t.task_uuid = s.task_uuid
        WHERE s.workflow_step_uuid = ANY (v_steps)
          AND w.workflow_step_uuid = s.workflow_step_uuid AND w.most_recent
          AND w.to_state = 'enqueued' AND tasker.task_accepts_work(t.current_state)
        RETURNING w.workflow_step_uuid, w.sort_key
    ), started AS (
        UPDATE tasker.workflow_steps s
        SET current_state = 'in_progress', attempts = s.attempts + 1,
            in_process = true, last_attempted_at = v_now, lease_owner = p_worker,
            lease_expires_at = v_until, claimable_at = v_until, updated_at = v_now
        FROM previous p
        WHERE s.workflow_step_uuid = p.workflow_step_uuid
        RETURNING s.*
    ), recorded AS (
        INSERT INTO tasker.workflow_step_transitions
            (workflow_step_uuid, task_uuid, from_state, to_state, attempt, metadata, sort_key)
        SELECT s.workflow_step_uuid, s.task_uuid, 'enqueued', 'in_progress', s.attempts,
               jsonb_build_object('worker', p_worker), p.sort_key + 1
        FROM started s JOIN previous p USING (workflow_step_uuid)
    )
    SELECT * FROM started;
END
$$;

-- claim_step for the first step (it deals with every state a claimable step can be in),
-- then start_enqueued for up to p_limit - 1 more.
CREATE OR REPLACE FUNCTION tasker.claim_steps(
    p_worker varchar, p_namespaces varchar[], p_lease_seconds integer, p_task uuid,
    p_limit integer, p_recover boolean DEFAULT true
) RETURNS SETOF tasker.workflow_steps
LANGUAGE plpgsql AS $$
DECLARE
    v_first tasker.workflow_steps;
BEGIN
    IF p_limit < 1 THEN
        RETURN;
    END IF;
    SELECT * INTO v_first
    FROM tasker.claim_step(p_worker, p_namespaces, p_lease_seconds, p_task, p_recover);
    IF v_first.workflow_step_uuid IS NULL THEN
        RETURN;
    END IF;
    RETURN NEXT v_first;
    RETURN QUERY SELECT * FROM tasker.start_enqueued(p_worker, p_namespaces, p_lease_seconds,
                                                     p_task, p_limit - 1);
END
$$;

-- record_enqueued, where every step of p_taken (whose rows already say in_progress, leased
-- to p_taker) also gets its enqueued -> in_progress.
CREATE OR REPLACE FUNCTION tasker.record_enqueued_taking(
    p_steps uuid[], p_taken uuid[], p_taker varchar
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_count integer;
BEGIN
    WITH previous AS (
        UPDATE tasker.workflow_step_transitions SET most_recent = false
        WHERE workflow_step_uuid = ANY (p_steps) AND most_recent
        RETURNING workflow_step_uuid, task_uuid, to_state, sort_key
    ), marked AS (
        SELECT p.*, s.attempts, p.workflow_step_uuid = ANY (p_taken) AS taken
        FROM previous p JOIN tasker.workflow_steps s USING (workflow_step_uuid)
        WHERE p.to_state = 'pending'
    )
    INSERT INTO tasker.workflow_step_transitions
        (workflow_step_uuid, task_uuid, from_state, to_state, attempt, metadata, sort_key,
         most_recent)
    SELECT workflow_step_uuid, task_uuid, 'pending', 'enqueued', attempts - taken::integer,
           '{}'::jsonb, sort_key + 1, NOT taken
    FROM marked
    UNION ALL
    SELECT workflow_step_uuid, task_uuid, 'enqueued', 'in_progress', attempts,
           jsonb_build_object('worker', p_taker), sort_key + 2, true
    FROM marked WHERE taken;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count <> cardinality(p_steps) + cardinality(p_taken) THEN
        RAISE EXCEPTION 'of % steps to enqueue only % are pending in their transitions',
            cardinality(p_steps), v_count USING ERRCODE = 'TK001';
    END IF;
END
$$;

-- Count down the children of every step of p_parents and enqueue those left with no pending
-- parent, as enqueue_ready_children does for one parent: a shard counter takes one off per
-- parent in it, and a child's own count one per plain edge and per shard emptied now. Up to
-- p_take of the children made ready (in uuid order) are started at once for p_taker. Shard
-- rows, then child rows, are locked in one global order, so that batches sharing children
-- cannot deadlock.
CREATE OR REPLACE FUNCTION tasker.enqueue_children_of(
    p_parents uuid[], p_taker varchar, p_lease_seconds integer, p_take integer,
    OUT enqueued integer, OUT taken uuid[]
)
LANGUAGE plpgsql AS $$
DECLARE
    v_now   timestamptz := tasker.now();
    v_until timestamptz := v_now + make_interval(secs => coalesce(p_lease_seconds, 0));
    v_ready uuid[];
BEGIN
    WITH shard_hits AS (
        SELECT e.to_step_uuid AS child, e.counter_shard AS shard, count(*)::integer AS hits
        FROM tasker.workflow_step_edges e
        WHERE e.from_step_uuid = ANY (p_parents) AND e.counter_shard IS NOT NULL
        GROUP BY 1, 2
    ), locked_shards AS (
        SELECT pc.workflow_step_uuid, pc.shard, h.hits
        FROM tasker.step_parent_counts pc
        JOIN shard_hits h ON pc.workflow_step_uuid = h.child AND pc.shard = h.shard
        WHERE pc.pending > 0
        ORDER BY pc.workflow_step_uuid, pc.shard
        FOR UPDATE OF pc
    ), counted_shards AS (
        UPDATE tasker.step_parent_counts pc SET pending = greatest(pc.pending - l.hits, 0)
        FROM locked_shards l
        WHERE pc.workflow_step_uuid = l.workflow_step_uuid AND pc.shard = l.shard
        RETURNING pc.workflow_step_uuid, pc.pending
    ), satisfied AS (
        SELECT child, sum(n)::integer AS n FROM (
            SELECT e.to_step_uuid AS child, count(*) AS n FROM tasker.workflow_step_edges e
            WHERE e.from_step_uuid = ANY (p_parents) AND e.counter_shard IS NULL
            GROUP BY 1
            UNION ALL
            SELECT workflow_step_uuid, count(*) FROM counted_shards WHERE pending = 0
            GROUP BY 1
        ) parts
        GROUP BY child
    ), locked AS (
        SELECT c.workflow_step_uuid, d.n,
               c.pending_parents <= d.n AND c.current_state = 'pending'
               AND tasker.task_accepts_work(t.current_state) AS ready
        FROM satisfied d
        JOIN tasker.workflow_steps c ON c.workflow_step_uuid = d.child
        JOIN tasker.tasks t ON t.task_uuid = c.task_uuid
        ORDER BY c.workflow_step_uuid
        FOR UPDATE OF c
    ), chosen AS (
        SELECT workflow_step_uuid FROM locked
        WHERE ready AND p_taker IS NOT NULL
        ORDER BY workflow_step_uuid LIMIT greatest(p_take, 0)
    ), counted AS (
        UPDATE tasker.workflow_steps c
        SET pending_parents = greatest(c.pending_parents - l.n, 0),
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
    SELECT array_agg(workflow_step_uuid) FILTER (WHERE ready),
           coalesce(array_agg(chosen_uuid) FILTER (WHERE chosen_uuid IS NOT NULL), '{}')
    INTO v_ready, taken FROM counted;
    enqueued := coalesce(cardinality(v_ready), 0);
    IF enqueued > 0 THEN
        PERFORM tasker.record_enqueued_taking(v_ready, taken, p_taker);
    END IF;
END
$$;

-- Store the results of successful attempts whose attempt is still current (the fencing
-- token, as record_completion checks it); the others are left untouched and returned as
-- refused. One row per recorded step, and one per refused step (refused true).
CREATE OR REPLACE FUNCTION tasker.record_completions(
    p_steps uuid[], p_attempts integer[], p_results jsonb[], p_metadata jsonb[]
) RETURNS TABLE (workflow_step_uuid uuid, task_uuid uuid, namespace_name varchar,
                 batch_worker boolean, isolating boolean, refused boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_now        timestamptz := tasker.now();
    v_steps      uuid[];
    v_tasks      uuid[];
    v_namespaces varchar[];
    v_batch      boolean[];
    v_isolating  boolean[];
    v_recorded   integer;
BEGIN
    WITH outcome AS (
        SELECT * FROM unnest(p_steps, p_attempts, p_results, p_metadata)
                      AS o (step, attempt, results, metadata)
    ), done AS (
        UPDATE tasker.workflow_steps s
        SET current_state = 'complete', results = o.results, processed = true,
            processed_at = v_now, in_process = false, claimable_at = NULL, lease_owner = NULL,
            lease_expires_at = NULL, updated_at = v_now
        FROM outcome o
        WHERE s.workflow_step_uuid = o.step AND s.current_state = 'in_progress'
          AND s.attempts = o.attempt
        RETURNING s.workflow_step_uuid, s.task_uuid, s.namespace_name,
                  s.created_by = 'batch_spawn' AS batch_worker,
                  tasker.isolates_failures(s) AS isolating, o.attempt, o.metadata
    ), previous AS (
        UPDATE tasker.workflow_step_transitions w SET most_recent = false
        FROM done d
        WHERE w.workflow_step_uuid = d.workflow_step_uuid AND w.most_recent
        RETURNING w.workflow_step_uuid, w.sort_key, w.to_state
    ), recorded AS (
        INSERT INTO tasker.workflow_step_transitions
            (workflow_step_uuid, task_uuid, from_state, to_state, attempt, metadata, sort_key)
        SELECT d.workflow_step_uuid, d.task_uuid, 'in_progress', 'complete', d.attempt,
               d.metadata, p.sort_key + 1
        FROM done d JOIN previous p USING (workflow_step_uuid)
        WHERE p.to_state = 'in_progress'
        RETURNING 1
    )
    SELECT array_agg(d.workflow_step_uuid), array_agg(d.task_uuid),
           array_agg(d.namespace_name), array_agg(d.batch_worker), array_agg(d.isolating),
           (SELECT count(*) FROM recorded)
    INTO v_steps, v_tasks, v_namespaces, v_batch, v_isolating, v_recorded
    FROM done d;
    IF v_recorded <> coalesce(cardinality(v_steps), 0) THEN
        RAISE EXCEPTION 'of % completed steps only % are in_progress in their transitions',
            cardinality(v_steps), v_recorded USING ERRCODE = 'TK001';
    END IF;
    RETURN QUERY
    SELECT d.step, d.task, d.namespace, d.batch, d.isolating, false
    FROM unnest(v_steps, v_tasks, v_namespaces, v_batch, v_isolating)
         AS d (step, task, namespace, batch, isolating)
    UNION ALL
    SELECT o.step, NULL, NULL, NULL, NULL, true
    FROM unnest(p_steps) AS o (step)
    WHERE o.step <> ALL (coalesce(v_steps, '{}'));
END
$$;

-- A worker's successes and its next claims in one transaction: complete_and_claim for a
-- set. Stale attempts among p_steps are refused one by one (a row with refused_step) while
-- the others are recorded. Up to p_limit steps are claimed, before the children are counted
-- down (see complete_and_claim); when fewer are found, children the completions make ready
-- make up the number. With no successes, a plain claim_steps; with p_limit 0, no claim.
CREATE OR REPLACE FUNCTION tasker.complete_and_claim_many(
    p_steps uuid[], p_attempts integer[], p_results jsonb[], p_metadata jsonb[],
    p_worker varchar, p_namespaces varchar[], p_lease_seconds integer, p_task uuid,
    p_limit integer
) RETURNS TABLE (step tasker.workflow_steps, refused_step uuid)
LANGUAGE plpgsql AS $$
DECLARE
    v_done         uuid[];
    v_tasks        uuid[];
    v_isolating    boolean[];
    v_namespaces   varchar[];
    v_refused      uuid[];
    v_batch_steps  uuid[];
    v_batch_tasks  uuid[];
    v_claimed      integer := 0;
    v_slot         boolean := false;
    v_children     record;
    v_step         uuid;
    v_task         uuid;
    v_leaf         boolean;
    v_isolated     boolean;
BEGIN
    IF coalesce(cardinality(p_steps), 0) > 0 THEN
        SELECT array_agg(r.workflow_step_uuid) FILTER (WHERE NOT r.refused),
               array_agg(r.task_uuid) FILTER (WHERE NOT r.refused),
               array_agg(r.isolating) FILTER (WHERE NOT r.refused),
               array_agg(DISTINCT r.namespace_name) FILTER (WHERE NOT r.refused),
               array_agg(r.workflow_step_uuid) FILTER (WHERE r.refused),
               array_agg(r.workflow_step_uuid) FILTER (WHERE r.batch_worker),
               array_agg(r.task_uuid) FILTER (WHERE r.batch_worker)
        INTO v_done, v_tasks, v_isolating, v_namespaces, v_refused, v_batch_steps,
             v_batch_tasks
        FROM tasker.record_completions(p_steps, p_attempts, p_results, p_metadata) r;
        IF v_refused IS NOT NULL THEN
            RETURN QUERY SELECT NULL::tasker.workflow_steps, r FROM unnest(v_refused) AS r;
        END IF;
    END IF;
    -- with completions in hand, an expired lease is not recovered here (recovery takes the
    -- task row, which a holder of step rows must not wait for)
    RETURN QUERY SELECT s, NULL::uuid
                 FROM tasker.claim_steps(p_worker, p_namespaces, p_lease_seconds, p_task,
                                         p_limit, v_done IS NULL) AS s;
    GET DIAGNOSTICS v_claimed = ROW_COUNT;
    IF v_done IS NULL THEN
        RETURN;
    END IF;
    IF v_batch_steps IS NOT NULL THEN
        FOR v_step, v_task IN
            SELECT * FROM unnest(v_batch_steps, v_batch_tasks) ORDER BY 1
        LOOP
            v_slot := tasker.release_batch_slot(v_step, v_task) OR v_slot;
        END LOOP;
    END IF;
    SELECT * INTO v_children FROM tasker.enqueue_children_of(
        v_done, CASE WHEN p_limit > v_claimed THEN p_worker END, p_lease_seconds,
        p_limit - v_claimed);
    IF cardinality(v_children.taken) > 0 THEN
        RETURN QUERY SELECT s, NULL::uuid FROM tasker.workflow_steps s
                     WHERE s.workflow_step_uuid = ANY (v_children.taken);
    END IF;
    -- task rows last, in uuid order: a task whose step without children finished may be
    -- done; one with isolated failures may have nothing left to run (see block_if_stuck)
    FOR v_task, v_leaf, v_isolated IN
        SELECT d.task,
               bool_or(NOT EXISTS (SELECT 1 FROM tasker.workflow_step_edges e
                                   WHERE e.from_step_uuid = d.step)),
               bool_or(d.isolating) OR bool_or(t.has_isolated_failures)
        FROM unnest(v_done, v_tasks, v_isolating) AS d (step, task, isolating)
        JOIN tasker.tasks t ON t.task_uuid = d.task
        GROUP BY d.task
        ORDER BY d.task
    LOOP
        IF v_leaf THEN
            IF tasker.finish_task_if_done(v_task) = 'complete' THEN
                PERFORM pg_notify('tasker_task_settled', v_task::text);
            END IF;
        ELSIF v_isolated THEN
            PERFORM 1 FROM tasker.tasks WHERE task_uuid = v_task AND has_isolated_failures
                AND current_state = 'steps_in_process' FOR UPDATE;
            IF FOUND THEN
                PERFORM tasker.block_if_stuck(v_task);
            END IF;
        END IF;
    END LOOP;
    IF v_children.enqueued > cardinality(v_children.taken) OR v_slot THEN
        PERFORM pg_notify('tasker_steps_ready', n) FROM unnest(v_namespaces) AS n;
    END IF;
END
$$;

-- complete_and_claim, claiming up to p_limit steps: the first as before (claim_step, or a
-- child the completion makes ready), the rest with start_enqueued (from the children too,
-- when the completion made several ready). A worker records one
-- success this way (a chain hands each step on in one statement); several at once go
-- through complete_and_claim_many.
CREATE OR REPLACE FUNCTION tasker.complete_and_claim(
    p_step uuid, p_attempt integer, p_results jsonb, p_metadata jsonb,
    p_worker varchar, p_namespaces varchar[], p_lease_seconds integer, p_task uuid,
    p_limit integer
) RETURNS SETOF tasker.workflow_steps
LANGUAGE plpgsql AS $$
DECLARE
    v_done    record;
    v_next    tasker.workflow_steps;
    v_outcome record;
BEGIN
    IF p_step IS NULL THEN
        RETURN QUERY SELECT * FROM tasker.claim_steps(p_worker, p_namespaces, p_lease_seconds,
                                                      p_task, p_limit);
        RETURN;
    END IF;
    v_done := tasker.record_completion(p_step, p_attempt, p_results, p_metadata);
    IF p_limit < 1 THEN
        PERFORM tasker.propagate_completion(p_step, v_done.task_uuid, v_done.namespace_name,
                                            p_isolating => v_done.isolating);
        RETURN;
    END IF;
    SELECT * INTO v_next
    FROM tasker.claim_step(p_worker, p_namespaces, p_lease_seconds, p_task, false);
    IF v_next.workflow_step_uuid IS NOT NULL THEN
        RETURN NEXT v_next;
        RETURN QUERY SELECT * FROM tasker.start_enqueued(p_worker, p_namespaces,
                                                         p_lease_seconds, p_task, p_limit - 1);
        PERFORM tasker.propagate_completion(p_step, v_done.task_uuid, v_done.namespace_name,
                                            p_isolating => v_done.isolating);
        RETURN;
    END IF;
    SELECT * INTO v_outcome FROM tasker.propagate_completion(
        p_step, v_done.task_uuid, v_done.namespace_name, p_worker, p_lease_seconds,
        v_done.isolating);
    IF v_outcome.taken IS NOT NULL THEN
        RETURN QUERY SELECT * FROM tasker.workflow_steps
                     WHERE workflow_step_uuid = v_outcome.taken;
        -- a fan-out: the batch takes more of the children it made ready
        IF v_outcome.enqueued > 1 AND p_limit > 1 THEN
            RETURN QUERY SELECT * FROM tasker.start_enqueued(
                p_worker, p_namespaces, p_lease_seconds, p_task, p_limit - 1);
        END IF;
    END IF;
END
$$;

-- The task as the dispatch payload carries it, with its template's name and version.
CREATE OR REPLACE FUNCTION tasker.dispatch_task(t tasker.tasks, nt tasker.named_tasks)
RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'task_uuid', t.task_uuid, 'named_task_uuid', t.named_task_uuid,
        'context', t.context, 'correlation_id', t.correlation_id,
        'parent_correlation_id', t.parent_correlation_id, 'priority', t.priority,
        'tags', t.tags, 'initiator', t.initiator, 'source_system', t.source_system,
        'reason', t.reason, 'identity_hash', t.identity_hash, 'complete', t.complete,
        'requested_at', t.requested_at, 'namespace_name', t.namespace_name,
        'task_name', nt.name, 'task_version', nt.version)
$$;

-- One countdown for one parent and for many: enqueue_ready_children and record_enqueued
-- (0002) become enqueue_children_of and record_enqueued_taking for a set of one.
CREATE OR REPLACE FUNCTION tasker.enqueue_ready_children(
    p_step uuid, p_task uuid, p_taker varchar DEFAULT NULL,
    p_lease_seconds integer DEFAULT NULL,
    OUT children integer, OUT enqueued integer, OUT taken uuid
)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT count(*) INTO children FROM tasker.workflow_step_edges WHERE from_step_uuid = p_step;
    IF children = 0 THEN
        enqueued := 0;
        RETURN;
    END IF;
    SELECT c.enqueued, c.taken[1] INTO enqueued, taken
    FROM tasker.enqueue_children_of(ARRAY[p_step], p_taker, p_lease_seconds, 1) c;
END
$$;

CREATE OR REPLACE FUNCTION tasker.record_enqueued(
    p_steps uuid[], p_taken uuid DEFAULT NULL, p_taker varchar DEFAULT NULL
) RETURNS void
LANGUAGE sql AS $$
    SELECT tasker.record_enqueued_taking(p_steps, array_remove(ARRAY[p_taken], NULL), p_taker)
$$;
