-- What workers read for telemetry (tasker_ctl.engine.worker.instrumentation); run only when
-- telemetry is on.

-- name: fetch_task_finished_by_attempt
-- The task of a recorded attempt outcome, when recording that outcome is what moved the task
-- to a terminal state; no row otherwise. The task's terminal transition and the attempt's
-- closing transition carry the same xmin exactly when one transaction wrote both (the engine's
-- functions open no subtransactions), so of several workers finishing a task's last steps
-- at once exactly one is answered.
SELECT t.task_uuid, t.namespace_name, nt.name AS task_name, nt.version AS task_version,
       t.correlation_id, t.trace_id, t.span_id, t.requested_at,
       tt.to_state AS state, tt.created_at AS finished_at,
       (SELECT count(*) FROM tasker.workflow_steps s WHERE s.task_uuid = t.task_uuid)
           AS step_count
FROM tasker.workflow_step_transitions st
JOIN tasker.task_transitions tt
  ON tt.task_uuid = st.task_uuid AND tt.most_recent AND tt.xmin = st.xmin
JOIN tasker.tasks t ON t.task_uuid = st.task_uuid
JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
WHERE st.workflow_step_uuid = %(step_uuid)s
  AND st.attempt = %(attempt)s
  AND st.from_state = 'in_progress'
  AND st.to_state IN ('complete', 'error')
  AND tt.to_state IN ('complete', 'error', 'cancelled', 'resolved_manually');

-- name: fetch_final_task
-- A task in a terminal state, as fetch_task_finished_by_attempt answers it; no row while it
-- is not final (read after an operator's change or a staleness sweep finished it).
SELECT t.task_uuid, t.namespace_name, nt.name AS task_name, nt.version AS task_version,
       t.correlation_id, t.trace_id, t.span_id, t.requested_at,
       tt.to_state AS state, tt.created_at AS finished_at,
       (SELECT count(*) FROM tasker.workflow_steps s WHERE s.task_uuid = t.task_uuid)
           AS step_count
FROM tasker.tasks t
JOIN tasker.task_transitions tt ON tt.task_uuid = t.task_uuid AND tt.most_recent
JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
WHERE t.task_uuid = %(task_uuid)s
  AND tt.to_state IN ('complete', 'error', 'cancelled', 'resolved_manually');
