-- Whole databases, made and dropped by the pytest plugin (tasker_ctl.testing): a throwaway
-- database per test. Run with Store.execute_naming, which fills {database} and {template}
-- with quoted identifiers (CREATE DATABASE takes no parameters).

-- name: create_database
-- An empty database, to be migrated.
CREATE DATABASE {database};

-- name: create_database_copy
-- A copy of a migrated database (no session may be connected to the template).
CREATE DATABASE {database} TEMPLATE {template};

-- name: drop_database
-- Dropped with the sessions a test left open.
DROP DATABASE IF EXISTS {database} WITH (FORCE);
