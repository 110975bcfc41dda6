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
-- END health

-- ===================================================================
-- HuggingFace cache manifest
-- ===================================================================
-- BEGIN hf_cache
-- END hf_cache
