-- pgml_replication 0.3.0 -> 0.4.0: upgrade script
\echo Use "ALTER EXTENSION pgml_replication UPDATE TO '0.4.0'" to load this file. \quit

-- Exactly the difference between sql/pgml_replication--0.3.0.sql and
-- sql/pgml_replication--0.4.0.sql; test/cluster/t/005_upgrade_path.pl
-- checks that both paths give the same objects. 0.4.0 only adds objects.

-- ===================================================================
-- Models declared in SQL (issue 16): the primary's worker fetches what
-- wanted_models lists from the Hub; the table replicates like any other.
-- ===================================================================
-- BEGIN models
-- NULL when want_model() would accept the row, else the reason: the same
-- rules (src/core/hf_fetch/model_request.cpp) in the table's CHECK, so a row
-- written by hand obeys them too. Pure, so EXECUTE is granted to PUBLIC like
-- the hf_*_problem() functions: a CHECK runs with the writer's privileges.
CREATE FUNCTION pgml_repl.hf_model_request_problem(
    repo_type text, repo_id text, revision text, allow_patterns text[], ignore_patterns text[])
RETURNS text
AS 'MODULE_PATHNAME', 'pgmlr_hf_model_request_problem'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgml_repl.hf_model_request_problem(text, text, text, text[], text[]) IS
  'NULL for a wanted model want_model() accepts (the Hub''s repo type, id and git ref rules; patterns not empty, no control characters, at most 1024 bytes, at most 256 per list, no NULL element, allow list not empty), else the reason';
GRANT EXECUTE ON FUNCTION pgml_repl.hf_model_request_problem(text, text, text, text[], text[]) TO PUBLIC;

CREATE TABLE pgml_repl.wanted_models (
    repo_type       text        NOT NULL,
    repo_id         text        NOT NULL,
    revision        text        NOT NULL,
    allow_patterns  text[],
    ignore_patterns text[],
    wanted_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repo_type, repo_id, revision),
    CONSTRAINT wanted_models_repo_type_known CHECK (repo_type IN ('model', 'dataset', 'space')),
    CONSTRAINT wanted_models_repo_id_hub_rules CHECK (pgml_repl.hf_repo_id_problem(repo_id) IS NULL),
    CONSTRAINT wanted_models_revision_git_rules CHECK (pgml_repl.hf_refs_problem(ARRAY[revision]) IS NULL),
    CONSTRAINT wanted_models_request_rules CHECK (
        pgml_repl.hf_model_request_problem(repo_type, repo_id, revision, allow_patterns, ignore_patterns) IS NULL)
);
COMMENT ON TABLE pgml_repl.wanted_models IS
  'models the primary''s worker fetches from the Hub (want_model(), unwant_model()); allow_patterns NULL means every file; replicates and is dumped with the extension''s configuration';
SELECT pg_catalog.pg_extension_config_dump('pgml_repl.wanted_models', '');
REVOKE ALL ON pgml_repl.wanted_models FROM PUBLIC;
GRANT SELECT ON pgml_repl.wanted_models TO pg_monitor;

-- Plain transactional writes, checked at once and without any network call:
-- a ROLLBACK wants nothing, a migration tool's transaction works. SECURITY
-- DEFINER so a role needs neither superuser nor rights on the table:
--   GRANT USAGE ON SCHEMA pgml_repl TO deployer;
--   GRANT EXECUTE ON FUNCTION pgml_repl.want_model(text, text, text, text[], text[]),
--                             pgml_repl.unwant_model(text, text, text) TO deployer;
CREATE FUNCTION pgml_repl.want_model(
    repo_id         text,
    revision        text   DEFAULT 'main',
    repo_type       text   DEFAULT 'model',
    allow_patterns  text[] DEFAULT NULL,
    ignore_patterns text[] DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'pgmlr_want_model'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgml_repl.want_model(text, text, text, text[], text[]) IS
  'records a model for the primary''s worker to fetch into the HuggingFace cache (a row of wanted_models, in this transaction; no network call); wanting it again replaces its patterns and keeps wanted_at';

CREATE FUNCTION pgml_repl.unwant_model(
    repo_id   text,
    revision  text DEFAULT 'main',
    repo_type text DEFAULT 'model')
RETURNS boolean
AS 'MODULE_PATHNAME', 'pgmlr_unwant_model'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgml_repl.unwant_model(text, text, text) IS
  'removes a model from wanted_models (true), or says with a NOTICE that it was not wanted (false); never deletes files from the HuggingFace cache';

REVOKE EXECUTE ON FUNCTION pgml_repl.want_model(text, text, text, text[], text[]),
    pgml_repl.unwant_model(text, text, text) FROM PUBLIC;

-- What the worker knows of each wanted model (shared memory, filled by the
-- primary's worker): the commit its revision resolved to, files and bytes
-- wanted and present, and the Hub's answer when it refused.
CREATE FUNCTION pgml_repl.model_status(
    OUT repo_type text, OUT repo_id text, OUT revision text, OUT commit text,
    OUT files_wanted bigint, OUT files_present bigint,
    OUT bytes_wanted bigint, OUT bytes_present bigint,
    OUT state text, OUT detail text, OUT checked_at timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgmlr_model_status'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION pgml_repl.model_status() IS
  'one row per wanted model: the commit its revision resolved to, files and bytes wanted and present in the HuggingFace cache, and the state of the worker''s last check (with the Hub''s refusal in detail)';
REVOKE EXECUTE ON FUNCTION pgml_repl.model_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgml_repl.model_status() TO pg_monitor;
-- END models
