-- Staleness detection and the dead-letter queue (docs/dlq.md).
--
--   lifecycle_minutes   a template's lifecycle threshold, when it holds a usable number
--   task_progress_at    the last sign of progress of a task
--   task_snapshot       a task and its steps as JSON, kept with a DLQ entry
--   fail_stale_task     move a stale task to error, with or without a DLQ entry
--
-- Which tasks are stale, and what to do with them, is decided by tasker_ctl.engine.staleness
-- (the query find_stale_tasks measures; the sweeper judges each task under its row lock and
-- calls fail_stale_task in the same transaction).

-- A lifecycle threshold of a template (its `configuration -> 'lifecycle'`), in minutes; NULL
-- when the template does not set it or sets something other than a whole number of minutes
-- in the range of the template model (a u32), so that a malformed registration falls back
-- to the default instead of failing the sweep. The nested CASE fixes the order of the
-- checks: a string is never cast to a number.
CREATE FUNCTION tasker.lifecycle_minutes(p_lifecycle jsonb, p_key text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(p_lifecycle -> p_key) = 'number' THEN
               CASE WHEN (p_lifecycle ->> p_key)::numeric BETWEEN 0 AND 4294967295
                         AND (p_lifecycle ->> p_key)::numeric
                             = trunc((p_lifecycle ->> p_key)::numeric)
                    THEN (p_lifecycle ->> p_key)::numeric::bigint
               END
           END
$$;

-- The last sign of progress of a task: the latest of
--   * its own last transition (it entered its current state),
--   * the last transition of any of its steps (enqueued, started, completed, failed, ...),
--   * for a running step, its lease: a worker that renews the lease is alive, so a lease
--     that has not expired is progress now, and an expired one was progress until it ran out,
--   * for a step waiting for a retry, the end of its backoff: a retry that is not due yet
--     is scheduled work, progress now; once due, its waiting counts from when it fell due.
-- A task that stays in steps_in_process while its steps move is therefore not stale.
CREATE FUNCTION tasker.task_progress_at(p_task uuid) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT greatest(
        (SELECT tt.created_at FROM tasker.task_transitions tt
         WHERE tt.task_uuid = p_task AND tt.most_recent),
        (SELECT max(greatest(
                    w.created_at,
                    CASE WHEN s.current_state = 'in_progress'
                         THEN least(s.lease_expires_at, tasker.now()) END,
                    CASE WHEN s.current_state = 'waiting_for_retry'
                         THEN least(s.claimable_at, tasker.now()) END))
         FROM tasker.workflow_steps s
         LEFT JOIN tasker.workflow_step_transitions w
           ON w.workflow_step_uuid = s.workflow_step_uuid AND w.most_recent
         WHERE s.task_uuid = p_task))
$$;

-- A task and its steps as JSON, for the record of a DLQ entry: the task's identity, state and
-- context; per step its state, attempts, lease and last error (never results, which can be
-- large). Steps that have not finished come first; past p_step_limit steps only the counts
-- by state (step_counts, always complete) describe the rest (steps_omitted).
CREATE FUNCTION tasker.task_snapshot(p_task uuid, p_step_limit integer DEFAULT 1000)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'taken_at', tasker.now(),
        'task', jsonb_build_object(
            'task_uuid', t.task_uuid,
            'namespace', t.namespace_name,
            'name', nt.name,
            'version', nt.version,
            'state', t.current_state,
            'state_since', tt.created_at,
            'created_at', t.created_at,
            'requested_at', t.requested_at,
            'updated_at', t.updated_at,
            'correlation_id', t.correlation_id,
            'parent_correlation_id', t.parent_correlation_id,
            'initiator', t.initiator,
            'source_system', t.source_system,
            'reason', t.reason,
            'tags', t.tags,
            'priority', t.priority,
            'context', t.context),
        'step_counts', coalesce(
            (SELECT jsonb_object_agg(c.current_state, c.steps)
             FROM (SELECT current_state, count(*) AS steps FROM tasker.workflow_steps
                   WHERE task_uuid = p_task GROUP BY current_state) c), '{}'::jsonb),
        'steps_omitted', greatest(
            (SELECT count(*) FROM tasker.workflow_steps WHERE task_uuid = p_task)
            - p_step_limit, 0),
        'steps', coalesce(
            (SELECT jsonb_agg(listed.step ORDER BY listed.finished, listed.created_at,
                              listed.name)
             FROM (SELECT s.current_state IN ('complete', 'resolved_manually', 'cancelled')
                              AS finished,
                          s.created_at, s.name,
                          jsonb_build_object(
                              'workflow_step_uuid', s.workflow_step_uuid,
                              'name', s.name,
                              'state', s.current_state,
                              'attempts', s.attempts,
                              'max_attempts', s.max_attempts,
                              'retryable', s.retryable,
                              'created_by', s.created_by,
                              'step_type', s.step_type,
                              'pending_parents', s.pending_parents,
                              'last_attempted_at', s.last_attempted_at,
                              'last_transition_at', w.created_at,
                              'claimable_at', s.claimable_at,
                              'lease_owner', s.lease_owner,
                              'lease_expires_at', s.lease_expires_at,
                              'backoff_request_seconds', s.backoff_request_seconds,
                              'last_error', CASE WHEN s.results ->> 'success' = 'false'
                                                 THEN s.results -> 'error' END) AS step
                   FROM tasker.workflow_steps s
                   LEFT JOIN tasker.workflow_step_transitions w
                     ON w.workflow_step_uuid = s.workflow_step_uuid AND w.most_recent
                   WHERE s.task_uuid = p_task
                   ORDER BY 1, s.created_at, s.name
                   LIMIT greatest(p_step_limit, 0)) listed), '[]'::jsonb))
    FROM tasker.tasks t
    JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
    LEFT JOIN tasker.task_transitions tt ON tt.task_uuid = t.task_uuid AND tt.most_recent
    WHERE t.task_uuid = p_task
