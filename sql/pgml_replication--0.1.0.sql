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
-- HuggingFace cache manifest
-- ===================================================================
-- BEGIN hf_cache
-- The primary describes its HuggingFace cache (outside the WAL) in a table
-- (inside the WAL), so every replica learns exactly what to fetch.

CREATE FUNCTION pgml_repl.hf_cache_manifest(cache_dir text DEFAULT NULL, verify boolean DEFAULT false)
RETURNS TABLE(repo_type text, repo_id text, revision text, refs text[], path text,
              blob text, size bigint, status text, verified boolean)
AS 'MODULE_PATHNAME', 'pgmlr_hf_cache_manifest'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pgml_repl.hf_cache_manifest(text, boolean) IS
  'one row per file of every snapshot in the HuggingFace cache; verify => true hashes every blob';

CREATE FUNCTION pgml_repl.hf_cache_repos(cache_dir text DEFAULT NULL)
RETURNS TABLE(repo_type text, repo_id text, revisions integer, files integer,
              size_on_disk bigint, last_modified timestamptz, refs text[])
AS 'MODULE_PATHNAME', 'pgmlr_hf_cache_repos'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pgml_repl.hf_cache_repos(text) IS
  'one row per repo of the HuggingFace cache, like huggingface-cli scan-cache';

CREATE TABLE pgml_repl.hf_manifest (
    repo_type    text        NOT NULL CHECK (repo_type IN ('model', 'dataset', 'space')),
    repo_id      text        NOT NULL CHECK (repo_id <> ''),
    revision     text        NOT NULL CHECK (revision ~ '^[0-9a-f]{40}$'),
    refs         text[]      NOT NULL DEFAULT '{}',
    path         text        NOT NULL CHECK (path <> '' AND path !~ '(^/|(^|/)\.\.(/|$))'),
    blob         text        NOT NULL CHECK (blob ~ '^([0-9a-f]{40}|[0-9a-f]{64})$'),
    size         bigint      NOT NULL CHECK (size >= 0),
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repo_type, repo_id, revision, path)
);
COMMENT ON TABLE pgml_repl.hf_manifest IS
  'the primary''s HuggingFace cache as published by publish_hf_manifest(); replicas fetch what it lists';
SELECT pg_catalog.pg_extension_config_dump('pgml_repl.hf_manifest', '');
REVOKE ALL ON pgml_repl.hf_manifest FROM PUBLIC;
GRANT SELECT ON pgml_repl.hf_manifest TO pg_monitor;

CREATE FUNCTION pgml_repl.publish_hf_manifest(cache_dir text DEFAULT NULL)
RETURNS TABLE(added integer, removed integer, unchanged integer)
AS 'MODULE_PATHNAME', 'pgmlr_publish_hf_manifest'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pgml_repl.publish_hf_manifest(text) IS
  'replaces pgml_repl.hf_manifest with the healthy files of the HuggingFace cache, writing only changed rows';

REVOKE EXECUTE ON FUNCTION pgml_repl.hf_cache_manifest(text, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgml_repl.hf_cache_repos(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgml_repl.publish_hf_manifest(text) FROM PUBLIC;
-- END hf_cache
