-- Planning steps run: a planner's attempts are recorded as they happen, and the steps an
-- accepted fragment adds carry their own definition.
--
-- A planned step is not in the template, so the worker that claims it reads what it runs
-- from the row: `step_definition` holds the step in the template's own format (its handler,
-- composition, retry, result_schema), NULL for every step the template declares.
ALTER TABLE tasker.workflow_steps ADD COLUMN step_definition jsonb;

-- An attempt is written before its model call ('calling', with what it reserved) and
-- completed after it, so a worker that dies during the call leaves a row that says so: the
-- next worker counts its reservation as spent ('interrupted') instead of calling twice for
-- the same answer or losing what the call may have cost.
ALTER TABLE tasker.planning_attempts
    ADD COLUMN status varchar(16) NOT NULL DEFAULT 'answered'
        CHECK (status IN ('calling', 'answered', 'failed', 'interrupted')),
    ADD COLUMN planner varchar(255),
    ADD COLUMN prompt_version varchar(32),
    ADD COLUMN capability_text text,
    ADD COLUMN answer text,
    -- what the attempt reserved before its call: {resource: amount}
    ADD COLUMN reserved jsonb NOT NULL DEFAULT '{}',
    -- the usage was not reported: tokens and cost are the reservation's worst case
    ADD COLUMN usage_estimated boolean NOT NULL DEFAULT false,
    ADD COLUMN prices_version varchar(64),
    ADD COLUMN finished_at timestamptz;

-- Each ledger entry a planning attempt makes names it, so the ledger's totals can be checked
-- against the attempts' and an interrupted attempt's open reservation found.
ALTER TABLE tasker.task_budget_entries
    ADD COLUMN planning_attempt_uuid uuid REFERENCES tasker.planning_attempts ON DELETE CASCADE;
CREATE INDEX task_budget_entries_attempt_idx ON tasker.task_budget_entries (planning_attempt_uuid)
    WHERE planning_attempt_uuid IS NOT NULL;
