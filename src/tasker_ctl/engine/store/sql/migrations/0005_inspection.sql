-- What inspection, reports and telemetry read (docs/inspect.md, docs/telemetry.md).
--
--   tasks.trace_id / span_id     the task's trace context: step attempt spans are its children
--   workflow_steps.origin_step_uuid   the step whose outcome created a run-time step
--   planning_attempts            one row per planner call: prompt, fragment, findings, usage
--   transition_events            every task and step transition in one shape

-- The W3C trace context of a task: a trace id (32 hex digits) and the id of the task's own
-- span (16 hex digits), assigned when the task is created, so that every process that runs
-- one of its steps puts its spans in the same trace without asking anyone.
ALTER TABLE tasker.tasks
    ADD COLUMN trace_id varchar(32) CHECK (trace_id ~ '^[0-9a-f]{32}$'),
    ADD COLUMN span_id  varchar(16) CHECK (span_id ~ '^[0-9a-f]{16}$');
CREATE INDEX tasks_trace_idx ON tasker.tasks (trace_id) WHERE trace_id IS NOT NULL;
-- `inspect task latest`, `stats --since`
CREATE INDEX tasks_created_idx ON tasker.tasks (created_at);

-- A step created at run time names the step that created it: the decision step whose
-- outcome chose it, the batchable step that spawned it, the planning step that planned it.
-- NULL for steps created with the task.
ALTER TABLE tasker.workflow_steps ADD COLUMN origin_step_uuid uuid;

-- A planner's call and its result, accepted or not: what `inspect --planning` shows and
-- `stats` counts (fragment validation failure rate). One row per attempt; a rejected
-- fragment keeps its findings, so a re-plan can be compared with what it replaced.
CREATE TABLE tasker.planning_attempts (
    planning_attempt_uuid  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_uuid              uuid NOT NULL REFERENCES tasker.tasks ON DELETE CASCADE,
    -- the planning step that made the call
    workflow_step_uuid     uuid NOT NULL REFERENCES tasker.workflow_steps ON DELETE CASCADE,
    planning_phase         integer NOT NULL DEFAULT 1 CHECK (planning_phase >= 1),
    attempt                integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    provider               varchar(64),
    model                  varchar(128),
    prompt                 text,
    prompt_hash            varchar(64),
    capability_schema      jsonb,
    capability_schema_hash varchar(64),
    fragment_id            varchar(128),
    fragment               jsonb,
    -- validation findings: [{code, severity, stage, step, path, message, hint}]
    findings               jsonb NOT NULL DEFAULT '[]',
    accepted               boolean NOT NULL DEFAULT false,
    error                  text,
    tokens_in              integer CHECK (tokens_in >= 0),
    tokens_out             integer CHECK (tokens_out >= 0),
    latency_ms             integer CHECK (latency_ms >= 0),
    cost_usd               numeric CHECK (cost_usd >= 0),
    created_at             timestamptz NOT NULL DEFAULT tasker.now(),
    UNIQUE (workflow_step_uuid, planning_phase, attempt)
);
CREATE INDEX planning_attempts_task_idx ON tasker.planning_attempts (task_uuid);

-- Every transition of a task or of one of its steps, in one shape whatever created the
-- step (the template, a decision, a batch, a planner): what `tasker-ctl events` prints and
-- what structured logs carry. `entity` tells the two apart; the step fields are NULL for a
-- task's own transitions.
CREATE VIEW tasker.transition_events AS
SELECT tt.task_transition_uuid AS event_uuid,
       'task'::varchar(8) AS entity,
       tt.created_at AS occurred_at,
       tt.task_uuid,
       t.namespace_name,
       t.correlation_id,
       t.trace_id,
       NULL::uuid AS workflow_step_uuid,
       NULL::varchar(255) AS step_name,
       tt.from_state,
       tt.to_state,
       tt.event,
       NULL::integer AS attempt,
       tt.sort_key,
       tt.metadata,
       NULL::varchar(32) AS created_by,
       NULL::varchar(32) AS handler_type,
       NULL::uuid AS planning_step_uuid,
       NULL::varchar(128) AS fragment_id,
       NULL::integer AS planning_phase,
       NULL::varchar(255) AS composition_source
FROM tasker.task_transitions tt
JOIN tasker.tasks t ON t.task_uuid = tt.task_uuid
UNION ALL
SELECT st.workflow_step_transition_uuid,
       'step',
       st.created_at,
       st.task_uuid,
       s.namespace_name,
       t.correlation_id,
       t.trace_id,
       st.workflow_step_uuid,
       s.name,
       st.from_state,
       st.to_state,
       st.event,
       st.attempt,
       st.sort_key,
       st.metadata,
       s.created_by,
       s.handler_type,
       s.planning_step_uuid,
       s.fragment_id,
       s.planning_phase,
       s.composition_source
FROM tasker.workflow_step_transitions st
JOIN tasker.workflow_steps s ON s.workflow_step_uuid = st.workflow_step_uuid
JOIN tasker.tasks t ON t.task_uuid = st.task_uuid;

-- `tasker-ctl events --follow` reads transitions by time across all tasks. Rows arrive in
-- time order, so a BRIN index finds recent ones for a few pages of upkeep, where a B-tree
-- would add an entry to every insert of the hottest table.
CREATE INDEX workflow_step_transitions_created_brin
    ON tasker.workflow_step_transitions USING brin (created_at);
CREATE INDEX task_transitions_created_brin
    ON tasker.task_transitions USING brin (created_at);

-- Each task's use of each budget resource, by the ledger's rule (engine/budget.py says the
-- same in Python): a release frees open reservations first, and what it frees beyond them
-- was committed.
CREATE VIEW tasker.task_budget_use AS
SELECT task_uuid, resource,
       greatest(0, committed - greatest(0, released - greatest(0, reserved - committed)))
           AS used,
       greatest(0, reserved - committed - released) AS reserved
FROM (
    SELECT task_uuid, resource,
           coalesce(sum(amount) FILTER (WHERE kind = 'commit'), 0) AS committed,
           coalesce(sum(amount) FILTER (WHERE kind = 'reserve'), 0) AS reserved,
           coalesce(sum(amount) FILTER (WHERE kind = 'release'), 0) AS released
    FROM tasker.task_budget_entries
    GROUP BY task_uuid, resource
) sums;

-- What the outlier alerts of `tasker-ctl stats` watch, one value per task of a window (the
-- tasks created at or after p_since, NULL: all, of namespace p_namespace, NULL: any): its
-- use of cost_usd, steps and phases (tasks with ledger entries for the resource), and its
-- planning depth, the deepest planning_phase it reached (tasks with planner calls).
CREATE FUNCTION tasker.task_watch_values(p_since timestamptz, p_namespace varchar)
RETURNS TABLE (metric varchar, task_uuid uuid, value numeric)
LANGUAGE sql STABLE AS $$
    WITH scope AS (
        SELECT t.task_uuid FROM tasker.tasks t
        WHERE t.created_at >= coalesce(p_since, '-infinity')
          AND (p_namespace IS NULL OR t.namespace_name = p_namespace)
    )
    SELECT u.resource, u.task_uuid, u.used
    FROM scope sc
    JOIN tasker.task_budget_use u ON u.task_uuid = sc.task_uuid
    WHERE u.resource IN ('cost_usd', 'steps', 'phases')
    UNION ALL
    SELECT 'planning_depth', pa.task_uuid, max(pa.planning_phase)::numeric
    FROM scope sc
    JOIN tasker.planning_attempts pa ON pa.task_uuid = sc.task_uuid
    GROUP BY pa.task_uuid
$$;
