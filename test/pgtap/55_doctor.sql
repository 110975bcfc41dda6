-- check() and check_summary(): signatures, privileges, statuses.
BEGIN;
SELECT plan(23);

SELECT has_function('pgml_repl', 'check', ARRAY[]::name[], 'check() exists');
SELECT has_function('pgml_repl', 'check_summary', ARRAY[]::name[], 'check_summary() exists');
SELECT isnt_definer('pgml_repl', 'check', ARRAY[]::name[], 'check() runs with the caller''s privileges');
SELECT results_eq(
    $$SELECT a.name COLLATE "default", format_type(a.typ, NULL)
      FROM pg_proc p, unnest(p.proargnames, p.proallargtypes, p.proargmodes) WITH ORDINALITY AS a(name, typ, mode, n)
      WHERE p.oid = 'pgml_repl.check'::regproc ORDER BY a.n$$,
    $$VALUES ('check_name', 'text'), ('status', 'text'), ('detail', 'text'), ('hint', 'text')$$,
    'check() columns and types');
SELECT results_eq(
    $$SELECT a.name COLLATE "default", format_type(a.typ, NULL)
      FROM pg_proc p, unnest(p.proargnames, p.proallargtypes, p.proargmodes) WITH ORDINALITY AS a(name, typ, mode, n)
      WHERE p.oid = 'pgml_repl.check_summary'::regproc ORDER BY a.n$$,
    $$VALUES ('status', 'text'), ('exit_code', 'integer'), ('errors', 'integer'), ('warnings', 'integer'), ('detail', 'text')$$,
    'check_summary() columns and types');

SELECT ok(NOT has_function_privilege('public', 'pgml_repl.check()', 'EXECUTE'), 'PUBLIC cannot execute check()');
SELECT ok(NOT has_function_privilege('public', 'pgml_repl.check_summary()', 'EXECUTE'), 'PUBLIC cannot execute check_summary()');

-- As superuser: every status in the allowed set, a detail on every row,
-- a hint exactly on the rows that need action.
SELECT ok((SELECT bool_and(status IN ('ok', 'warning', 'error', 'skipped')) FROM pgml_repl.check()),
          'superuser: every status is ok, warning, error or skipped');
SELECT ok((SELECT bool_and(detail <> '') FROM pgml_repl.check()), 'every row has a detail');
SELECT ok((SELECT bool_and((status IN ('warning', 'error')) = (hint IS NOT NULL)) FROM pgml_repl.check()),
          'a hint exactly on the warning and error rows');
SELECT ok((SELECT status IN ('ok', 'warning', 'error', 'unknown') AND exit_code BETWEEN 0 AND 3 FROM pgml_repl.check_summary()),
          'summary status and exit code in range');
SELECT is((SELECT errors FROM pgml_repl.check_summary()),
          (SELECT count(*)::int FROM pgml_repl.check() WHERE status = 'error'),
          'summary counts the error rows');
SELECT is((SELECT count(*) FROM pgml_repl.check_summary()), 1::bigint, 'check_summary() returns one row');

CREATE ROLE pgmlr_doctor_plain;
CREATE ROLE pgmlr_doctor_monitor IN ROLE pg_monitor;

SET ROLE pgmlr_doctor_plain;
SELECT throws_ok('SELECT * FROM pgml_repl.check()', '42501', NULL, 'a plain role cannot call check()');
SELECT throws_ok('SELECT * FROM pgml_repl.check_summary()', '42501', NULL, 'a plain role cannot call check_summary()');
RESET ROLE;

SET ROLE pgmlr_doctor_monitor;
SELECT lives_ok('SELECT * FROM pgml_repl.check()', 'a pg_monitor member can call check()');
SELECT results_eq(
    $$SELECT check_name, status, detail FROM pgml_repl.check() WHERE check_name IN ('pg_hba_rule', 'hf_manifest') ORDER BY 1$$,
    $$VALUES ('hf_manifest', 'skipped', 'Comparing the manifest with the cache needs superuser.'),
             ('pg_hba_rule', 'skipped', 'Reading pg_hba_file_rules needs superuser.')$$,
    'pg_monitor: the superuser-only sub-checks are skipped with the reason');
SELECT ok((SELECT bool_and(status IN ('ok', 'warning', 'error', 'skipped')) FROM pgml_repl.check()),
          'pg_monitor: every status is in the allowed set');
SELECT ok((SELECT exit_code BETWEEN 0 AND 3 FROM pgml_repl.check_summary()), 'pg_monitor can call check_summary()');
RESET ROLE;
-- The same checks run for both, in the same order.
SELECT is((SELECT array_agg(check_name) FROM pgml_repl.check()),
          ARRAY['wal_level', 'archive_mode', 'archive_command', 'wal_senders', 'replication_role',
                'pg_hba_rule', 'blob_fetch', 'archiver', 'standbys', 'hf_manifest', 'declared_models'],
          'primary checks, in order');
-- A declared model that no worker will fetch is an error with a hint; none declared is ok.
SELECT is((SELECT status FROM pgml_repl.check() WHERE check_name = 'declared_models'), 'ok',
          'declared_models is ok while nothing is declared');
SELECT lives_ok($$SELECT pgml_repl.want_model('org/declared-in-55')$$, 'a superuser declares a model');
SELECT results_eq(
    $$SELECT status, detail ~ 'org/declared-in-55@main: no_worker', hint ~ 'model_status\(\)'
      FROM pgml_repl.check() WHERE check_name = 'declared_models'$$,
    $$VALUES ('error'::text, true, true)$$,
    'a declared model no worker fetches makes declared_models an error naming it');

SELECT * FROM finish();
ROLLBACK;
