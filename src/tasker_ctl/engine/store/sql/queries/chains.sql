-- Delegation chains (docs/inspect.md, "Chains"): tasks linked by parent_correlation_id. A
-- chain's root is its topmost task; when that task's parent_correlation_id names no task (an
-- agent's session id), every task under that id is at the chain's top and its root is the
-- first of them created. The root's chain_limits hold for the whole chain.

-- name: chain_of_parent
-- The chain a task with this parent_correlation_id would join: its root (NULL: the id names
-- no task and no task uses it yet, so the new task starts a chain), the session id the top
-- tasks share (NULL when the top is one task) and the new task's depth below the root.
-- Walks up at most %(max_hops)s links, so that a malformed chain that loops ends.
WITH RECURSIVE up AS (
    SELECT p.task_uuid, p.correlation_id, p.parent_correlation_id, 0 AS hops
    FROM (SELECT t.task_uuid, t.correlation_id, t.parent_correlation_id
          FROM tasker.tasks t WHERE t.correlation_id = %(parent_correlation_id)s
          ORDER BY t.created_at, t.task_uuid LIMIT 1) p
    UNION ALL
    SELECT q.task_uuid, q.correlation_id, q.parent_correlation_id, up.hops + 1
    FROM up
    CROSS JOIN LATERAL (
        SELECT t.task_uuid, t.correlation_id, t.parent_correlation_id FROM tasker.tasks t
        WHERE t.correlation_id = up.parent_correlation_id
        ORDER BY t.created_at, t.task_uuid LIMIT 1) q
    WHERE up.hops < %(max_hops)s
), top AS (
    SELECT * FROM up ORDER BY hops DESC LIMIT 1
), session AS (
    -- the id the top tasks share: the top task's parent, or the given id when it names no task
    SELECT CASE WHEN EXISTS (SELECT 1 FROM top) THEN (SELECT parent_correlation_id FROM top)
                ELSE %(parent_correlation_id)s::uuid END AS session_id
)
SELECT coalesce(
           (SELECT t.task_uuid FROM tasker.tasks t, session s
            WHERE s.session_id IS NOT NULL AND t.parent_correlation_id = s.session_id
            ORDER BY t.created_at, t.task_uuid LIMIT 1),
           (SELECT task_uuid FROM top)) AS root_task_uuid,
       (SELECT session_id FROM session) AS session_id,
       coalesce((SELECT hops + 1 FROM top), 0) AS depth;

-- name: lock_chain_root
-- The chain root's limits, its row locked until the submission commits: tasks joining one
-- chain are checked one at a time, so that together they never pass a limit.
SELECT task_uuid, correlation_id, chain_limits
FROM tasker.tasks WHERE task_uuid = %(task_uuid)s FOR UPDATE;

-- name: set_chain_limits
UPDATE tasker.tasks SET chain_limits = %(chain_limits)s WHERE task_uuid = %(task_uuid)s;

-- name: chain_figures
-- The tasks of the chain under its top (the root, or every task under the session id) and
-- what their ledgers committed, by resource (exact numerics; tasker.task_budget_use).
WITH RECURSIVE tops AS (
    SELECT t.task_uuid, t.correlation_id FROM tasker.tasks t
    WHERE (%(session_id)s::uuid IS NULL AND t.task_uuid = %(root_task_uuid)s)
       OR t.parent_correlation_id = %(session_id)s::uuid
), down AS (
    SELECT task_uuid, correlation_id, 0 AS depth, ARRAY[task_uuid] AS path FROM tops
    UNION ALL
    SELECT c.task_uuid, c.correlation_id, down.depth + 1, down.path || c.task_uuid
    FROM down JOIN tasker.tasks c ON c.parent_correlation_id = down.correlation_id
    WHERE down.depth < %(max_hops)s AND NOT c.task_uuid = ANY (down.path)
), members AS (
    SELECT DISTINCT task_uuid FROM down
)
SELECT (SELECT count(*) FROM members) AS tasks,
       (SELECT coalesce(jsonb_object_agg(resource, used::text), '{}'::jsonb)
        FROM (SELECT u.resource, sum(u.used) AS used
              FROM members m JOIN tasker.task_budget_use u ON u.task_uuid = m.task_uuid
              GROUP BY u.resource) totals) AS used,
       -- used and still reserved: what a planning call of a chain task may not pass
       (SELECT coalesce(jsonb_object_agg(resource, held::text), '{}'::jsonb)
        FROM (SELECT u.resource, sum(u.used + u.reserved) AS held
              FROM members m JOIN tasker.task_budget_use u ON u.task_uuid = m.task_uuid
              GROUP BY u.resource) totals) AS held;

-- name: chain_root_limits
-- The limits of a chain whose top tasks are these: those of the first of them created.
SELECT task_uuid, chain_limits FROM tasker.tasks
WHERE task_uuid = ANY(%(task_uuids)s::uuid[])
ORDER BY created_at, task_uuid LIMIT 1;

-- name: fetch_stats_delegation
-- Delegation depth over the window's tasks: each task's depth below the top of its chain (0:
-- it delegated from nothing, or from a session id no task carries; walks up at most
-- %(max_hops)s links), then how many delegated at all, the deepest depth, and the tasks deeper
-- than %(threshold)s (how many, and the deepest %(listed)s, deepest first).
WITH RECURSIVE scope AS (
    SELECT t.task_uuid, t.parent_correlation_id FROM tasker.tasks t
    WHERE t.created_at >= coalesce(%(since)s::timestamptz, '-infinity')
      AND (%(namespace)s::varchar IS NULL OR t.namespace_name = %(namespace)s)
), up AS (
    SELECT sc.task_uuid, sc.parent_correlation_id, 0 AS depth FROM scope sc
    UNION ALL
    SELECT up.task_uuid, p.parent_correlation_id, up.depth + 1
    FROM up
    CROSS JOIN LATERAL (
        SELECT t.parent_correlation_id FROM tasker.tasks t
        WHERE t.correlation_id = up.parent_correlation_id
        ORDER BY t.created_at, t.task_uuid LIMIT 1) p
    WHERE up.parent_correlation_id IS NOT NULL AND up.depth < %(max_hops)s
), depths AS (
    SELECT task_uuid, max(depth) AS depth FROM up GROUP BY task_uuid
)
SELECT (SELECT count(*) FROM depths WHERE depth > 0) AS delegated,
       (SELECT coalesce(max(depth), 0) FROM depths) AS max_depth,
       (SELECT count(*) FROM depths WHERE depth > %(threshold)s) AS too_deep,
       (SELECT coalesce(jsonb_agg(jsonb_build_array(d.task_uuid, d.depth)
                                  ORDER BY d.depth DESC, d.task_uuid), '[]')
        FROM (SELECT task_uuid, depth FROM depths WHERE depth > %(threshold)s
              ORDER BY depth DESC, task_uuid LIMIT %(listed)s) d) AS deepest;

-- The budget hierarchy (docs/inspect.md, "report budget"): under a task's budget, each of its
-- planning steps with the bounds its template gives it and what its attempts and fills used.

-- name: budget_planning_steps
-- A task's planning steps: the planning block of each (a nested planner's own, from its
-- definition; else the template's; NULL for neither), its attempts, the fills it
-- materialized (a committed phase each) and its ledger entries summed by resource and kind
-- (exact numerics as text).
SELECT s.workflow_step_uuid, s.name, s.current_state, s.created_by,
       coalesce(s.step_definition -> 'planning',
           (SELECT d -> 'planning' FROM jsonb_array_elements(
                CASE WHEN jsonb_typeof(nt.configuration -> 'steps') = 'array'
                     THEN nt.configuration -> 'steps' ELSE '[]'::jsonb END) d
            WHERE d ->> 'name' = s.template_step_name LIMIT 1)) AS planning,
       (SELECT count(*) FROM tasker.planning_attempts pa
        WHERE pa.workflow_step_uuid = s.workflow_step_uuid) AS attempts,
       (SELECT count(*) FROM tasker.task_budget_entries b
        WHERE b.workflow_step_uuid = s.workflow_step_uuid
          AND b.resource = 'phases' AND b.kind = 'commit') AS fills,
       (SELECT coalesce(jsonb_object_agg(g.resource || ':' || g.kind, g.total::text), '{}')
        FROM (SELECT b.resource, b.kind, sum(b.amount) AS total
              FROM tasker.task_budget_entries b
              WHERE b.workflow_step_uuid = s.workflow_step_uuid
              GROUP BY b.resource, b.kind) g) AS ledger_totals
FROM tasker.workflow_steps s
JOIN tasker.tasks t ON t.task_uuid = s.task_uuid
JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
WHERE s.task_uuid = %(task_uuid)s AND s.step_type = 'planning'
ORDER BY s.created_at, s.name;

-- name: planning_step_budget_sums
-- One planning step's ledger entries summed by resource and kind (exact numerics): what it
-- used and holds of its own configured bounds.
SELECT resource, kind, sum(amount) AS amount
FROM tasker.task_budget_entries
WHERE workflow_step_uuid = %(step_uuid)s
GROUP BY resource, kind;

-- name: chain_of_task
-- The chain a task belongs to, as chain_of_parent says for its parent_correlation_id (no
-- parent: the task is its own chain's root).
SELECT task_uuid, parent_correlation_id FROM tasker.tasks WHERE task_uuid = %(task_uuid)s;
