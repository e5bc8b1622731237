-- New rows take time-ordered uuids (version 7: the first 48 bits are the creation time in
-- milliseconds) instead of random ones. A random key lands on a random page of every index
-- it is in; once a database's history outgrows the server's buffers, each new step, edge and
-- transition read and wrote pages all over its indexes (creating a 2,000-step task took 0.6
-- to 1.1 s with a million earlier steps, 0.2 s on an empty database). Time-ordered keys go
-- to the right edge of each index, where the pages are already in memory. Rows already
-- stored keep their uuids; nothing reads order or time from a uuid. A task keeps a random
-- uuid: people name tasks by the first characters of theirs, which a time-ordered uuid
-- would share with every task started in the same minute (one row per task costs nothing).
--
-- tasker.uuid_v7() is PostgreSQL's own uuidv7() from version 18 on, else the same layout
-- built from gen_random_uuid() (tasker.uuid_v7_portable(), 16 and 17).
CREATE FUNCTION tasker.uuid_v7_portable() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    -- the time in the first six bytes, then the version bits 0111 (random uuids carry 0100)
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp())
                                                     * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$;

DO $$
BEGIN
    IF current_setting('server_version_num')::integer >= 180000 THEN
        CREATE FUNCTION tasker.uuid_v7() RETURNS uuid
        LANGUAGE sql VOLATILE PARALLEL SAFE AS 'SELECT uuidv7()';
    ELSE
        CREATE FUNCTION tasker.uuid_v7() RETURNS uuid
        LANGUAGE sql VOLATILE PARALLEL SAFE AS 'SELECT tasker.uuid_v7_portable()';
    END IF;
END
$$;

ALTER TABLE tasker.task_namespaces ALTER COLUMN task_namespace_uuid SET DEFAULT tasker.uuid_v7();
ALTER TABLE tasker.named_tasks ALTER COLUMN named_task_uuid SET DEFAULT tasker.uuid_v7();
ALTER TABLE tasker.named_steps ALTER COLUMN named_step_uuid SET DEFAULT tasker.uuid_v7();
ALTER TABLE tasker.workflow_steps ALTER COLUMN workflow_step_uuid SET DEFAULT tasker.uuid_v7();
ALTER TABLE tasker.workflow_step_edges
    ALTER COLUMN workflow_step_edge_uuid SET DEFAULT tasker.uuid_v7();
ALTER TABLE tasker.task_transitions
    ALTER COLUMN task_transition_uuid SET DEFAULT tasker.uuid_v7();
ALTER TABLE tasker.workflow_step_transitions
    ALTER COLUMN workflow_step_transition_uuid SET DEFAULT tasker.uuid_v7();
ALTER TABLE tasker.tasks_dlq ALTER COLUMN dlq_entry_uuid SET DEFAULT tasker.uuid_v7();
ALTER TABLE tasker.task_budget_entries ALTER COLUMN budget_entry_uuid SET DEFAULT tasker.uuid_v7();
ALTER TABLE tasker.planning_attempts
    ALTER COLUMN planning_attempt_uuid SET DEFAULT tasker.uuid_v7();
ALTER TABLE tasker.grammar_outbox ALTER COLUMN event_uuid SET DEFAULT tasker.uuid_v7();
