-- pgml_replication 0.1.0: install script
\echo Use "CREATE EXTENSION pgml_replication" to load this file. \quit

-- The control file sets schema = pgml_repl, so CREATE EXTENSION creates it.
-- Nothing here is granted to PUBLIC unless a section says so.

-- ===================================================================
-- configure_primary: archive and WAL settings in postgresql.auto.conf
-- ===================================================================
-- BEGIN auto_conf
-- Sets archive_mode, wal_level, archive_command and max_wal_senders in
-- postgresql.auto.conf, like ALTER SYSTEM but transactional: the file is
-- written at COMMIT, and a ROLLBACK leaves it untouched.
CREATE FUNCTION pgml_repl.configure_primary(
    stanza text DEFAULT 'main',
    archive_command text DEFAULT NULL,
    max_wal_senders integer DEFAULT 10,
    pgbackrest_config text DEFAULT NULL)
RETURNS TABLE(name text, previous_value text, value text, changed boolean, pending_restart boolean)
AS 'MODULE_PATHNAME', 'pgmlr_configure_primary'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pgml_repl.configure_primary(text, text, integer, text) IS
'Configures WAL archiving (pgBackRest) and streaming replication settings in postgresql.auto.conf at COMMIT';
REVOKE EXECUTE ON FUNCTION pgml_repl.configure_primary(text, text, integer, text) FROM PUBLIC;
-- END auto_conf

-- ===================================================================
-- Replication role and pg_hba.conf rules
-- ===================================================================
-- BEGIN replication_user_hba
-- A LOGIN REPLICATION role whose password is stored as a SCRAM-SHA-256
-- verifier. A generated password is returned once; a caller's never is.
CREATE FUNCTION pgml_repl.create_replication_user(
    role_name  name DEFAULT 'replication_user',
    password   text DEFAULT NULL,
    allow_from text DEFAULT NULL)
RETURNS TABLE(role_name name, password text, created boolean, hba_rule text)
AS 'MODULE_PATHNAME', 'pgmlr_create_replication_user'
LANGUAGE C VOLATILE;

-- host replication <role> <address> <method> lines in pg_hba.conf, marked
-- "# pgml_replication", written at COMMIT and followed by a reload.
CREATE FUNCTION pgml_repl.allow_replica(
    address   text,
    role_name name DEFAULT 'replication_user',
    method    text DEFAULT 'scram-sha-256')
RETURNS TABLE(hba_rule text, changed boolean)
AS 'MODULE_PATHNAME', 'pgmlr_allow_replica'
LANGUAGE C VOLATILE;

CREATE FUNCTION pgml_repl.disallow_replica(
    address   text,
    role_name name DEFAULT 'replication_user')
RETURNS TABLE(hba_rule text, changed boolean)
AS 'MODULE_PATHNAME', 'pgmlr_disallow_replica'
LANGUAGE C VOLATILE;

REVOKE EXECUTE ON FUNCTION pgml_repl.create_replication_user(name, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgml_repl.allow_replica(text, name, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgml_repl.disallow_replica(text, name) FROM PUBLIC;
-- END replication_user_hba

-- ===================================================================
-- Archive and replication health
-- ===================================================================
-- BEGIN health
-- Status functions: run with the caller's privileges (not SECURITY DEFINER);
-- members of pg_monitor can read every view and directory they use.

CREATE FUNCTION pgml_repl.archive_status(
    OUT archive_mode text,
    OUT archive_command text,
    OUT wal_level text,
    OUT archived_count bigint,
    OUT last_archived_wal text,
    OUT last_archived_at timestamptz,
    OUT failed_count bigint,
    OUT last_failed_wal text,
    OUT last_failed_at timestamptz,
    OUT ready_count integer,
    OUT oldest_ready_wal text,
    OUT oldest_ready_age interval,
    OUT current_wal text,
    OUT status text,
    OUT detail text)
RETURNS record
AS 'MODULE_PATHNAME', 'pgmlr_archive_status'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgml_repl.archive_status() IS
'WAL archiving health: pg_stat_archiver, the .ready backlog and a status of ok, warning, error or disabled';

-- No standby connected on a primary: no row.
CREATE FUNCTION pgml_repl.replication_status()
RETURNS TABLE (
    role text,
    application_name text,
    client_addr inet,
    state text,
    sync_state text,
    sender_host text,
    sender_port integer,
    sent_lsn pg_lsn,
    write_lsn pg_lsn,
    flush_lsn pg_lsn,
    replay_lsn pg_lsn,
    lag_bytes bigint,
    replay_lag interval,
    replay_delay interval,
    status text,
    detail text)
AS 'MODULE_PATHNAME', 'pgmlr_replication_status'
LANGUAGE C VOLATILE ROWS 2;

COMMENT ON FUNCTION pgml_repl.replication_status() IS
'Streaming replication health: one row per standby on a primary, the WAL receiver on a standby';

REVOKE ALL ON FUNCTION pgml_repl.archive_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgml_repl.replication_status() FROM PUBLIC;
-- The status functions are reached through the schema.
GRANT USAGE ON SCHEMA pgml_repl TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgml_repl.archive_status() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgml_repl.replication_status() TO pg_monitor;
-- END health

-- ===================================================================
-- Operator toolkit: standby_setup, pgcat_config, pgbackrest_info
-- ===================================================================
-- BEGIN operator
-- END operator

-- ===================================================================
-- HuggingFace cache manifest
-- ===================================================================
-- BEGIN hf_cache
-- END hf_cache

-- ===================================================================
-- Prefetch worker: progress from shared memory
-- ===================================================================
-- BEGIN prefetch
CREATE FUNCTION pgml_repl.prefetch_status(
    OUT role text, OUT state text, OUT detail text, OUT worker_pid integer,
    OUT files_wanted bigint, OUT files_done bigint, OUT files_failed bigint,
    OUT bytes_wanted bigint, OUT bytes_done bigint, OUT bytes_failed bigint,
    OUT current_repo text, OUT current_path text,
    OUT current_bytes bigint, OUT current_total bigint,
    OUT throughput_bytes_per_sec double precision,
    OUT last_error text, OUT last_error_at timestamptz,
    OUT last_cycle_started_at timestamptz, OUT last_cycle_finished_at timestamptz,
    OUT next_cycle_at timestamptz, OUT cycles bigint, OUT queued_files integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgmlr_prefetch_status'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION pgml_repl.prefetch_queue(
    OUT repo text, OUT path text, OUT blob text, OUT size bigint,
    OUT attempts integer, OUT last_error text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgmlr_prefetch_queue'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION pgml_repl.prefetch_now()
RETURNS boolean
AS 'MODULE_PATHNAME', 'pgmlr_prefetch_now'
LANGUAGE C STRICT VOLATILE;

REVOKE EXECUTE ON FUNCTION pgml_repl.prefetch_status(), pgml_repl.prefetch_queue(),
    pgml_repl.prefetch_now() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgml_repl.prefetch_status(), pgml_repl.prefetch_queue(),
    pgml_repl.prefetch_now() TO pg_monitor;
-- END prefetch
