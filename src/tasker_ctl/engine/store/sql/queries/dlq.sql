-- Queries of staleness sweeps and the dead-letter queue (tasker.tasks_dlq); the functions
-- they call are in schema.sql (staleness and DLQ). See docs/dlq.md.

-- name: find_stale_tasks
-- Running tasks (in states, each named in state_thresholds with its lifecycle threshold)
-- whose last sign of progress is older than that threshold, or whose age is past
-- max_duration_minutes. A template's lifecycle setting wins over the default (defaults);
-- 0 turns a check off. Only tasks whose own clock already says so have their steps read.
-- Oldest progress first, a page at a time after (after_progress_at, after_task_uuid).
WITH clock AS (
    SELECT tasker.now() AS now
), candidate AS (
    SELECT t.task_uuid, t.namespace_name, nt.name AS task_name, nt.version AS task_version,
           t.current_state, t.created_at, tt.created_at AS state_since,
           nt.configuration -> 'lifecycle' AS lifecycle,
           %(state_thresholds)s::jsonb ->> t.current_state AS state_threshold
    FROM tasker.tasks t
    JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
    JOIN tasker.task_transitions tt ON tt.task_uuid = t.task_uuid AND tt.most_recent
    WHERE t.current_state = ANY (%(states)s::varchar[])
      AND (%(task_uuid)s::uuid IS NULL OR t.task_uuid = %(task_uuid)s::uuid)
      AND (%(namespaces)s::varchar[] IS NULL
           OR t.namespace_name = ANY (%(namespaces)s::varchar[]))
), overridden AS (
    SELECT c.*,
           tasker.lifecycle_minutes(c.lifecycle, c.state_threshold) AS state_override,
           tasker.lifecycle_minutes(c.lifecycle, 'max_duration_minutes') AS duration_override
    FROM candidate c
), resolved AS (
    SELECT o.*, clock.now,
           nullif(coalesce(o.state_override,
                           (%(defaults)s::jsonb ->> o.state_threshold)::bigint), 0)
               AS state_limit_minutes,
           nullif(coalesce(o.duration_override,
                           (%(defaults)s::jsonb ->> 'max_duration_minutes')::bigint), 0)
               AS duration_limit_minutes
    FROM overridden o, clock
), suspect AS (
    SELECT r.* FROM resolved r
    WHERE (r.state_limit_minutes IS NOT NULL
           AND extract(epoch FROM r.now - r.state_since) > r.state_limit_minutes * 60)
       OR (r.duration_limit_minutes IS NOT NULL
           AND extract(epoch FROM r.now - r.created_at) > r.duration_limit_minutes * 60)
), measured AS (
    SELECT s.*, coalesce(tasker.task_progress_at(s.task_uuid), s.state_since)
               AS last_progress_at
    FROM suspect s
)
SELECT task_uuid, namespace_name, task_name, task_version, current_state, created_at, now,
       last_progress_at,
       extract(epoch FROM now - last_progress_at) AS progress_seconds,
       extract(epoch FROM now - created_at) AS age_seconds,
       state_threshold, state_limit_minutes,
       state_override IS NOT NULL AS state_limit_from_template,
       duration_limit_minutes,
       duration_override IS NOT NULL AS duration_limit_from_template,
       lifecycle
FROM measured
WHERE ((state_limit_minutes IS NOT NULL
        AND extract(epoch FROM now - last_progress_at) > state_limit_minutes * 60)
    OR (duration_limit_minutes IS NOT NULL
        AND extract(epoch FROM now - created_at) > duration_limit_minutes * 60))
  AND (%(after_progress_at)s::timestamptz IS NULL
       OR (last_progress_at, task_uuid)
          > (%(after_progress_at)s::timestamptz, %(after_task_uuid)s::uuid))
ORDER BY last_progress_at, task_uuid
LIMIT %(page)s;

-- name: lock_stale_task
-- Take a task's row for a staleness decision; no row when another transaction holds it (a
-- sweeper or a worker settling it): it is left for them, and for the next sweep.
SELECT task_uuid, current_state FROM tasker.tasks
WHERE task_uuid = %(task_uuid)s
FOR UPDATE SKIP LOCKED;

-- name: fail_stale_task
SELECT entry_uuid, entry_created
FROM tasker.fail_stale_task(%(task_uuid)s, %(expected_state)s, %(dead_letter)s,
                            %(entry_metadata)s, %(transition_metadata)s);

-- name: list_dlq_entries
-- Entries, newest first, optionally of one resolution status.
SELECT d.dlq_entry_uuid, d.task_uuid, t.namespace_name, nt.name AS task_name,
       nt.version AS task_version, t.current_state AS task_state, d.original_state,
       d.dlq_reason, d.dlq_timestamp, d.resolution_status, d.resolution_timestamp,
       d.resolved_by, d.metadata
FROM tasker.tasks_dlq d
JOIN tasker.tasks t ON t.task_uuid = d.task_uuid
JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
WHERE %(status)s::varchar IS NULL OR d.resolution_status = %(status)s::varchar
ORDER BY d.dlq_timestamp DESC, d.dlq_entry_uuid
LIMIT %(limit)s;

-- name: fetch_dlq_entry
-- One entry with its snapshot, and its task's template and current state.
SELECT d.*, t.namespace_name, nt.name AS task_name, nt.version AS task_version,
       t.current_state AS task_state
FROM tasker.tasks_dlq d
JOIN tasker.tasks t ON t.task_uuid = d.task_uuid
JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
WHERE d.dlq_entry_uuid = %(entry_uuid)s;

-- name: lock_dlq_entry
-- An entry's resolution, locked until the transaction ends (resolutions of one entry queue).
SELECT resolution_status, resolved_by, resolution_timestamp FROM tasker.tasks_dlq
WHERE dlq_entry_uuid = %(entry_uuid)s
FOR UPDATE;

-- name: resolve_dlq_entry
-- Record an operator's resolution of a pending entry.
UPDATE tasker.tasks_dlq
SET resolution_status = %(status)s, resolution_notes = %(notes)s,
    resolved_by = %(resolved_by)s, resolution_timestamp = tasker.now(),
    updated_at = tasker.now()
WHERE dlq_entry_uuid = %(entry_uuid)s AND resolution_status = 'pending'
RETURNING dlq_entry_uuid;

-- name: count_dlq_entries
-- Entries by reason and resolution status, with the oldest and newest of each.
SELECT dlq_reason, resolution_status, count(*) AS entries,
       min(dlq_timestamp) AS oldest, max(dlq_timestamp) AS newest
FROM tasker.tasks_dlq
GROUP BY dlq_reason, resolution_status
ORDER BY dlq_reason, resolution_status;
