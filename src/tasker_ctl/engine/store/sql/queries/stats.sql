-- The figures of `tasker-ctl stats` (engine/stats/collect.py, docs/stats.md).
--
-- The queries look at one window: the tasks created at or after `since` (NULL: all of them;
-- tasks_created_idx finds them), of namespace `namespace` (NULL: every one), and what belongs
-- to those tasks. Each starts from that set of tasks, `scope`, so that a narrow window reads
-- only its own tasks' steps, through the (task_uuid, ...) indexes. The exception is the DLQ
-- backlog, counted whatever its age.

-- name: begin_stats_snapshot
-- Inside a fresh transaction: every query of the report sees the same snapshot, so its
-- figures add up (the steps counted are those of the tasks counted).
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;

-- name: fetch_stats_tasks
-- The window's tasks by state, and how many of each were created with a budget limit.
SELECT t.current_state AS state,
       count(*) AS tasks,
       count(*) FILTER (WHERE t.budget_limits <> '{}'::jsonb) AS limited
FROM tasker.tasks t
WHERE t.created_at >= coalesce(%(since)s::timestamptz, '-infinity')
  AND (%(namespace)s::varchar IS NULL OR t.namespace_name = %(namespace)s)
GROUP BY t.current_state
ORDER BY t.current_state;

-- name: fetch_stats_steps
-- Everything counted per step, from one read of the window's steps (the largest table: one
-- pass instead of three), as three JSON values:
--   shape     steps per task (mean, median, max): all, static (created_by template) and
--             dynamic (created at run time); a task without steps counts as 0
--   kinds     steps by origin (created_by) and trust tier (handler_type), with how many
--             completed and how many are failed (state error)
--   handlers  per handler callable: steps, attempts, retries, outcomes, and the latency of
--             successful attempts, most steps first
-- The callable is not on the step row: it is the template's, found by the task's
-- registered template (named_tasks.configuration -> 'steps') and the step's
-- template_step_name, which batch workers share with their worker template. NULL when the
-- registered template has no such step (a step planned at run time).
-- Latency: processed_at - last_attempted_at of each step completed by a worker, i.e. the
-- claim-to-completion time of its final (successful) attempt, read off the step row with no
-- transition scan. Manual completions (an operator's, marked in the result) are left out.
WITH scope AS (
    SELECT t.task_uuid, t.named_task_uuid FROM tasker.tasks t
    WHERE t.created_at >= coalesce(%(since)s::timestamptz, '-infinity')
      AND (%(namespace)s::varchar IS NULL OR t.namespace_name = %(namespace)s)
), templates AS (
    SELECT DISTINCT ON (nt.named_task_uuid, d.step ->> 'name')
           nt.named_task_uuid, d.step ->> 'name' AS step_name,
           d.step -> 'handler' ->> 'callable' AS handler
    FROM tasker.named_tasks nt
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(nt.configuration -> 'steps') = 'array'
             THEN nt.configuration -> 'steps' ELSE '[]'::jsonb END) AS d(step)
    WHERE nt.named_task_uuid IN (SELECT DISTINCT named_task_uuid FROM scope)
    ORDER BY nt.named_task_uuid, d.step ->> 'name'
), steps AS MATERIALIZED (
    -- narrow rows: what the aggregates below sort and scan again is a few columns, not
    -- the step rows with their inputs and results
    SELECT s.task_uuid, h.handler, s.created_by, s.handler_type, s.attempts,
           s.current_state,
           CASE WHEN s.current_state = 'complete' AND s.processed_at >= s.last_attempted_at
                     AND (s.results -> 'metadata' ->> 'completed_manually') IS DISTINCT FROM 'true'
                -- date_part gives float8 directly; extract() computes a numeric
                THEN date_part('epoch', s.processed_at - s.last_attempted_at) * 1000
           END AS latency_ms
    FROM scope sc
    JOIN tasker.workflow_steps s ON s.task_uuid = sc.task_uuid
    LEFT JOIN templates h
           ON h.named_task_uuid = sc.named_task_uuid AND h.step_name = s.template_step_name
), counted AS (
    SELECT task_uuid,
           count(*) AS total,
           count(*) FILTER (WHERE created_by = 'template') AS static
    FROM steps
    GROUP BY task_uuid
), per_task AS (
    SELECT coalesce(c.total, 0) AS total,
           coalesce(c.static, 0) AS static,
           coalesce(c.total - c.static, 0) AS dynamic
    FROM scope sc
    LEFT JOIN counted c ON c.task_uuid = sc.task_uuid
), shape AS (
    SELECT avg(total)::float8 AS total_mean,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY total) AS total_median,
           max(total) AS total_max,
           avg(static)::float8 AS static_mean,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY static) AS static_median,
           max(static) AS static_max,
           avg(dynamic)::float8 AS dynamic_mean,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY dynamic) AS dynamic_median,
           max(dynamic) AS dynamic_max
    FROM per_task
), kinds AS (
    SELECT created_by, handler_type,
           count(*) AS steps,
           count(*) FILTER (WHERE current_state = 'complete') AS complete,
           count(*) FILTER (WHERE current_state = 'error') AS failed
    FROM steps
    GROUP BY created_by, handler_type
), handlers AS (
    SELECT handler,
           count(*) AS steps,
           count(*) FILTER (WHERE attempts > 0) AS attempted,
           coalesce(sum(attempts), 0) AS attempts,
           count(*) FILTER (WHERE attempts > 1) AS retried,
           count(*) FILTER (WHERE current_state IN ('complete', 'error')) AS finished,
           count(*) FILTER (WHERE current_state = 'error') AS failed,
           count(latency_ms) AS latency_samples,
           percentile_cont(ARRAY[0.5, 0.95, 0.99]::float8[]) WITHIN GROUP (ORDER BY latency_ms)
               AS latency_percentiles,
           max(latency_ms) AS latency_max
    FROM steps
    GROUP BY handler
)
SELECT (SELECT to_jsonb(shape) FROM shape) AS shape,
       (SELECT coalesce(jsonb_agg(to_jsonb(kinds) ORDER BY created_by, handler_type), '[]')
        FROM kinds) AS kinds,
       (SELECT coalesce(jsonb_agg(to_jsonb(handlers) ORDER BY steps DESC, handler NULLS LAST),
                        '[]')
        FROM handlers) AS handlers;

