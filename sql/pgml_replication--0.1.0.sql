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
-- END health

-- ===================================================================
-- Operator toolkit: standby_setup, pgcat_config, pgbackrest_info
-- ===================================================================
-- BEGIN operator
CREATE FUNCTION pgml_repl.standby_setup(
    primary_host text,
    primary_port integer DEFAULT 5432,
    role_name name DEFAULT 'replication_user',
    stanza text DEFAULT 'main',
    data_directory text DEFAULT NULL,
    pgbackrest_config text DEFAULT NULL,
    application_name text DEFAULT NULL,
    copy_model_cache boolean DEFAULT false)
RETURNS text
LANGUAGE C STABLE CALLED ON NULL INPUT
AS 'MODULE_PATHNAME', 'pgmlr_fn_standby_setup';

COMMENT ON FUNCTION pgml_repl.standby_setup(text, integer, name, text, text, text, text, boolean) IS
'Bash steps that turn a host into a streaming replica of this primary (run them on the replica as the postgres OS user); nothing is executed by the server';

CREATE FUNCTION pgml_repl.pgcat_config(
    replicas text[] DEFAULT NULL,
    pool text DEFAULT 'postgresml',
    port integer DEFAULT 5432,
    primary_host text DEFAULT NULL,
    database text DEFAULT NULL,
    user_name text DEFAULT NULL)
RETURNS text
LANGUAGE C STABLE CALLED ON NULL INPUT
AS 'MODULE_PATHNAME', 'pgmlr_fn_pgcat_config';

COMMENT ON FUNCTION pgml_repl.pgcat_config(text[], text, integer, text, text, text) IS
'PgCat TOML pool block with this primary and its replicas (NULL replicas: the standbys connected now)';

CREATE FUNCTION pgml_repl.pgbackrest_info(
    stanza text DEFAULT 'main',
    pgbackrest_config text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C VOLATILE CALLED ON NULL INPUT
AS 'MODULE_PATHNAME', 'pgmlr_fn_pgbackrest_info';

COMMENT ON FUNCTION pgml_repl.pgbackrest_info(text, text) IS
'Output of "pgbackrest info --output=json" for a stanza (runs pgbackrest on the server: superuser or pg_execute_server_program)';

CREATE FUNCTION pgml_repl.pgbackrest_archive_max(
    stanza text DEFAULT 'main',
    pgbackrest_config text DEFAULT NULL)
RETURNS text
LANGUAGE C VOLATILE CALLED ON NULL INPUT
AS 'MODULE_PATHNAME', 'pgmlr_fn_pgbackrest_archive_max';

COMMENT ON FUNCTION pgml_repl.pgbackrest_archive_max(text, text) IS
'Newest WAL segment pgBackRest holds in the archive for the stanza''s current database, NULL if none';

-- The functions are reached through the schema (the health section grants
-- pg_monitor the same; granting twice is harmless).
GRANT USAGE ON SCHEMA pgml_repl TO pg_monitor, pg_execute_server_program;
-- The generated texts reveal no secret: monitoring roles may render them.
REVOKE ALL ON FUNCTION pgml_repl.standby_setup(text, integer, name, text, text, text, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgml_repl.pgcat_config(text[], text, integer, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgml_repl.standby_setup(text, integer, name, text, text, text, text, boolean) TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgml_repl.pgcat_config(text[], text, integer, text, text, text) TO pg_monitor;
-- Running pgbackrest is running a server program: EXECUTE is granted to
-- pg_execute_server_program, and the function checks that privilege itself
-- too (as COPY ... PROGRAM does), so a later GRANT to someone else is not
-- enough on its own.
REVOKE ALL ON FUNCTION pgml_repl.pgbackrest_info(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgml_repl.pgbackrest_archive_max(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgml_repl.pgbackrest_info(text, text) TO pg_execute_server_program;
GRANT EXECUTE ON FUNCTION pgml_repl.pgbackrest_archive_max(text, text) TO pg_execute_server_program;
-- END operator

-- ===================================================================
-- HuggingFace cache manifest
-- ===================================================================
-- BEGIN hf_cache
-- END hf_cache
