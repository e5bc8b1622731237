-- Queries of the store itself: server facts, notifications, and the migration ledger
-- (tasker.schema_migrations, created by the migration runner before the first migration).

-- name: fetch_server_version
-- The server's version string, e.g. "18.4".
SELECT current_setting('server_version') AS server_version;

-- name: notify_channel
-- NOTIFY with a channel name given as a value; delivered when the transaction commits.
SELECT pg_notify(%(channel)s, %(payload)s);

-- name: lock_schema_migrations
-- Serializes migration runs across processes until the transaction ends.
SELECT pg_advisory_xact_lock(%(lock_key)s::bigint);

-- name: create_tasker_schema
CREATE SCHEMA IF NOT EXISTS tasker;

-- name: create_schema_migrations_table
CREATE TABLE IF NOT EXISTS tasker.schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- name: check_schema_migrations_table
-- Whether the ledger exists, without creating it (for read-only status).
SELECT to_regclass('tasker.schema_migrations') IS NOT NULL AS present;

-- name: list_schema_migrations
SELECT version, name, checksum, applied_at
FROM tasker.schema_migrations
ORDER BY version;

-- name: insert_schema_migration
INSERT INTO tasker.schema_migrations (version, name, checksum)
VALUES (%(version)s, %(name)s, %(checksum)s);

-- name: clear_schema_migrations
-- Forgets every recorded migration: the upgrade of a database made before the baseline
-- records the baseline in their place, in the same transaction.
DELETE FROM tasker.schema_migrations;