-- name: fetch_stats_dlq
-- DLQ entries of the namespace by reason and status: how many, how many entered the queue
-- in the window, how many were resolved in it. Entries are not limited to the window's
-- tasks: a pending entry is a backlog however old its task is.
SELECT d.dlq_reason AS reason,
       d.resolution_status AS status,
       count(*) AS entries,
       count(*) FILTER (
           WHERE d.dlq_timestamp >= coalesce(%(since)s::timestamptz, '-infinity')) AS entered,
       count(*) FILTER (
           WHERE d.resolution_timestamp >= coalesce(%(since)s::timestamptz, '-infinity'))
           AS resolved
FROM tasker.tasks_dlq d
JOIN tasker.tasks t ON t.task_uuid = d.task_uuid
WHERE %(namespace)s::varchar IS NULL OR t.namespace_name = %(namespace)s
GROUP BY d.dlq_reason, d.resolution_status
ORDER BY d.dlq_reason, d.resolution_status;

-- name: fetch_stats_budgets
-- Budget use per resource over the window's tasks (a task's use: tasker.task_budget_use);
-- a limit is a number under the resource's key in tasks.budget_limits.
-- Utilisation (used / limit) is over the tasks with a positive limit; exhausted: used +
-- still reserved reached the limit.
WITH scope AS (
    SELECT t.task_uuid, t.budget_limits FROM tasker.tasks t
    WHERE t.created_at >= coalesce(%(since)s::timestamptz, '-infinity')
      AND (%(namespace)s::varchar IS NULL OR t.namespace_name = %(namespace)s)
), usage AS (
    SELECT u.task_uuid, u.resource, u.used, u.reserved AS held
    FROM scope sc
    JOIN tasker.task_budget_use u ON u.task_uuid = sc.task_uuid
), limits AS (
    SELECT sc.task_uuid, l.key AS resource, l.value::text::numeric AS limit_value
    FROM scope sc
    CROSS JOIN LATERAL jsonb_each(sc.budget_limits) AS l(key, value)
    WHERE sc.budget_limits <> '{}'::jsonb AND jsonb_typeof(l.value) = 'number'
      AND l.key = ANY(%(resources)s::text[])
), lines AS (
    SELECT coalesce(l.resource, u.resource) AS resource, l.limit_value,
           coalesce(u.used, 0) AS used, coalesce(u.held, 0) AS held
    FROM limits l
    FULL JOIN usage u ON u.task_uuid = l.task_uuid AND u.resource = l.resource
)
SELECT resource,
       count(*) FILTER (WHERE limit_value IS NOT NULL) AS limited_tasks,
       (avg(used / limit_value) FILTER (WHERE limit_value > 0))::float8 AS mean_utilisation,
       (max(used / limit_value) FILTER (WHERE limit_value > 0))::float8 AS max_utilisation,
       count(*) FILTER (WHERE limit_value IS NOT NULL AND used + held >= limit_value)
           AS exhausted_tasks,
       count(*) FILTER (WHERE used > 0) AS using_tasks,
       coalesce(sum(used), 0)::float8 AS used_total
