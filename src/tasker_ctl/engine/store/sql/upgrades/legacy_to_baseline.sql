-- Upgrade in place of a database migrated with the set of migrations that preceded the
-- baseline (0001_initial to 0007_claim_batches, as they last were), to the schema of
-- 0001_baseline. The migration runner recognises such a database by its schema_migrations
-- rows (versions, names and checksums of exactly that set), runs this script and rewrites
-- those rows as the baseline's, all in one transaction; tasks and their history stay as
-- they are.
--
-- That set created every table, column, index, view and function body of the baseline, in
-- the same column order, so what is left is what the baseline dropped as dead: the first
-- complete_and_claim, without p_limit, which nothing calls since claims came in batches.
-- tests/integration/test_upgrade.py checks that an upgraded database equals one built from
-- schema.sql, catalog for catalog.

DROP FUNCTION tasker.complete_and_claim(
    uuid, integer, jsonb, jsonb, varchar, varchar[], integer, uuid
);
