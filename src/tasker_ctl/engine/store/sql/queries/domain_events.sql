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

-- name: read_domain_events
-- Domain events in order (oldest first) after a position, optionally of one task, one event
-- name, and with or without the rejected ones.
SELECT o.event_uuid, o.created_at AS occurred_at, o.event_name, o.event_version,
       o.delivery_mode, o.payload, o.metadata, o.source, o.resource, o.task_uuid,
       t.namespace_name, t.correlation_id, o.workflow_step_uuid, s.name AS step_name,
       o.attempt, o.step_outcome, o.publication_condition, o.publisher, o.idempotency_key,
       o.published_at, o.rejection
FROM tasker.grammar_outbox o
LEFT JOIN tasker.tasks t ON t.task_uuid = o.task_uuid
LEFT JOIN tasker.workflow_steps s ON s.workflow_step_uuid = o.workflow_step_uuid
WHERE o.created_at >= %(since)s
  AND (o.created_at, o.event_uuid) > (%(after_at)s, %(after_uuid)s)
  AND (%(task_uuid)s::uuid IS NULL OR o.task_uuid = %(task_uuid)s::uuid)
  AND (%(event_name)s::varchar IS NULL OR o.event_name = %(event_name)s::varchar)
  AND (%(rejected)s OR o.rejection IS NULL)
ORDER BY o.created_at, o.event_uuid
LIMIT %(limit)s;

-- name: fetch_stats_domain_events
-- The domain events of the stats window's tasks (created at or after `since`, of `namespace`;
-- docs/stats.md): published ones by delivery mode and source, the rejected ones, and the
-- event names published most, as {name: count}.
WITH scope AS (
    SELECT o.event_name, o.delivery_mode, o.source, o.rejection IS NOT NULL AS rejected
    FROM tasker.grammar_outbox o
    JOIN tasker.tasks t ON t.task_uuid = o.task_uuid
    WHERE t.created_at >= coalesce(%(since)s::timestamptz, '-infinity')
      AND (%(namespace)s::varchar IS NULL OR t.namespace_name = %(namespace)s)
), names AS (
    SELECT event_name, count(*) AS published FROM scope WHERE NOT rejected
    GROUP BY event_name ORDER BY count(*) DESC, event_name LIMIT %(names)s
)
SELECT count(*) FILTER (WHERE NOT rejected) AS published,
       count(*) FILTER (WHERE NOT rejected AND delivery_mode = 'durable') AS durable,
       count(*) FILTER (WHERE NOT rejected AND delivery_mode = 'fast') AS fast,
       count(*) FILTER (WHERE NOT rejected AND delivery_mode = 'broadcast') AS broadcast,
       count(*) FILTER (WHERE NOT rejected AND source = 'emit') AS emitted,
       count(*) FILTER (WHERE rejected) AS rejected,
       (SELECT coalesce(jsonb_object_agg(event_name, published), '{}'::jsonb) FROM names)
           AS by_name
FROM scope;
