BEGIN;
SELECT plan(23);

-- Signatures and result columns.
SELECT has_function('pgml_repl', 'archive_status', ARRAY[]::name[], 'archive_status() exists');
SELECT has_function('pgml_repl', 'replication_status', ARRAY[]::name[], 'replication_status() exists');
SELECT function_returns('pgml_repl', 'archive_status', ARRAY[]::name[], 'record', 'archive_status() returns one record');
SELECT function_returns('pgml_repl', 'replication_status', ARRAY[]::name[], 'setof record', 'replication_status() returns a set');
SELECT isnt_definer('pgml_repl', 'archive_status', ARRAY[]::name[], 'archive_status() runs with the caller''s privileges');
SELECT isnt_definer('pgml_repl', 'replication_status', ARRAY[]::name[], 'replication_status() runs with the caller''s privileges');

SELECT results_eq(
    $$SELECT a.name COLLATE "default", format_type(a.typ, NULL)
      FROM pg_proc p, unnest(p.proargnames, p.proallargtypes, p.proargmodes) WITH ORDINALITY AS a(name, typ, mode, n)
      WHERE p.oid = 'pgml_repl.archive_status'::regproc ORDER BY a.n$$,
    $$VALUES ('archive_mode', 'text'), ('archive_command', 'text'), ('wal_level', 'text'),
             ('archived_count', 'bigint'), ('last_archived_wal', 'text'), ('last_archived_at', 'timestamp with time zone'),
             ('failed_count', 'bigint'), ('last_failed_wal', 'text'), ('last_failed_at', 'timestamp with time zone'),
             ('ready_count', 'integer'), ('oldest_ready_wal', 'text'), ('oldest_ready_age', 'interval'),
             ('current_wal', 'text'), ('status', 'text'), ('detail', 'text'),
             ('pgbackrest_archive_max', 'text'), ('pgbackrest_in_sync', 'boolean')$$,
    'archive_status() columns and types');
SELECT ok((SELECT pgbackrest_archive_max IS NULL AND pgbackrest_in_sync IS NULL FROM pgml_repl.archive_status()),
          'archive_command without pgbackrest: the pgBackRest columns are NULL');
SELECT results_eq(
    $$SELECT a.name COLLATE "default", format_type(a.typ, NULL)
      FROM pg_proc p, unnest(p.proargnames, p.proallargtypes, p.proargmodes) WITH ORDINALITY AS a(name, typ, mode, n)
      WHERE p.oid = 'pgml_repl.replication_status'::regproc ORDER BY a.n$$,
    $$VALUES ('role', 'text'), ('application_name', 'text'), ('client_addr', 'inet'), ('state', 'text'),
             ('sync_state', 'text'), ('sender_host', 'text'), ('sender_port', 'integer'),
             ('sent_lsn', 'pg_lsn'), ('write_lsn', 'pg_lsn'), ('flush_lsn', 'pg_lsn'), ('replay_lsn', 'pg_lsn'),
             ('lag_bytes', 'bigint'), ('replay_lag', 'interval'), ('replay_delay', 'interval'),
             ('status', 'text'), ('detail', 'text')$$,
    'replication_status() columns and types');

-- Privileges: a plain role (even with USAGE on the schema) is denied, a
-- member of pg_monitor is allowed.
CREATE ROLE pgmlr_health_plain LOGIN;
CREATE ROLE pgmlr_health_monitor LOGIN IN ROLE pg_monitor;
GRANT USAGE ON SCHEMA pgml_repl TO pgmlr_health_plain;

SELECT ok(NOT has_function_privilege('public', 'pgml_repl.archive_status()', 'EXECUTE'), 'PUBLIC cannot execute archive_status()');
SELECT ok(NOT has_function_privilege('public', 'pgml_repl.replication_status()', 'EXECUTE'), 'PUBLIC cannot execute replication_status()');

SET ROLE pgmlr_health_plain;
SELECT throws_ok('SELECT * FROM pgml_repl.archive_status()', '42501',
                 'permission denied for function archive_status', 'a plain role cannot call archive_status()');
SELECT throws_ok('SELECT * FROM pgml_repl.replication_status()', '42501',
                 'permission denied for function replication_status', 'a plain role cannot call replication_status()');
RESET ROLE;

SET ROLE pgmlr_health_monitor;
SELECT lives_ok('SELECT * FROM pgml_repl.archive_status()', 'a pg_monitor member can call archive_status()');
SELECT lives_ok('SELECT * FROM pgml_repl.replication_status()', 'a pg_monitor member can call replication_status()');
SELECT is((SELECT count(*) FROM pgml_repl.archive_status()), 1::bigint, 'archive_status() returns exactly one row');
SELECT ok((SELECT status FROM pgml_repl.archive_status()) IN ('ok', 'warning', 'error', 'disabled'),
          'archive_status() status is one of ok, warning, error, disabled');
-- pg_ls_archive_statusdir() and the settings are readable through pg_monitor:
-- the counters are filled in, not NULL.
SELECT ok((SELECT ready_count IS NOT NULL AND archived_count IS NOT NULL AND archive_command IS NOT NULL
           AND wal_level IS NOT NULL FROM pgml_repl.archive_status()),
          'a pg_monitor member sees the counters and settings');
SELECT ok((SELECT detail <> '' FROM pgml_repl.archive_status()), 'archive_status() explains its status');
SELECT is((SELECT count(*) FROM pgml_repl.replication_status()
           WHERE status NOT IN ('ok', 'warning', 'error') OR role NOT IN ('primary', 'standby')),
          0::bigint, 'replication_status() rows use only the documented status and role values');
RESET ROLE;

-- The scratch cluster is a primary without archiving and without standbys.
SELECT is((SELECT status FROM pgml_repl.archive_status()), 'disabled', 'archiving off: status disabled');
SELECT is((SELECT current_wal FROM pgml_repl.archive_status()), pg_walfile_name(pg_current_wal_lsn()),
          'current_wal is the segment being written');
SELECT is_empty('SELECT * FROM pgml_repl.replication_status()', 'a primary without standbys has no row');

SELECT * FROM finish();
ROLLBACK;
