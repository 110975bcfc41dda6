-- Prefetch worker: functions, privileges, and the secret hf_token setting.
-- The token is set with ALTER SYSTEM (which cannot run in a transaction) and
-- reset at the end. This scratch server does not preload the library, so the
-- worker's status is "disabled".
LOAD 'pgml_replication';
ALTER SYSTEM SET pgml_replication.hf_token = 'hf_pgtap_secret_value';
\o /dev/null
SELECT pg_reload_conf();
-- Wait (bounded: 600 x 0.1 s) until this backend has applied the reload:
-- each generated statement is a command of its own, and a backend handles
-- a SIGHUP between commands.
SELECT $$SELECT pg_sleep(0.1) FROM pg_settings WHERE name = 'pgml_replication.hf_token'
         AND source IS DISTINCT FROM 'configuration file'$$ FROM generate_series(1, 600) \gexec
\o

BEGIN;
SELECT plan(29);

SELECT has_function('pgml_repl', 'prefetch_status', '{}'::name[], 'prefetch_status() exists');
SELECT has_function('pgml_repl', 'prefetch_queue', '{}'::name[], 'prefetch_queue() exists');
SELECT has_function('pgml_repl', 'prefetch_now', '{}'::name[], 'prefetch_now() exists');
-- The rate-limit pause and the quarantine's next try (issue 13).
SELECT is((SELECT a.attname || ' ' || format_type(a.atttypid, -1)
             FROM pg_proc p, unnest(p.proargnames, p.proallargtypes, p.proargmodes) AS a(attname, atttypid, mode)
            WHERE p.oid = 'pgml_repl.prefetch_status()'::regprocedure AND a.attname = 'paused_until' AND a.mode = 'o'),
          'paused_until timestamp with time zone', 'prefetch_status() has paused_until timestamptz');
SELECT is((SELECT a.attname || ' ' || format_type(a.atttypid, -1)
             FROM pg_proc p, unnest(p.proargnames, p.proallargtypes, p.proargmodes) AS a(attname, atttypid, mode)
            WHERE p.oid = 'pgml_repl.prefetch_queue()'::regprocedure AND a.attname = 'next_try_at' AND a.mode = 'o'),
          'next_try_at timestamp with time zone', 'prefetch_queue() has next_try_at timestamptz');
SELECT is((SELECT array_agg(a.attname::text ORDER BY a.n)
             FROM pg_proc p, unnest(p.proargnames, p.proargmodes) WITH ORDINALITY AS a(attname, mode, n)
            WHERE p.oid = 'pgml_repl.prefetch_queue()'::regprocedure),
          ARRAY['repo', 'path', 'blob', 'size', 'attempts', 'last_error', 'status', 'revision', 'next_try_at', 'source']::text[],
          'prefetch_queue() columns in order');
SELECT is((SELECT array_agg(a.attname::text ORDER BY a.n)
             FROM pg_proc p, unnest(p.proargnames, p.proargmodes) WITH ORDINALITY AS a(attname, mode, n)
            WHERE p.oid = 'pgml_repl.prefetch_status()'::regprocedure AND a.n > 24),
          ARRAY['bytes_from_upstream', 'bytes_from_hub']::text[],
          'prefetch_status() ends with bytes_from_upstream and bytes_from_hub');
SELECT is((SELECT paused_until FROM pgml_repl.prefetch_status()), NULL::timestamptz,
          'paused_until is NULL when no pause is on');

CREATE ROLE pf_tap_plain;
CREATE ROLE pf_tap_monitor IN ROLE pg_monitor;
GRANT USAGE ON SCHEMA pgml_repl TO pf_tap_plain, pf_tap_monitor;

SELECT ok(has_function_privilege('pf_tap_monitor', 'pgml_repl.prefetch_status()', 'EXECUTE'), 'pg_monitor may call prefetch_status()');
SELECT ok(has_function_privilege('pf_tap_monitor', 'pgml_repl.prefetch_queue()', 'EXECUTE'), 'pg_monitor may call prefetch_queue()');
SELECT ok(has_function_privilege('pf_tap_monitor', 'pgml_repl.prefetch_now()', 'EXECUTE'), 'pg_monitor may call prefetch_now()');
SELECT ok(NOT has_function_privilege('pf_tap_plain', 'pgml_repl.prefetch_status()', 'EXECUTE'), 'PUBLIC may not call prefetch_status()');
SELECT ok(NOT has_function_privilege('pf_tap_plain', 'pgml_repl.prefetch_queue()', 'EXECUTE'), 'PUBLIC may not call prefetch_queue()');
SELECT ok(NOT has_function_privilege('pf_tap_plain', 'pgml_repl.prefetch_now()', 'EXECUTE'), 'PUBLIC may not call prefetch_now()');

SET LOCAL ROLE pf_tap_plain;
SELECT throws_ok('SELECT * FROM pgml_repl.prefetch_status()', '42501', NULL, 'a plain role gets permission denied');
SELECT throws_ok('SELECT pgml_repl.prefetch_now()', '42501', NULL, 'also for prefetch_now()');
SELECT throws_ok($$SELECT current_setting('pgml_replication.hf_token')$$, '42501', NULL,
                 'a plain role cannot read hf_token at all');
SELECT is((SELECT count(*) FROM pg_settings WHERE name = 'pgml_replication.hf_token'), 0::bigint,
          'nor see it in pg_settings');
RESET ROLE;

SET LOCAL ROLE pf_tap_monitor;
SELECT is((SELECT state FROM pgml_repl.prefetch_status()), 'disabled',
          'pg_monitor reads prefetch_status(): disabled without shared_preload_libraries');
SELECT is((SELECT count(*) FROM pgml_repl.prefetch_queue()), 0::bigint, 'pg_monitor reads an empty prefetch_queue()');
SELECT is(pgml_repl.prefetch_now(), false, 'prefetch_now() says no worker was woken');
SELECT is(current_setting('pgml_replication.hf_token'), '********', 'pg_monitor sees only the mask in SHOW');
SELECT is((SELECT setting FROM pg_settings WHERE name = 'pgml_replication.hf_token'), '********',
          'and in pg_settings.setting');
SELECT is((SELECT reset_val FROM pg_settings WHERE name = 'pgml_replication.hf_token'), '********',
          'and in pg_settings.reset_val');
SELECT is((SELECT source FROM pg_settings WHERE name = 'pgml_replication.hf_token'), 'configuration file',
          'the value came from the configuration');
RESET ROLE;

SELECT is(current_setting('pgml_replication.hf_token'), '********', 'a superuser sees the mask too');
SELECT is((SELECT count(*) FROM pg_settings WHERE setting LIKE '%hf_pgtap_secret%' OR reset_val LIKE '%hf_pgtap_secret%'
                                           OR boot_val LIKE '%hf_pgtap_secret%'), 0::bigint,
          'the token appears nowhere in pg_settings');
SELECT throws_ok($$SET pgml_replication.hf_token = 'x'$$, '55P02', NULL, 'hf_token cannot be SET in a session');
SELECT throws_ok($$SET pgml_replication.hf_endpoint = 'http://127.0.0.1:1'$$, '55P02', NULL,
                 'nor hf_endpoint: both come from the server configuration');

SELECT * FROM finish();
ROLLBACK;

ALTER SYSTEM RESET pgml_replication.hf_token;
DO $$BEGIN PERFORM pg_reload_conf(); END$$;
