-- The privilege matrix: who may run what, read which setting, touch which
-- table. Every function of schema pgml_repl is enumerated from pg_proc, so a
-- new function without a row in the matrix below fails the first test.
--
-- Roles (created here, gone at the ROLLBACK): a plain role, a pg_monitor
-- member, a pg_execute_server_program member and a superuser.
--
-- The C-level checks behind the grants (a superuser check even after GRANT
-- EXECUTE, the pg_execute_server_program check of pgbackrest_*) are tested
-- in 10_configure_primary, 20_replication_user, 21_hba_rules and 50_operator.
--
-- pgml_replication.hf_token is PGC_SIGHUP: it is set with ALTER SYSTEM and a
-- reload before the transaction, and reset (the scratch cluster has none)
-- after it.
LOAD 'pgml_replication';  -- defines the settings in this backend
\o /dev/null
ALTER SYSTEM SET pgml_replication.hf_token = 'hf_pgmlrMatrixSecret42';
SELECT pg_reload_conf();
-- Wait (bounded: 600 x 0.1 s) until this backend has applied the reload:
-- each generated statement is a command of its own, and a backend handles
-- a SIGHUP between commands.
SELECT $$SELECT pg_sleep(0.1) FROM pg_settings WHERE name = 'pgml_replication.hf_token'
         AND source IS DISTINCT FROM 'configuration file'$$ FROM generate_series(1, 600) \gexec
\o

BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(291);

CREATE ROLE pgmlr_pm_plain;
CREATE ROLE pgmlr_pm_monitor IN ROLE pg_monitor;
CREATE ROLE pgmlr_pm_execprog IN ROLE pg_execute_server_program;
CREATE ROLE pgmlr_pm_super SUPERUSER;

CREATE TEMP TABLE roles(role name, col text, ord int);
INSERT INTO roles VALUES ('pgmlr_pm_plain', 'plain', 1), ('pgmlr_pm_monitor', 'monitor', 2),
    ('pgmlr_pm_execprog', 'execprog', 3), ('pgmlr_pm_super', 'super', 4);