FROM lines
WHERE resource = ANY(%(resources)s::text[])
GROUP BY resource;

-- name: fetch_stats_planning
-- Model calls of the window's tasks by status ('calling', 'answered', 'failed',
-- 'interrupted'), answers accepted or rejected, usage, latency and depth; the fills their
-- accepted fragments materialized (each commits one phase naming its attempt) and the
-- steps planners added.
WITH scope AS (
    SELECT t.task_uuid FROM tasker.tasks t
    WHERE t.created_at >= coalesce(%(since)s::timestamptz, '-infinity')
      AND (%(namespace)s::varchar IS NULL OR t.namespace_name = %(namespace)s)
), calls AS (
    SELECT count(*) AS attempts,
           count(*) FILTER (WHERE pa.status = 'answered') AS answered,
           count(*) FILTER (WHERE pa.status = 'answered' AND pa.accepted) AS accepted,
           count(*) FILTER (WHERE pa.status = 'answered' AND NOT pa.accepted) AS rejected,
           count(*) FILTER (WHERE pa.status = 'failed') AS failed,
           count(*) FILTER (WHERE pa.status = 'interrupted') AS interrupted,
           count(*) FILTER (WHERE pa.status = 'calling') AS calling,
           count(*) FILTER (WHERE pa.usage_estimated) AS usage_estimated,
           count(DISTINCT pa.task_uuid) AS tasks,
           count(DISTINCT pa.workflow_step_uuid) AS planning_steps,
           coalesce(sum(pa.tokens_in), 0) AS tokens_in,
           coalesce(sum(pa.tokens_out), 0) AS tokens_out,
           coalesce(sum(pa.cost_usd), 0) AS cost_usd,
           count(pa.latency_ms) AS latency_samples,
           avg(pa.latency_ms)::float8 AS mean_latency_ms,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY pa.latency_ms)::float8
               AS p95_latency_ms,
           max(pa.planning_phase) AS max_planning_phase
    FROM scope sc
    JOIN tasker.planning_attempts pa ON pa.task_uuid = sc.task_uuid
)
SELECT calls.*,
       (SELECT count(*) FROM scope sc
        JOIN tasker.task_budget_entries b ON b.task_uuid = sc.task_uuid
        WHERE b.resource = 'phases' AND b.kind = 'commit'
          AND b.planning_attempt_uuid IS NOT NULL) AS fills_materialized,
       (SELECT count(*) FROM scope sc
        JOIN tasker.workflow_steps s ON s.task_uuid = sc.task_uuid
        WHERE s.created_by = 'planning_step') AS planned_steps
FROM calls;

-- name: fetch_stats_baselines
-- The distribution, over the window's tasks, of what the outlier alerts watch
-- (tasker.task_watch_values). Population standard deviation.
SELECT metric,
       count(*) AS samples,
       avg(value)::float8 AS mean,
       stddev_pop(value)::float8 AS stddev,
       max(value)::float8 AS max
FROM tasker.task_watch_values(%(since)s, %(namespace)s)
GROUP BY metric
ORDER BY metric;

-- name: fetch_stats_outliers
-- The tasks above a metric's threshold (computed from fetch_stats_baselines; NULL: the
-- metric is not checked), the highest %(listed)s of each, with how many there are in all.
WITH flagged AS (
    SELECT metric, task_uuid, value,
           count(*) OVER (PARTITION BY metric) AS offending,
           row_number() OVER (PARTITION BY metric ORDER BY value DESC, task_uuid) AS rank
    FROM tasker.task_watch_values(%(since)s, %(namespace)s)
    WHERE value > CASE metric
        WHEN 'cost_usd' THEN %(cost_usd)s::float8
        WHEN 'steps' THEN %(steps)s::float8
        WHEN 'phases' THEN %(phases)s::float8
        WHEN 'planning_depth' THEN %(planning_depth)s::float8
    END
)
SELECT metric, task_uuid, value::float8 AS value, offending
FROM flagged
WHERE rank <= %(listed)s
ORDER BY metric, rank;
