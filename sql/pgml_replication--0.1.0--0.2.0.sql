-- pgml_replication 0.1.0 -> 0.2.0: upgrade script
\echo Use "ALTER EXTENSION pgml_replication UPDATE TO '0.2.0'" to load this file. \quit

-- Exactly the difference between sql/pgml_replication--0.1.0.sql and
-- sql/pgml_replication--0.2.0.sql; test/cluster/t/005_upgrade_path.pl
-- checks that both paths give the same objects.

-- Operator safety (issue 15): standby_setup() and pgcat_config() default to
-- this server's own port (NULL, read by the C code: a SQL default cannot
-- read a setting). CREATE OR REPLACE keeps the grants; the comments change.
CREATE OR REPLACE FUNCTION pgml_repl.standby_setup(
    primary_host text,
    primary_port integer DEFAULT NULL,
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
'Bash script that turns a host into a streaming replica of this primary, checking everything before it changes anything (run it on the replica as the postgres OS user); primary_port NULL: this server''s port; data_directory is required';

CREATE OR REPLACE FUNCTION pgml_repl.pgcat_config(
    replicas text[] DEFAULT NULL,
    pool text DEFAULT 'postgresml',
    port integer DEFAULT NULL,
    primary_host text DEFAULT NULL,
    database text DEFAULT NULL,
    user_name text DEFAULT NULL)
RETURNS text
LANGUAGE C STABLE CALLED ON NULL INPUT
AS 'MODULE_PATHNAME', 'pgmlr_fn_pgcat_config';

COMMENT ON FUNCTION pgml_repl.pgcat_config(text[], text, integer, text, text, text) IS
'PgCat TOML pool block with this primary and its replicas (NULL replicas: every standby connected now; NULL port: this server''s port)';