-- SQLSTATE of q run as role r ('ok' when it succeeds; its effects are rolled
-- back either way).
CREATE FUNCTION pg_temp.sqlstate_as(r name, q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    st text;
BEGIN
    BEGIN
        EXECUTE format('SET LOCAL ROLE %I', r);
        EXECUTE q;
        RAISE SQLSTATE 'PGMLR';
    EXCEPTION WHEN OTHERS THEN
        st := SQLSTATE;
    END;
    RETURN CASE st WHEN 'PGMLR' THEN 'ok' ELSE st END;
END
$f$;

-- ------------------------------------------------------------------
-- Functions: the documented expectation (README, docs/*.md)
-- ------------------------------------------------------------------
CREATE TEMP TABLE matrix(fn text PRIMARY KEY, plain bool, monitor bool, execprog bool, super bool, call text);
INSERT INTO matrix VALUES
 ('configure_primary(text, text, integer, text)',          false, false, false, true,
  'SELECT * FROM pgml_repl.configure_primary()'),
 ('create_replication_user(name, text, text)',             false, false, false, true,
  'SELECT * FROM pgml_repl.create_replication_user(''pgmlr_pm_x'')'),
 ('allow_replica(text, name, text)',                       false, false, false, true,
  'SELECT * FROM pgml_repl.allow_replica(''10.9.8.7'')'),
 ('disallow_replica(text, name)',                          false, false, false, true,
  'SELECT * FROM pgml_repl.disallow_replica(''10.9.8.7'')'),
 ('allow_blob_fetch(text, name)',                          false, false, false, true,
  'SELECT * FROM pgml_repl.allow_blob_fetch(role_name => ''pgmlr_pm_none'')'),
 ('disallow_blob_fetch(text, name)',                       false, false, false, true,
  'SELECT * FROM pgml_repl.disallow_blob_fetch(role_name => ''pgmlr_pm_none'')'),
 ('hf_blob_read(text, bigint, integer)',                   false, false, false, true,
  'SELECT pgml_repl.hf_blob_read(''x'', 0, 1)'),
 ('hf_blob_read_rows(text, bigint, integer)',              false, false, false, true,
  'SELECT pgml_repl.hf_blob_read_rows(''x'', 0, 1)'),
 ('hf_cache_extras()',                                     false, false, false, true,
  'SELECT * FROM pgml_repl.hf_cache_extras()'),
 ('archive_status()',                                      false, true,  false, true,
  'SELECT * FROM pgml_repl.archive_status()'),
 ('replication_status()',                                  false, true,  false, true,
  'SELECT * FROM pgml_repl.replication_status()'),
 ('standby_setup(text, integer, name, text, text, text, text, boolean)', false, true, false, true,
  'SELECT pgml_repl.standby_setup(''10.0.0.1'', data_directory => ''/srv/replica'')'),
 ('pgcat_config(text[], text, integer, text, text, text)', false, true,  false, true,
  'SELECT pgml_repl.pgcat_config(ARRAY[''10.0.0.2''])'),
 ('pgbackrest_info(text, text)',                           false, false, true,  true,
  'SELECT pgml_repl.pgbackrest_info(''pgmlr_pm_none'')'),
 ('pgbackrest_archive_max(text, text)',                    false, false, true,  true,
  'SELECT pgml_repl.pgbackrest_archive_max(''pgmlr_pm_none'')'),
 ('hf_cache_manifest(text, boolean)',                      false, false, false, true,
  'SELECT * FROM pgml_repl.hf_cache_manifest(''/nonexistent'')'),
 ('hf_cache_repos(text)',                                  false, false, false, true,
  'SELECT * FROM pgml_repl.hf_cache_repos(''/nonexistent'')'),
 ('hf_repo_id_problem(text)',                              true,  true,  true,  true,
  'SELECT pgml_repl.hf_repo_id_problem(''org/name'')'),
 ('hf_revision_problem(text)',                             true,  true,  true,  true,
  'SELECT pgml_repl.hf_revision_problem(''main'')'),
 ('hf_refs_problem(text[])',                               true,  true,  true,  true,
  'SELECT pgml_repl.hf_refs_problem(''{main}'')'),
 ('hf_path_problem(text)',                                 true,  true,  true,  true,
  'SELECT pgml_repl.hf_path_problem(''a/b'')'),
 ('hf_blob_problem(text)',                                 true,  true,  true,  true,
  'SELECT pgml_repl.hf_blob_problem(''x'')'),
 ('publish_hf_manifest(text)',                             false, false, false, true,
  'SELECT * FROM pgml_repl.publish_hf_manifest(''/nonexistent'')'),
 ('prefetch_status()',                                     false, true,  false, true,
  'SELECT * FROM pgml_repl.prefetch_status()'),
 ('prefetch_queue()',                                      false, true,  false, true,
  'SELECT * FROM pgml_repl.prefetch_queue()'),
 ('prefetch_now()',                                        false, true,  false, true,
  'SELECT pgml_repl.prefetch_now()'),
 ('check()',                                               false, true,  false, true,
  'SELECT * FROM pgml_repl.check()'),
 ('check_summary()',                                       false, true,  false, true,
  'SELECT * FROM pgml_repl.check_summary()'),
 ('want_model(text, text, text, text[], text[])',          false, false, false, true,
  'SELECT pgml_repl.want_model(''org/name'')'),
 ('unwant_model(text, text, text)',                        false, false, false, true,
  'SELECT pgml_repl.unwant_model(''org/name'')'),
 ('hf_model_request_problem(text, text, text, text[], text[])', true, true, true, true,
  'SELECT pgml_repl.hf_model_request_problem(''model'', ''org/name'', ''main'', NULL, NULL)'),
 ('model_status()',                                        false, true,  false, true,
  'SELECT * FROM pgml_repl.model_status()');

CREATE TEMP VIEW ext_functions AS
SELECT p.oid, p.proname || '(' || oidvectortypes(p.proargtypes) || ')' AS fn
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'pgml_repl';

-- 1
SELECT set_eq('SELECT fn FROM ext_functions', 'SELECT fn FROM matrix',
              'every function of schema pgml_repl has a row in the privilege matrix');

-- 4: schema USAGE
SELECT is(has_schema_privilege(r.role, 'pgml_repl', 'USAGE'), r.col <> 'plain',
          format('USAGE on schema pgml_repl for %s', r.col))
FROM roles r ORDER BY r.ord;

-- 116: EXECUTE per function and role
SELECT is(has_function_privilege(r.role, f.oid, 'EXECUTE'),
          CASE r.col WHEN 'plain' THEN m.plain WHEN 'monitor' THEN m.monitor
                     WHEN 'execprog' THEN m.execprog ELSE m.super END,
          format('EXECUTE on %s for %s', m.fn, r.col))
FROM matrix m JOIN ext_functions f USING (fn) CROSS JOIN roles r
ORDER BY m.fn, r.ord;

-- 59: the roles without EXECUTE get 42501 from a representative call
SELECT is(pg_temp.sqlstate_as(r.role, m.call), '42501', format('%s denied to %s', m.fn, r.col))
FROM matrix m CROSS JOIN roles r
WHERE NOT CASE r.col WHEN 'plain' THEN m.plain WHEN 'monitor' THEN m.monitor
                     WHEN 'execprog' THEN m.execprog ELSE m.super END
ORDER BY m.fn, r.ord;

-- 22: the non-superuser roles with EXECUTE are not refused (the call may
-- still fail for other reasons here: no worker, no pgBackRest stanza)
SELECT isnt(pg_temp.sqlstate_as(r.role, m.call), '42501', format('%s allowed to %s', m.fn, r.col))
FROM matrix m CROSS JOIN roles r
WHERE r.col IN ('monitor', 'execprog')
  AND CASE r.col WHEN 'monitor' THEN m.monitor ELSE m.execprog END
ORDER BY m.fn, r.ord;

-- ------------------------------------------------------------------
-- The tables: pgml_repl.hf_manifest and pgml_repl.wanted_models
-- ------------------------------------------------------------------
CREATE TEMP TABLE table_matrix(tbl text, priv text, plain bool, monitor bool, execprog bool, super bool, stmt text);
INSERT INTO table_matrix VALUES
 ('hf_manifest', 'SELECT', false, true,  false, true, 'SELECT * FROM pgml_repl.hf_manifest'),
 ('hf_manifest', 'INSERT', false, false, false, true,
  'INSERT INTO pgml_repl.hf_manifest(repo_type, repo_id, revision, path, blob, size) '
  'VALUES (''model'', ''gpt2'', repeat(''a'', 40), ''x'', repeat(''b'', 40), 1)'),
 ('hf_manifest', 'UPDATE', false, false, false, true, 'UPDATE pgml_repl.hf_manifest SET size = size'),
 ('hf_manifest', 'DELETE', false, false, false, true, 'DELETE FROM pgml_repl.hf_manifest'),
 ('wanted_models', 'SELECT', false, true,  false, true, 'SELECT * FROM pgml_repl.wanted_models'),
 ('wanted_models', 'INSERT', false, false, false, true,
  'INSERT INTO pgml_repl.wanted_models(repo_type, repo_id, revision) VALUES (''model'', ''gpt2'', ''main'')'),
 ('wanted_models', 'UPDATE', false, false, false, true, 'UPDATE pgml_repl.wanted_models SET wanted_at = wanted_at'),
 ('wanted_models', 'DELETE', false, false, false, true, 'DELETE FROM pgml_repl.wanted_models');

-- 32
SELECT is(has_table_privilege(r.role, 'pgml_repl.' || t.tbl, t.priv),
          CASE r.col WHEN 'plain' THEN t.plain WHEN 'monitor' THEN t.monitor
                     WHEN 'execprog' THEN t.execprog ELSE t.super END,
          format('%s on %s for %s', t.priv, t.tbl, r.col))
FROM table_matrix t CROSS JOIN roles r ORDER BY t.tbl, t.priv, r.ord;

-- 22
SELECT is(pg_temp.sqlstate_as(r.role, t.stmt), '42501', format('%s on %s denied to %s', t.priv, t.tbl, r.col))
FROM table_matrix t CROSS JOIN roles r
WHERE NOT CASE r.col WHEN 'plain' THEN t.plain WHEN 'monitor' THEN t.monitor
                     WHEN 'execprog' THEN t.execprog ELSE t.super END
ORDER BY t.tbl, t.priv, r.ord;

-- ------------------------------------------------------------------
-- Settings
-- ------------------------------------------------------------------
-- Who may SHOW each setting. hf_token and upstream_conninfo are
-- GUC_SUPERUSER_ONLY: superusers and pg_read_all_settings (so pg_monitor)
-- members; the token shows as a mask.
-- database exists only when the library is preloaded.
CREATE TEMP TABLE guc_matrix(name text PRIMARY KEY, plain bool, monitor bool, execprog bool, super bool);
INSERT INTO guc_matrix
SELECT 'pgml_replication.' || n, true, true, true, true
FROM unnest(ARRAY['archive_ready_warning', 'archive_ready_error', 'replication_lag_warning',
                  'replication_lag_error', 'hf_cache_dir', 'pgbackrest_timeout', 'pgbackrest_info_ttl', 'prefetch',
                  'database', 'naptime', 'hf_endpoint', 'hf_ca_file', 'max_parallel_downloads',
                  'min_free_disk', 'max_download_rate', 'prefetch_nice', 'download_range_size',
                  'max_streams_per_file', 'yield_to_queries', 'yield_download_rate', 'max_blob_readers',
                  'hf_sources']) n;
INSERT INTO guc_matrix VALUES ('pgml_replication.hf_token', false, true, false, true);
-- upstream_conninfo may hold a password, like primary_conninfo.
INSERT INTO guc_matrix VALUES ('pgml_replication.upstream_conninfo', false, true, false, true);

-- 1
SELECT is_empty($$SELECT name FROM pg_settings WHERE name LIKE 'pgml_replication.%'
                  EXCEPT SELECT name FROM guc_matrix$$,
                'every pgml_replication setting has a row in the settings matrix');

-- 4
SELECT set_eq(
    format($$SELECT name FROM guc_matrix WHERE current_setting(name, true) IS NOT NULL
             AND pg_temp.sqlstate_as(%L, 'SHOW ' || name) = 'ok'$$, r.role),
    format($$SELECT name FROM guc_matrix WHERE current_setting(name, true) IS NOT NULL AND %I$$, r.col),
    format('the settings %s can SHOW', r.col))
FROM roles r ORDER BY r.ord;

-- 6: the token itself never shows
SELECT is(current_setting('pgml_replication.hf_token'), '********',
          'hf_token shows a mask to a superuser (and the reload took effect)');
SET LOCAL ROLE pgmlr_pm_monitor;
SELECT is(current_setting('pgml_replication.hf_token'), '********', 'hf_token shows a mask to pg_monitor');
SELECT is((SELECT count(*) FROM pg_settings
           WHERE concat_ws(' ', setting, reset_val, boot_val) LIKE '%MatrixSecret%'), 0::bigint,
          'no pg_settings row holds the token, for pg_monitor');
RESET ROLE;
SELECT is((SELECT count(*) FROM pg_settings
           WHERE concat_ws(' ', setting, reset_val, boot_val) LIKE '%MatrixSecret%'), 0::bigint,
          'no pg_settings row holds the token (setting, reset_val, boot_val), for a superuser');
SELECT is(pg_temp.sqlstate_as('pgmlr_pm_monitor', 'SELECT * FROM pg_file_settings'), '42501',
          'pg_monitor cannot read the configuration files through pg_file_settings');
SELECT is(pg_temp.sqlstate_as('pgmlr_pm_super', 'SET pgml_replication.hf_token = ''x'''), '55P02',
          'hf_token cannot be SET in a session, even by a superuser');

-- 3: setting
SELECT is(
    (SELECT string_agg(format('%s %s %s', name, r.col, pg_temp.sqlstate_as(r.role, format('SET %s = %L', name, setting))),
                       ', ' ORDER BY name, r.ord)
     FROM pg_settings CROSS JOIN roles r
     WHERE name LIKE 'pgml_replication.%' AND context = 'superuser' AND r.col <> 'super'),
    'pgml_replication.pgbackrest_timeout plain 42501, pgml_replication.pgbackrest_timeout monitor 42501, '
    'pgml_replication.pgbackrest_timeout execprog 42501',
    'no role but a superuser can SET the superuser-only settings');
SELECT is_empty(
    $$SELECT name FROM pg_settings
      WHERE name LIKE 'pgml_replication.%' AND context IN ('sighup', 'postmaster')
        AND pg_temp.sqlstate_as('pgmlr_pm_plain', format('SET %s = %L', name, setting)) <> '55P02'$$,
    'the sighup and postmaster settings cannot be SET in a session');
-- (ALTER SYSTEM cannot run in this transaction; a non-superuser's ALTER
-- SYSTEM is PostgreSQL's own superuser check.)
SELECT is(pg_temp.sqlstate_as('pgmlr_pm_plain', 'SHOW pgml_replication.hf_token'), '42501',
          'a plain role cannot SHOW hf_token at all');

SELECT * FROM finish();
ROLLBACK;

\o /dev/null
ALTER SYSTEM RESET pgml_replication.hf_token;
SELECT pg_reload_conf();
\o
