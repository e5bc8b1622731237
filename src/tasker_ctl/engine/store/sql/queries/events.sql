-- Transition events: rows of the view tasker.transition_events (schema.sql), what
-- `tasker-ctl events` prints and structured logs carry (tasker_ctl.engine.views.events). Events are
-- read in the order (occurred_at, entity, sort_key, event_uuid); a cursor in that order
-- (the after_* parameters) pages through them, and occurred_at >= since bounds the scan (a
-- row comparison alone would not let the BRIN indexes on created_at help).

-- name: read_task_transition_events
-- One task's events. The step transitions are found by the uuids of the task's steps, read
-- once into an array: that table has no index on task_uuid, and an IN (subquery) would be
-- checked only after scanning it.
SELECT e.* FROM tasker.transition_events e
WHERE e.task_uuid = %(task_uuid)s
  AND (e.workflow_step_uuid IS NULL
       OR e.workflow_step_uuid = ANY (ARRAY(SELECT s.workflow_step_uuid
                                            FROM tasker.workflow_steps s
                                            WHERE s.task_uuid = %(task_uuid)s)))
  AND e.occurred_at >= %(since)s
  AND (e.occurred_at, e.entity, e.sort_key, e.event_uuid)
      > (%(after_at)s::timestamptz, %(after_entity)s::varchar, %(after_sort_key)s::integer,
         %(after_uuid)s::uuid)
ORDER BY e.occurred_at, e.entity, e.sort_key, e.event_uuid
LIMIT %(limit)s;

-- name: read_transition_events_since
-- Every task's events from `since` on.
SELECT e.* FROM tasker.transition_events e
WHERE e.occurred_at >= %(since)s
  AND (e.occurred_at, e.entity, e.sort_key, e.event_uuid)
      > (%(after_at)s::timestamptz, %(after_entity)s::varchar, %(after_sort_key)s::integer,
         %(after_uuid)s::uuid)
ORDER BY e.occurred_at, e.entity, e.sort_key, e.event_uuid
LIMIT %(limit)s;

-- name: fetch_event_task_exists
SELECT EXISTS (SELECT 1 FROM tasker.tasks WHERE task_uuid = %(task_uuid)s) AS found;

-- name: read_task_transition_events_tail
-- The last `limit` of one task's events from `since` on, newest first (the caller turns
-- them round). The step transitions are found as in read_task_transition_events.
SELECT e.* FROM tasker.transition_events e
WHERE e.task_uuid = %(task_uuid)s
  AND (e.workflow_step_uuid IS NULL
       OR e.workflow_step_uuid = ANY (ARRAY(SELECT s.workflow_step_uuid
                                            FROM tasker.workflow_steps s
                                            WHERE s.task_uuid = %(task_uuid)s)))
  AND e.occurred_at >= %(since)s
ORDER BY e.occurred_at DESC, e.entity DESC, e.sort_key DESC, e.event_uuid DESC
LIMIT %(limit)s;

-- name: read_transition_events_tail
-- The last `limit` of every task's events from `since` on, newest first.
SELECT e.* FROM tasker.transition_events e
WHERE e.occurred_at >= %(since)s
ORDER BY e.occurred_at DESC, e.entity DESC, e.sort_key DESC, e.event_uuid DESC
LIMIT %(limit)s;
