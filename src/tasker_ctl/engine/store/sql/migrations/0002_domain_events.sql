-- Domain events a step declares (`publishes_events`) go into the outbox the grammar's `emit`
-- already writes: one durable record of every domain event, whoever published it. A step's
-- events are written in the transaction that records the outcome they describe, keyed by
-- step, attempt and declaration, so an outcome refused (its attempt was taken over) leaves
-- none and a recording run twice leaves each once.

ALTER TABLE tasker.grammar_outbox
    -- who wrote the event: a composition's `emit` or a step's declaration
    ADD COLUMN source varchar(8) NOT NULL DEFAULT 'emit' CHECK (source IN ('emit', 'step')),
    -- a step's event: the attempt whose outcome published it, that outcome, the
    -- declaration's condition and its custom publisher
    ADD COLUMN attempt integer,
    ADD COLUMN step_outcome varchar(24)
        CHECK (step_outcome IN ('success', 'retryable_failure', 'permanent_failure')),
    ADD COLUMN publication_condition varchar(24),
    ADD COLUMN publisher varchar(255),
    -- why the event was not published ({code, message, problems}); NULL when it was
    ADD COLUMN rejection jsonb;

CREATE INDEX grammar_outbox_created_idx ON tasker.grammar_outbox (created_at, event_uuid);

-- What an external consumer reads: every published domain event (rejected ones left out),
-- with its task's namespace and correlation id and its step's name. A relay that forwards
-- events marks each one it delivered in `tasker.grammar_outbox.published_at`.
CREATE VIEW tasker.domain_events AS
SELECT o.event_uuid,
       o.created_at AS occurred_at,
       o.event_name,
       o.event_version,
       o.delivery_mode,
       o.payload,
       o.metadata,
       o.source,
       o.resource,
       o.task_uuid,
       t.namespace_name,
       t.correlation_id,
       o.workflow_step_uuid,
       s.name AS step_name,
       o.attempt,
       o.step_outcome,
       o.publication_condition,
       o.publisher,
       o.idempotency_key,
       o.published_at
FROM tasker.grammar_outbox o
LEFT JOIN tasker.tasks t ON t.task_uuid = o.task_uuid
LEFT JOIN tasker.workflow_steps s ON s.workflow_step_uuid = o.workflow_step_uuid
WHERE o.rejection IS NULL;
