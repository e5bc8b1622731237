-- Tasks as commands name and list them (tasker_ctl.engine.views.task_reference and
-- task_listing): a reference resolved to one task, candidates shown when it names none or
-- several, and the operator's listing with its keyset cursor.

-- name: describe_tasks
-- The newest tasks (of the given UUIDs when not NULL), with what identifies them to a person.
SELECT t.task_uuid, t.current_state, t.namespace_name, nt.name AS task_name,
       nt.version AS task_version, t.created_at
FROM tasker.tasks t
JOIN tasker.named_tasks nt USING (named_task_uuid)
WHERE %(uuids)s::uuid[] IS NULL OR t.task_uuid = ANY (%(uuids)s::uuid[])
ORDER BY t.created_at DESC, t.task_uuid DESC
LIMIT %(limit)s;

-- name: task_exists
SELECT EXISTS (SELECT 1 FROM tasker.tasks WHERE task_uuid = %(task_uuid)s) AS found;

-- name: list_tasks
-- Tasks newest first (created_at, then task_uuid: the keyset a cursor continues after), each
-- with its template's identity and its steps counted by state (a step parked at a gate as
-- waiting_for_approval, as reports name it). changed_at is the newest transition of the
-- task or of one of its steps: the task row itself is not touched while its steps move.
-- Every filter matches all tasks when NULL.
SELECT t.task_uuid, t.current_state, t.namespace_name, nt.name AS task_name,
       nt.version AS task_version, t.created_at, t.completed_at,
       greatest(t.created_at, tt.changed_at, steps.changed_at) AS changed_at,
       coalesce(steps.step_counts, '{}'::jsonb) AS step_counts
FROM tasker.tasks t
JOIN tasker.named_tasks nt USING (named_task_uuid)
LEFT JOIN LATERAL (
    SELECT max(x.created_at) AS changed_at FROM tasker.task_transitions x
    WHERE x.task_uuid = t.task_uuid AND x.most_recent
) tt ON true
LEFT JOIN LATERAL (
    SELECT jsonb_object_agg(counted.state, counted.steps) AS step_counts,
           max(counted.changed_at) AS changed_at
    FROM (SELECT CASE WHEN s.current_state = 'waiting_for_retry'
                           AND s.checkpoint -> 'composition' -> 'pending_gate' IS NOT NULL
                      THEN 'waiting_for_approval' ELSE s.current_state END AS state,
                 count(*) AS steps, max(str.created_at) AS changed_at
          FROM tasker.workflow_steps s
          LEFT JOIN tasker.workflow_step_transitions str
              ON str.workflow_step_uuid = s.workflow_step_uuid AND str.most_recent
          WHERE s.task_uuid = t.task_uuid
          GROUP BY 1) counted
) steps ON true
WHERE (%(statuses)s::varchar[] IS NULL OR t.current_state = ANY (%(statuses)s::varchar[]))
  AND (%(namespace)s::varchar IS NULL OR t.namespace_name = %(namespace)s::varchar)
  AND (%(template_namespace)s::varchar IS NULL
       OR t.namespace_name = %(template_namespace)s::varchar)
  AND (%(template_name)s::varchar IS NULL OR nt.name = %(template_name)s::varchar)
  AND (%(template_version)s::varchar IS NULL OR nt.version = %(template_version)s::varchar)
  AND (%(since)s::timestamptz IS NULL OR t.created_at >= %(since)s::timestamptz)
  AND (%(after_created_at)s::timestamptz IS NULL
       OR (t.created_at, t.task_uuid) < (%(after_created_at)s::timestamptz, %(after_uuid)s::uuid))
ORDER BY t.created_at DESC, t.task_uuid DESC
LIMIT %(limit)s;
