-- pgml_replication 0.4.0: install script
\echo Use "CREATE EXTENSION pgml_replication" to load this file. \quit

-- The control file sets schema = pgml_repl, so CREATE EXTENSION creates it.
-- Nothing here is granted to PUBLIC. Every function's EXECUTE is revoked
-- from PUBLIC; the roles that the sections grant functions to also need the
-- schema itself.
GRANT USAGE ON SCHEMA pgml_repl TO pg_monitor, pg_execute_server_program;

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
    OUT detail text,
    OUT pgbackrest_archive_max text,
    OUT pgbackrest_in_sync boolean)
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
GRANT EXECUTE ON FUNCTION pgml_repl.archive_status() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgml_repl.replication_status() TO pg_monitor;
-- END health

-- ===================================================================
-- Operator toolkit: standby_setup, pgcat_config, pgbackrest_info
-- ===================================================================
-- BEGIN operator
CREATE FUNCTION pgml_repl.standby_setup(
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

CREATE FUNCTION pgml_repl.pgcat_config(
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
-- Doctor: check() and check_summary()
-- ===================================================================
-- BEGIN doctor
-- One row per check of this node (primary or standby checks), each with a
-- status of ok, warning, error or skipped, the measured value and a hint
-- naming what to run. Runs with the caller's privileges; what needs
-- superuser is reported as skipped for others.
CREATE FUNCTION pgml_repl.check()
RETURNS TABLE(check_name text, status text, detail text, hint text)
AS 'MODULE_PATHNAME', 'pgmlr_check'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 9;
COMMENT ON FUNCTION pgml_repl.check() IS
'Checks this node''s replication and PostgresML cache set-up: one row per check with status, detail and a hint';

-- One row for monitoring: Nagios exit code 0 ok, 1 warning, 2 error, 3 unknown.
CREATE FUNCTION pgml_repl.check_summary()
RETURNS TABLE(status text, exit_code integer, errors integer, warnings integer, detail text)
AS 'MODULE_PATHNAME', 'pgmlr_check_summary'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1;
COMMENT ON FUNCTION pgml_repl.check_summary() IS
'Overall status of pgml_repl.check() with a Nagios-style exit code and the names of the checks that are not ok';

REVOKE ALL ON FUNCTION pgml_repl.check() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgml_repl.check_summary() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgml_repl.check() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgml_repl.check_summary() TO pg_monitor;
-- END doctor

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

CREATE TABLE pgml_repl.hf_manifest (
    repo_type    text        NOT NULL,
    repo_id      text        NOT NULL,
    revision     text        NOT NULL,
    refs         text[]      NOT NULL DEFAULT '{}',
    path         text        NOT NULL,
    blob         text        NOT NULL,
    size         bigint      NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repo_type, repo_id, revision, path),
    CONSTRAINT hf_manifest_repo_type_known CHECK (repo_type IN ('model', 'dataset', 'space')),
    CONSTRAINT hf_manifest_repo_id_hub_rules CHECK (pgml_repl.hf_repo_id_problem(repo_id) IS NULL),
    CONSTRAINT hf_manifest_revision_is_commit CHECK (pgml_repl.hf_revision_problem(revision) IS NULL),
    CONSTRAINT hf_manifest_refs_git_rules CHECK (pgml_repl.hf_refs_problem(refs) IS NULL),
    CONSTRAINT hf_manifest_path_hub_rules CHECK (pgml_repl.hf_path_problem(path) IS NULL),
    CONSTRAINT hf_manifest_blob_is_hash CHECK (pgml_repl.hf_blob_problem(blob) IS NULL),
    CONSTRAINT hf_manifest_size_range CHECK (size BETWEEN 0 AND 4398046511104)
);
COMMENT ON TABLE pgml_repl.hf_manifest IS
  'the primary''s HuggingFace cache as published by publish_hf_manifest(); replicas fetch what it lists';
SELECT pg_catalog.pg_extension_config_dump('pgml_repl.hf_manifest', '');
REVOKE ALL ON pgml_repl.hf_manifest FROM PUBLIC;
GRANT SELECT ON pgml_repl.hf_manifest TO pg_monitor;

CREATE FUNCTION pgml_repl.publish_hf_manifest(cache_dir text DEFAULT NULL)
RETURNS TABLE(added integer, removed integer, unchanged integer, refused integer)
AS 'MODULE_PATHNAME', 'pgmlr_publish_hf_manifest'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pgml_repl.publish_hf_manifest(text) IS
  'replaces pgml_repl.hf_manifest with the healthy files of the HuggingFace cache, writing only changed rows; entries whose names break the Hub''s rules are refused and named in a WARNING';

REVOKE EXECUTE ON FUNCTION pgml_repl.hf_cache_manifest(text, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgml_repl.hf_cache_repos(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgml_repl.publish_hf_manifest(text) FROM PUBLIC;
-- END hf_cache

-- ===================================================================
-- Prefetch worker: progress from shared memory
-- ===================================================================
-- BEGIN prefetch
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

-- Files not yet in the cache (status pending, downloading, retrying,
-- failed, or held back by the quarantine with the reason in last_error and
-- the next try at next_try_at) and manifest rows the worker refused (status
-- refused, with the reason in last_error).
CREATE FUNCTION pgml_repl.prefetch_queue(
    OUT repo text, OUT path text, OUT blob text, OUT size bigint,
    OUT attempts integer, OUT last_error text, OUT status text, OUT revision text,
    OUT next_try_at timestamptz, OUT source text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgmlr_prefetch_queue'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION pgml_repl.prefetch_now()
RETURNS boolean
AS 'MODULE_PATHNAME', 'pgmlr_prefetch_now'
LANGUAGE C STRICT VOLATILE;

REVOKE EXECUTE ON FUNCTION pgml_repl.prefetch_status(), pgml_repl.prefetch_queue(),
    pgml_repl.prefetch_now() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgml_repl.prefetch_status(), pgml_repl.prefetch_queue(),
    pgml_repl.prefetch_now() TO pg_monitor;
-- END prefetch

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
