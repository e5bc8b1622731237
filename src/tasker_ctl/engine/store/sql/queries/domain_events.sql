-- Domain events in the outbox (tasker.grammar_outbox): those a step declares, written with the
-- outcome they describe (tasker_ctl.engine.graph.domain_events), and every domain event read
-- back (tasker_ctl.engine.views.domain_events, tasker_ctl.engine.stats.collect).

-- name: insert_step_domain_event
-- One declared event of one attempt's outcome; written again (same key), it is left as it is.
INSERT INTO tasker.grammar_outbox
    (idempotency_key, resource, event_name, delivery_mode, payload, metadata, task_uuid,
     workflow_step_uuid, invocation_index, source, attempt, step_outcome,
     publication_condition, publisher, rejection)
VALUES (%(key)s, %(resource)s, %(event_name)s, %(delivery_mode)s, %(payload)s, %(metadata)s,
        %(task_uuid)s, %(step_uuid)s, %(index)s, 'step', %(attempt)s, %(step_outcome)s,
        %(condition)s, %(publisher)s, %(rejection)s)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING true AS inserted;
