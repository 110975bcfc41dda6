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

-- ===================================================================
-- hf_manifest: the Hub's rules for names, in CHECK constraints
-- ===================================================================
-- The Hub's rules for the manifest's names (src/core/hf_cache/names.hpp): NULL when
-- the value follows them, else the reason. The CHECK constraints below, the
-- publisher and the replica's worker all use these same rules. They are pure
-- functions of their argument, and a CHECK runs its functions with the
-- inserting role's privileges, so EXECUTE is granted to PUBLIC: a role given
-- INSERT on the table can use it.
CREATE FUNCTION pgml_repl.hf_repo_id_problem(repo_id text) RETURNS text
AS 'MODULE_PATHNAME', 'pgmlr_hf_repo_id_problem'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgml_repl.hf_repo_id_problem(text) IS
  'NULL for a repo id the Hub accepts (huggingface_hub validate_repo_id, ASCII), else the reason';
CREATE FUNCTION pgml_repl.hf_revision_problem(revision text) RETURNS text
AS 'MODULE_PATHNAME', 'pgmlr_hf_revision_problem'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgml_repl.hf_revision_problem(text) IS
  'NULL for a 40-character lower-case hex commit id, else the reason';
CREATE FUNCTION pgml_repl.hf_refs_problem(refs text[]) RETURNS text
AS 'MODULE_PATHNAME', 'pgmlr_hf_refs_problem'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgml_repl.hf_refs_problem(text[]) IS
  'NULL when every ref is a valid git ref name (main, v1.0, refs/pr/1), else the first reason';
CREATE FUNCTION pgml_repl.hf_path_problem(path text) RETURNS text
AS 'MODULE_PATHNAME', 'pgmlr_hf_path_problem'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgml_repl.hf_path_problem(text) IS
  'NULL for a relative file path a Hub repo can hold, else the reason';
CREATE FUNCTION pgml_repl.hf_blob_problem(blob text) RETURNS text
AS 'MODULE_PATHNAME', 'pgmlr_hf_blob_problem'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pgml_repl.hf_blob_problem(text) IS
  'NULL for a blob name (40 or 64 lower-case hex characters), else the reason';
GRANT EXECUTE ON FUNCTION pgml_repl.hf_repo_id_problem(text), pgml_repl.hf_revision_problem(text),
    pgml_repl.hf_refs_problem(text[]), pgml_repl.hf_path_problem(text), pgml_repl.hf_blob_problem(text)
    TO PUBLIC;

-- Rows that break the rules could never be fetched (the 0.2.0 worker
-- refuses them) and publish_hf_manifest() never writes them again: they are
-- deleted, each named in a WARNING (an extension script shows nothing
-- below WARNING), so the constraints can be validated at once and no DBA is
-- left with an upgrade that fails on old data.
DO $upgrade$
DECLARE
    r record;
    n bigint := 0;
BEGIN
    FOR r IN
        DELETE FROM pgml_repl.hf_manifest m
        WHERE m.repo_type NOT IN ('model', 'dataset', 'space')
           OR pgml_repl.hf_repo_id_problem(m.repo_id) IS NOT NULL
           OR pgml_repl.hf_revision_problem(m.revision) IS NOT NULL
           OR pgml_repl.hf_refs_problem(m.refs) IS NOT NULL
           OR pgml_repl.hf_path_problem(m.path) IS NOT NULL
           OR pgml_repl.hf_blob_problem(m.blob) IS NOT NULL
           OR m.size NOT BETWEEN 0 AND 4398046511104
        RETURNING m.repo_type, m.repo_id, m.revision, m.path,
            coalesce(pgml_repl.hf_repo_id_problem(m.repo_id), pgml_repl.hf_revision_problem(m.revision),
                     pgml_repl.hf_refs_problem(m.refs), pgml_repl.hf_path_problem(m.path),
                     pgml_repl.hf_blob_problem(m.blob),
                     CASE WHEN m.repo_type NOT IN ('model', 'dataset', 'space') THEN 'repo_type is unknown' END,
                     'size is out of range') AS reason
    LOOP
        n := n + 1;
        IF n <= 100 THEN
            RAISE WARNING 'pgml_replication 0.2.0: deleted manifest row % % revision % path %: %',
                r.repo_type, quote_literal(r.repo_id), quote_literal(r.revision), quote_literal(r.path), r.reason;
        END IF;
    END LOOP;
    IF n > 0 THEN
        RAISE WARNING 'pgml_replication 0.2.0: deleted % manifest rows whose names break the Hub''s rules', n
            USING HINT = 'No replica could fetch them. SELECT * FROM pgml_repl.publish_hf_manifest(); '
                         'republishes the cache; its WARNING names cache entries it refuses.';
    END IF;
END
$upgrade$;