$$;

-- Move a stale task to error. The caller holds the task row (taken with SKIP LOCKED, so that
-- sweepers never wait for each other) and has judged the task stale in its current state,
-- p_expected; TK001 when the state is another one by now, TK003 for an unknown task.
--
-- With p_dead_letter, a DLQ entry (reason staleness_timeout) records the task's state and a
-- snapshot taken before anything changes; a task with a pending entry already keeps that one
-- (entry_created false). The task then goes to error along transitions the rules allow,
-- each carrying p_transition_metadata and the entry's uuid: the rules have no direct edge
-- from a running state to error, so the route ends with Tasker Core's GiveUp
-- (blocked_by_failures -> error) or EnqueueFailed (enqueuing_steps -> error).
--
-- Its steps are made unclaimable, so nothing of it starts again; as block_task does, steps
-- that another transaction holds are skipped (a claim re-checks the task's state and drops
-- them). Attempts already running finish; their results are recorded and enqueue nothing.
CREATE FUNCTION tasker.fail_stale_task(
    p_task uuid, p_expected varchar, p_dead_letter boolean, p_entry_metadata jsonb,
    p_transition_metadata jsonb, OUT entry_uuid uuid, OUT entry_created boolean
)
LANGUAGE plpgsql AS $$
DECLARE
    v_state    varchar;
    v_route    varchar[];
    v_to       varchar;
    v_metadata jsonb;
BEGIN
    SELECT current_state INTO v_state FROM tasker.tasks WHERE task_uuid = p_task FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'task % does not exist', p_task USING ERRCODE = 'TK003';
    END IF;
    IF v_state <> p_expected THEN
        RAISE EXCEPTION 'task % is %, not %', p_task, v_state, p_expected
            USING ERRCODE = 'TK001';
    END IF;
    v_route := CASE v_state
        WHEN 'pending' THEN ARRAY['initializing', 'enqueuing_steps', 'error']
        WHEN 'initializing' THEN ARRAY['enqueuing_steps', 'error']
        WHEN 'enqueuing_steps' THEN ARRAY['error']
        WHEN 'waiting_for_retry' THEN ARRAY['enqueuing_steps', 'error']
        WHEN 'steps_in_process' THEN ARRAY['evaluating_results', 'blocked_by_failures', 'error']
        WHEN 'waiting_for_dependencies'
            THEN ARRAY['evaluating_results', 'blocked_by_failures', 'error']
        WHEN 'evaluating_results' THEN ARRAY['blocked_by_failures', 'error']
    END;
    IF v_route IS NULL THEN
        RAISE EXCEPTION 'task % is %: staleness applies only to running tasks', p_task, v_state
            USING ERRCODE = 'TK001';
    END IF;
    entry_created := false;
    IF p_dead_letter THEN
        INSERT INTO tasker.tasks_dlq
            (task_uuid, original_state, dlq_reason, task_snapshot, metadata)
        VALUES (p_task, v_state, 'staleness_timeout', tasker.task_snapshot(p_task),
                coalesce(p_entry_metadata, '{}'::jsonb))
        ON CONFLICT (task_uuid) WHERE resolution_status = 'pending' DO NOTHING
        RETURNING tasks_dlq.dlq_entry_uuid INTO entry_uuid;
        entry_created := entry_uuid IS NOT NULL;
        IF NOT entry_created THEN
            SELECT d.dlq_entry_uuid INTO entry_uuid FROM tasker.tasks_dlq d
            WHERE d.task_uuid = p_task AND d.resolution_status = 'pending';
        END IF;
    END IF;
    v_metadata := coalesce(p_transition_metadata, '{}'::jsonb)
        || jsonb_build_object('reason', 'staleness_timeout', 'dlq_entry_uuid', entry_uuid);
    FOREACH v_to IN ARRAY v_route LOOP
        PERFORM tasker.transition_task(p_task, v_to, v_metadata);
    END LOOP;
    UPDATE tasker.workflow_steps SET claimable_at = NULL
    WHERE workflow_step_uuid IN (
        SELECT workflow_step_uuid FROM tasker.workflow_steps
        WHERE task_uuid = p_task AND claimable_at IS NOT NULL
        FOR UPDATE SKIP LOCKED);
    PERFORM pg_notify('tasker_task_settled', p_task::text);
END
$$;

-- `dlq list` shows the newest entries of one resolution status first.
CREATE INDEX tasks_dlq_status_time_idx ON tasker.tasks_dlq (resolution_status, dlq_timestamp DESC);
