-- pgml_replication 0.1.0: install script
\echo Use "CREATE EXTENSION pgml_replication" to load this file. \quit

-- The control file sets schema = pgml_repl, so CREATE EXTENSION creates it.
-- Nothing here is granted to PUBLIC unless a section says so.

-- ===================================================================
-- configure_primary: archive and WAL settings in postgresql.auto.conf
-- ===================================================================
-- BEGIN auto_conf
-- END auto_conf

-- ===================================================================
-- Replication role and pg_hba.conf rules
-- ===================================================================
-- BEGIN replication_user_hba
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
-- HuggingFace cache manifest
-- ===================================================================
-- BEGIN hf_cache
-- END hf_cache
