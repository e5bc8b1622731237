-- The action grammar's effects (tasker_ctl.engine.worker.composition_operations, gates).
-- The persist_* queries write to a table named by the template's resources: their {...}
-- slots are filled with quoted identifiers and placeholders by Store.fetch_all_composed.

-- name: persist_insert
INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING *;

-- name: persist_insert_or_skip
INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT DO NOTHING RETURNING *;

-- name: persist_upsert
INSERT INTO {table} ({columns}) VALUES ({values})
ON CONFLICT ({keys}) DO UPDATE SET {excluded} RETURNING *;

-- name: persist_upsert_or_skip
INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT ({keys}) DO NOTHING RETURNING *;

-- name: persist_update
UPDATE {table} SET {assignments} WHERE {conditions} RETURNING *;

-- name: persist_delete
DELETE FROM {table} WHERE {conditions} RETURNING *;

-- name: fetch_grammar_effect
-- The result an invocation's effect already had, when an earlier attempt carried it out.
SELECT result FROM tasker.grammar_effects WHERE idempotency_key = %(key)s;

-- name: record_grammar_effect
INSERT INTO tasker.grammar_effects
    (idempotency_key, task_uuid, workflow_step_uuid, invocation_index, capability, resource,
     entity, result)
VALUES (%(key)s, %(task_uuid)s, %(step_uuid)s, %(index)s, %(capability)s, %(resource)s,
        %(entity)s, %(result)s);

-- name: insert_outbox_event
-- One event into the outbox; a retried emit (same key) finds the event it wrote before.
WITH inserted AS (
    INSERT INTO tasker.grammar_outbox
        (idempotency_key, resource, event_name, event_version, delivery_mode, payload,
         metadata, task_uuid, workflow_step_uuid, invocation_index)
    VALUES (%(key)s, %(resource)s, %(event_name)s, %(event_version)s, %(delivery_mode)s,
            %(payload)s, %(metadata)s, %(task_uuid)s, %(step_uuid)s, %(index)s)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING event_uuid, created_at, true AS inserted
)
SELECT event_uuid, created_at, inserted FROM inserted
UNION ALL
SELECT event_uuid, created_at, false FROM tasker.grammar_outbox
WHERE idempotency_key = %(key)s AND NOT EXISTS (SELECT 1 FROM inserted);

-- name: await_gate
SELECT tasker.await_gate(%(step_uuid)s, %(attempt)s, %(checkpoint)s, %(metadata)s) AS state;

-- name: decide_gate
SELECT step_state, task_state, gate_index
FROM tasker.decide_gate(%(step_uuid)s, %(decision)s, %(metadata)s);

-- name: fetch_gate_step
-- A step of a task by name, with what its gate waits for.
SELECT workflow_step_uuid, name, current_state,
       checkpoint -> 'composition' -> 'pending_gate' AS pending_gate
FROM tasker.workflow_steps
WHERE task_uuid = %(task_uuid)s AND name = %(step_name)s;

-- name: list_pending_gates
-- Every step of a task waiting at a gate.
SELECT name, checkpoint -> 'composition' -> 'pending_gate' AS pending_gate
FROM tasker.workflow_steps
WHERE task_uuid = %(task_uuid)s AND current_state = 'waiting_for_retry'
  AND checkpoint -> 'composition' -> 'pending_gate' IS NOT NULL
ORDER BY name;
