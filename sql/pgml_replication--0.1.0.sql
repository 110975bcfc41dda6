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
-- END operator

-- ===================================================================
-- HuggingFace cache manifest
-- ===================================================================
-- BEGIN hf_cache
-- END hf_cache
