-- pgml_replication 0.2.0 -> 0.3.0: upgrade script
\echo Use "ALTER EXTENSION pgml_replication UPDATE TO '0.3.0'" to load this file. \quit

-- Exactly the difference between sql/pgml_replication--0.2.0.sql and
-- sql/pgml_replication--0.3.0.sql; test/cluster/t/005_upgrade_path.pl
-- checks that both paths give the same objects. 0.3.0 adds objects and
-- recreates prefetch_status() and prefetch_queue() with new columns.

-- ===================================================================
-- Serving blobs to replicas that fetch from this server (issue 12)
-- ===================================================================
-- BEGIN blob_serving
-- A byte range of a blob that this server's hf_manifest lists and its cache
-- holds complete. Not SECURITY DEFINER: it reads the manifest with the
-- caller's privileges. Never granted to PUBLIC; create_replication_user()
-- and allow_blob_fetch() grant it (with SELECT on hf_manifest and USAGE on
-- the schema) to a replication role. Read-only, so a standby serves too.
CREATE FUNCTION pgml_repl.hf_blob_read(blob text, "offset" bigint, length integer)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgmlr_hf_blob_read'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pgml_repl.hf_blob_read(text, bigint, integer) IS
'Bytes offset .. offset + length - 1 (at most 64 MiB) of a blob that this server''s hf_manifest lists and its cache holds complete, for replicas fetching from this server; pgml_replication.max_blob_readers limits concurrent readers';
REVOKE ALL ON FUNCTION pgml_repl.hf_blob_read(text, bigint, integer) FROM PUBLIC;

-- The same range, under the same checks and the same reader slot, as rows of
-- at most 256 KiB that stream when the function is called in a SELECT list:
-- what a replica's worker uses (libpq's single-row mode), so neither side
-- holds more than a row. Granted with hf_blob_read.
CREATE FUNCTION pgml_repl.hf_blob_read_rows(blob text, "offset" bigint, length integer)
RETURNS SETOF bytea
AS 'MODULE_PATHNAME', 'pgmlr_hf_blob_read_rows'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE ROWS 256;
COMMENT ON FUNCTION pgml_repl.hf_blob_read_rows(text, bigint, integer) IS
'hf_blob_read() as rows of at most 256 KiB, in order, that stream when called in a SELECT list (SELECT pgml_repl.hf_blob_read_rows(...)); the same checks and reader limit';
REVOKE ALL ON FUNCTION pgml_repl.hf_blob_read_rows(text, bigint, integer) FROM PUBLIC;

-- What huggingface_hub wrote besides blobs, snapshots and refs (issue 12,
-- "the whole cache as the client sees it"): trees/<commit>.json and the
-- .no_exist/<commit>/<path> markers of every repo hf_manifest lists, for
-- replicas fetching from this server. Not SECURITY DEFINER: it reads the
-- manifest with the caller's privileges. Never granted to PUBLIC;
-- create_replication_user() and allow_blob_fetch() grant it with
-- hf_blob_read. Read-only, so a standby serves too.
CREATE FUNCTION pgml_repl.hf_cache_extras()
RETURNS TABLE(repo_type text, repo_id text, kind text, name text, content bytea)
AS 'MODULE_PATHNAME', 'pgmlr_hf_cache_extras'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pgml_repl.hf_cache_extras() IS
'The trees/<commit>.json files (kind tree, their bytes; over 16 MiB skipped with a WARNING) and .no_exist/<commit>/<path> markers (kind no_exist, content NULL) of every repo this server''s hf_manifest lists, for replicas fetching from this server';
REVOKE ALL ON FUNCTION pgml_repl.hf_cache_extras() FROM PUBLIC;

-- What a role needs to fetch blobs from this server: EXECUTE on
-- hf_blob_read, hf_blob_read_rows and hf_cache_extras, SELECT on hf_manifest, USAGE on the schema, and (address
-- given) a marked "host <pgml_replication.database> <role> <address>
-- scram-sha-256" line in pg_hba.conf, written at COMMIT. disallow_blob_fetch
-- revokes the EXECUTEs and SELECT and (address given) removes that line.
CREATE FUNCTION pgml_repl.allow_blob_fetch(
    address   text DEFAULT NULL,
    role_name name DEFAULT 'replication_user')
RETURNS TABLE(hba_rule text, changed boolean)
AS 'MODULE_PATHNAME', 'pgmlr_allow_blob_fetch'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgml_repl.allow_blob_fetch(text, name) IS
'Lets a role fetch blobs from this server: EXECUTE on hf_blob_read, hf_blob_read_rows and hf_cache_extras, SELECT on hf_manifest, USAGE on pgml_repl and, with an address, a pg_hba.conf line for pgml_replication.database';

CREATE FUNCTION pgml_repl.disallow_blob_fetch(
    address   text DEFAULT NULL,
    role_name name DEFAULT 'replication_user')
RETURNS TABLE(hba_rule text, changed boolean)
AS 'MODULE_PATHNAME', 'pgmlr_disallow_blob_fetch'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pgml_repl.disallow_blob_fetch(text, name) IS
'Undoes allow_blob_fetch(): revokes EXECUTE on hf_blob_read, hf_blob_read_rows and hf_cache_extras and SELECT on hf_manifest and, with an address, removes the pg_hba.conf line';

REVOKE EXECUTE ON FUNCTION pgml_repl.allow_blob_fetch(text, name) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgml_repl.disallow_blob_fetch(text, name) FROM PUBLIC;
-- END blob_serving

-- ===================================================================
-- Where a standby fetched from (issue 12): prefetch_status() gains
-- bytes_from_upstream and bytes_from_hub, prefetch_queue() gains source.
-- ===================================================================
DO $grants$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT f.sig AS fn, quote_ident(a.grantee::regrole::text) AS grantee
        FROM (VALUES ('pgml_repl.prefetch_status()'), ('pgml_repl.prefetch_queue()')) AS f(sig)
        JOIN pg_proc p ON p.oid = f.sig::regprocedure
        CROSS JOIN LATERAL aclexplode(p.proacl) a
        WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner AND a.grantee <> 0
          AND a.grantee::regrole::text <> 'pg_monitor'
    LOOP
        RAISE WARNING 'pgml_replication 0.3.0 recreates %: its EXECUTE grant to % is dropped', g.fn, g.grantee
            USING HINT = format('After the upgrade: GRANT EXECUTE ON FUNCTION %s TO %s;', g.fn, g.grantee);
    END LOOP;
END
$grants$;

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
    OUT refused_rows bigint, OUT paused_until timestamptz,
    OUT bytes_from_upstream bigint, OUT bytes_from_hub bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgmlr_prefetch_status'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION pgml_repl.prefetch_queue(
    OUT repo text, OUT path text, OUT blob text, OUT size bigint,
    OUT attempts integer, OUT last_error text, OUT status text, OUT revision text,
    OUT next_try_at timestamptz, OUT source text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgmlr_prefetch_queue'
LANGUAGE C STRICT VOLATILE;

REVOKE EXECUTE ON FUNCTION pgml_repl.prefetch_status(), pgml_repl.prefetch_queue() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgml_repl.prefetch_status(), pgml_repl.prefetch_queue() TO pg_monitor;