ALTER TABLE pgml_repl.hf_manifest
    DROP CONSTRAINT hf_manifest_repo_type_check,
    DROP CONSTRAINT hf_manifest_repo_id_check,
    DROP CONSTRAINT hf_manifest_revision_check,
    DROP CONSTRAINT hf_manifest_path_check,
    DROP CONSTRAINT hf_manifest_blob_check,
    DROP CONSTRAINT hf_manifest_size_check,
    ADD CONSTRAINT hf_manifest_repo_type_known CHECK (repo_type IN ('model', 'dataset', 'space')),
    ADD CONSTRAINT hf_manifest_repo_id_hub_rules CHECK (pgml_repl.hf_repo_id_problem(repo_id) IS NULL),
    ADD CONSTRAINT hf_manifest_revision_is_commit CHECK (pgml_repl.hf_revision_problem(revision) IS NULL),
    ADD CONSTRAINT hf_manifest_refs_git_rules CHECK (pgml_repl.hf_refs_problem(refs) IS NULL),
    ADD CONSTRAINT hf_manifest_path_hub_rules CHECK (pgml_repl.hf_path_problem(path) IS NULL),
    ADD CONSTRAINT hf_manifest_blob_is_hash CHECK (pgml_repl.hf_blob_problem(blob) IS NULL),
    ADD CONSTRAINT hf_manifest_size_range CHECK (size BETWEEN 0 AND 4398046511104);

-- ===================================================================
-- Functions whose result columns change: dropped and created again
-- ===================================================================
-- A DROP takes the function's privileges with it. The script grants again
-- what the install script grants; anything a DBA granted besides is named
-- here so it can be granted again after the upgrade.
DO $grants$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT f.sig AS fn,
               CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(a.grantee::regrole::text) END AS grantee
        FROM (VALUES ('pgml_repl.publish_hf_manifest(text)', NULL),
                     ('pgml_repl.prefetch_status()', 'pg_monitor'),
                     ('pgml_repl.prefetch_queue()', 'pg_monitor')) AS f(sig, default_grantee)
        JOIN pg_proc p ON p.oid = f.sig::regprocedure
        CROSS JOIN LATERAL aclexplode(p.proacl) a
        WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner
          AND a.grantee::regrole::text IS DISTINCT FROM f.default_grantee
    LOOP
        RAISE WARNING 'pgml_replication 0.2.0 recreates %: its EXECUTE grant to % is dropped', g.fn, g.grantee
            USING HINT = format('After the upgrade: GRANT EXECUTE ON FUNCTION %s TO %s;', g.fn, g.grantee);
    END LOOP;
END
$grants$;

-- publish_hf_manifest() also returns how many entries it refused.
DROP FUNCTION pgml_repl.publish_hf_manifest(text);
CREATE FUNCTION pgml_repl.publish_hf_manifest(cache_dir text DEFAULT NULL)
RETURNS TABLE(added integer, removed integer, unchanged integer, refused integer)
AS 'MODULE_PATHNAME', 'pgmlr_publish_hf_manifest'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pgml_repl.publish_hf_manifest(text) IS
  'replaces pgml_repl.hf_manifest with the healthy files of the HuggingFace cache, writing only changed rows; entries whose names break the Hub''s rules are refused and named in a WARNING';
REVOKE EXECUTE ON FUNCTION pgml_repl.publish_hf_manifest(text) FROM PUBLIC;

-- prefetch_status() gains refused_rows and paused_until (the Hub's rate
-- limit); prefetch_queue() gains status, revision and next_try_at and lists
-- refused manifest rows and held files.
DROP FUNCTION pgml_repl.prefetch_status();
DROP FUNCTION pgml_repl.prefetch_queue();
CREATE FUNCTION pgml_repl.prefetch_status(
    OUT role text, OUT state text, OUT detail text, OUT worker_pid integer,
    OUT files_wanted bigint, OUT files_done bigint, OUT files_failed bigint,
    OUT bytes_wanted bigint, OUT bytes_done bigint, OUT bytes_failed bigint,
    OUT current_repo text, OUT current_path text,
    OUT current_bytes bigint, OUT current_total bigint,
    OUT throughput_bytes_per_sec double precision,
    OUT last_error text, OUT last_error_at timestamptz,
    OUT last_cycle_started_at timestamptz, OUT last_cycle_finished_at timestamptz,
    OUT next_cycle_at timestamptz, OUT cycles bigint, OUT queued_files integer,
    OUT refused_rows bigint, OUT paused_until timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgmlr_prefetch_status'
LANGUAGE C STRICT VOLATILE;

-- Files not yet in the cache (status pending, downloading, retrying,
-- failed, or held back by the quarantine with the reason in last_error and
-- the next try at next_try_at) and manifest rows the worker refused (status
-- refused, with the reason in last_error).
CREATE FUNCTION pgml_repl.prefetch_queue(
    OUT repo text, OUT path text, OUT blob text, OUT size bigint,
    OUT attempts integer, OUT last_error text, OUT status text, OUT revision text,
    OUT next_try_at timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgmlr_prefetch_queue'
LANGUAGE C STRICT VOLATILE;

REVOKE EXECUTE ON FUNCTION pgml_repl.prefetch_status(), pgml_repl.prefetch_queue() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgml_repl.prefetch_status(), pgml_repl.prefetch_queue() TO pg_monitor;
