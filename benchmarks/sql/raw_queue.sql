-- name: create_raw_queue
DROP TABLE IF EXISTS bench_raw_queue;
CREATE TABLE bench_raw_queue (id integer PRIMARY KEY, state text NOT NULL DEFAULT 'ready',
                              claimed_by text, claimed_at timestamptz, done_at timestamptz);
CREATE INDEX bench_raw_queue_ready ON bench_raw_queue (id) WHERE state = 'ready';

-- name: fill_raw_queue
INSERT INTO bench_raw_queue (id) SELECT generate_series(1, %(count)s);

-- name: claim_raw
UPDATE bench_raw_queue SET state = 'claimed', claimed_by = %(worker)s, claimed_at = now()
WHERE id = (SELECT id FROM bench_raw_queue WHERE state = 'ready' ORDER BY id
            LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id;

-- name: complete_raw
UPDATE bench_raw_queue SET state = 'done', done_at = now() WHERE id = %(id)s;
