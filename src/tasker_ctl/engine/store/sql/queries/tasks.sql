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
