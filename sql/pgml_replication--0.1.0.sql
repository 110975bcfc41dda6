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
-- END replication_user_hba

-- ===================================================================
-- Archive and replication health
-- ===================================================================
-- BEGIN health
-- END health

-- ===================================================================
-- HuggingFace cache manifest
-- ===================================================================
-- BEGIN hf_cache
-- END hf_cache
