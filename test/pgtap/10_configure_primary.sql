-- pgml_repl.configure_primary(): privileges, idempotence, transactional
-- behaviour (ROLLBACK, savepoints, COMMIT, two calls, concurrent ALTER
-- SYSTEM, a failing write) and escaping.
--
-- The function writes postgresql.auto.conf at COMMIT, so this file runs in
-- autocommit mode and opens its own transactions. pgTAP keeps its counters
-- in temp tables: no assertion runs inside a transaction that is rolled
-- back; values are captured with \gset and checked afterwards. The scratch
-- server's auto.conf is restored at the end.
SET client_min_messages = warning;
SELECT plan(44);

SELECT pg_read_file('postgresql.auto.conf') AS orig_conf \gset

-- Settings as the server reads them from postgresql.auto.conf.
CREATE TEMP VIEW auto_settings AS
SELECT name, setting FROM pg_file_settings
WHERE sourcefile LIKE '%postgresql.auto.conf';
GRANT SELECT ON auto_settings TO PUBLIC;

-- ---------------------------------------------------------------- privileges
SELECT ok(NOT has_function_privilege('public', 'pgml_repl.configure_primary(text,text,integer,text)', 'EXECUTE'),
          'EXECUTE on configure_primary is not granted to PUBLIC');

DROP ROLE IF EXISTS pgmlr_cp_plain;
CREATE ROLE pgmlr_cp_plain;
GRANT USAGE ON SCHEMA pgml_repl TO pgmlr_cp_plain;
SET ROLE pgmlr_cp_plain;
SELECT throws_ok($$SELECT * FROM pgml_repl.configure_primary()$$, '42501',
                 'permission denied for function configure_primary',
                 'a plain role gets permission denied');
RESET ROLE;
-- Even with EXECUTE granted, the C function checks for a superuser.
GRANT EXECUTE ON FUNCTION pgml_repl.configure_primary(text, text, integer, text) TO pgmlr_cp_plain;
SET ROLE pgmlr_cp_plain;
SELECT throws_ok($$SELECT * FROM pgml_repl.configure_primary()$$, '42501',
                 'permission denied for function configure_primary',
                 'a plain role with EXECUTE is still refused (superuser check in C)');
RESET ROLE;
SELECT is(pg_read_file('postgresql.auto.conf'), :'orig_conf', 'refused calls leave the file alone');
DROP OWNED BY pgmlr_cp_plain;
DROP ROLE pgmlr_cp_plain;

-- ---------------------------------------------------------------- first call, idempotence
SELECT is((SELECT array_agg(name || '=' || value || ':' || changed ORDER BY ord)
           FROM pgml_repl.configure_primary() WITH ORDINALITY AS t(name, previous_value, value, changed, pending_restart, ord)),
          ARRAY['archive_mode=on:true', 'wal_level=replica:false',
                'archive_command=pgbackrest --stanza=main archive-push %p:true', 'max_wal_senders=10:false'],
          'first call on a fresh server: one row per setting, in order');
SELECT is((SELECT array_agg(name || '=' || setting ORDER BY name) FROM auto_settings),
          ARRAY['archive_command=pgbackrest --stanza=main archive-push %p', 'archive_mode=on',
                'max_wal_senders=10', 'wal_level=replica'],
          'autocommit call wrote all four settings');

SELECT pg_read_file('postgresql.auto.conf') AS conf_a, md5(pg_read_file('postgresql.auto.conf')) AS md5_a \gset
SELECT is((SELECT count(*)::int FROM pgml_repl.configure_primary() WHERE changed), 0,
          'second call reports changed = false everywhere');
SELECT is(md5(pg_read_file('postgresql.auto.conf')), :'md5_a', 'second call leaves the file byte-identical');
SELECT is((SELECT pending_restart FROM pgml_repl.configure_primary() WHERE name = 'archive_mode'), true,
          'archive_mode still needs a restart');

-- ---------------------------------------------------------------- ROLLBACK
BEGIN;
SELECT changed AS tx_changed FROM pgml_repl.configure_primary(max_wal_senders => 31) WHERE name = 'max_wal_senders' \gset
SELECT md5(pg_read_file('postgresql.auto.conf')) AS md5_in_tx \gset
ROLLBACK;
SELECT is(:'tx_changed'::text, 't', 'inside BEGIN the call queued a change');
SELECT is(:'md5_in_tx'::text, :'md5_a', 'nothing is written before COMMIT');
SELECT is(md5(pg_read_file('postgresql.auto.conf')), :'md5_a', 'ROLLBACK leaves postgresql.auto.conf byte-identical (md5)');
SELECT is(pg_read_file('postgresql.auto.conf'), :'conf_a', 'ROLLBACK leaves postgresql.auto.conf byte-identical (text)');

-- ---------------------------------------------------------------- savepoints
BEGIN;
SAVEPOINT s1;
SELECT count(*) AS n FROM pgml_repl.configure_primary(max_wal_senders => 32) \gset
ROLLBACK TO SAVEPOINT s1;
COMMIT;
SELECT is(md5(pg_read_file('postgresql.auto.conf')), :'md5_a', 'ROLLBACK TO SAVEPOINT drops the queued change');

BEGIN;
SELECT count(*) AS n FROM pgml_repl.configure_primary(max_wal_senders => 33) \gset
SAVEPOINT s1;
SELECT previous_value AS prev_in_sub FROM pgml_repl.configure_primary(max_wal_senders => 34) WHERE name = 'max_wal_senders' \gset
ROLLBACK TO SAVEPOINT s1;
SELECT previous_value AS prev_after_sub FROM pgml_repl.configure_primary(max_wal_senders => 33) WHERE name = 'max_wal_senders' \gset
COMMIT;
SELECT is(:'prev_in_sub'::text, '33', 'previous_value includes the change queued earlier in the transaction');
SELECT is(:'prev_after_sub'::text, '33', 'ROLLBACK TO SAVEPOINT forgets only what the subtransaction queued');
SELECT is((SELECT setting FROM auto_settings WHERE name = 'max_wal_senders'), '33',
          'COMMIT writes the outer change, not the rolled-back one');

BEGIN;
SAVEPOINT s1;
SELECT count(*) AS n FROM pgml_repl.configure_primary(max_wal_senders => 35) \gset
RELEASE SAVEPOINT s1;
COMMIT;
SELECT is((SELECT setting FROM auto_settings WHERE name = 'max_wal_senders'), '35',
          'a change queued in a released savepoint is written at COMMIT');

-- RELEASE hands the change to the enclosing savepoint, whose rollback drops it.
SELECT md5(pg_read_file('postgresql.auto.conf')) AS md5_35 \gset
BEGIN;
SAVEPOINT s1;
SAVEPOINT s2;
SELECT count(*) AS n FROM pgml_repl.configure_primary(max_wal_senders => 37) \gset
RELEASE SAVEPOINT s2;
ROLLBACK TO SAVEPOINT s1;
SELECT previous_value AS prev_after_outer FROM pgml_repl.configure_primary(max_wal_senders => 35) WHERE name = 'max_wal_senders' \gset
COMMIT;
SELECT is(:'prev_after_outer'::text, '35', 'a change released into a rolled-back savepoint is no longer pending');
SELECT is(md5(pg_read_file('postgresql.auto.conf')), :'md5_35',
          'a change released into a rolled-back savepoint is not written');

-- ---------------------------------------------------------------- two calls, one transaction
BEGIN;
SELECT count(*) AS n FROM pgml_repl.configure_primary(archive_command => 'first %p') \gset
SELECT previous_value AS second_prev FROM pgml_repl.configure_primary(archive_command => 'second %p', max_wal_senders => 36)
WHERE name = 'archive_command' \gset
COMMIT;
SELECT is(:'second_prev'::text, 'first %p', 'the second call sees the first call''s pending value');
SELECT is((SELECT setting FROM auto_settings WHERE name = 'archive_command'), 'second %p', 'the later call wins');
SELECT is((SELECT setting FROM auto_settings WHERE name = 'max_wal_senders'), '36', 'both calls'' settings are written');
SELECT is((SELECT count(*)::int FROM auto_settings), 4, 'each setting appears once in the file');

-- ---------------------------------------------------------------- concurrent ALTER SYSTEM
-- Another session changes the file between our call and our COMMIT: the
-- file is re-read under AutoFileLock at COMMIT, so its change survives.
CREATE EXTENSION IF NOT EXISTS dblink;
BEGIN;
SELECT count(*) AS n FROM pgml_repl.configure_primary(max_wal_senders => 37) \gset
SELECT dblink_exec(format('host=127.0.0.1 port=%s dbname=%s user=postgres',
                          current_setting('port'), current_database()),
                   $$ALTER SYSTEM SET work_mem = '7MB'$$) AS other_session \gset
COMMIT;
SELECT is(:'other_session'::text, 'ALTER SYSTEM', 'another session ran ALTER SYSTEM while our change was pending');
SELECT is((SELECT setting FROM auto_settings WHERE name = 'work_mem'), '7MB',
          'the concurrent ALTER SYSTEM is kept');
SELECT is((SELECT setting FROM auto_settings WHERE name = 'max_wal_senders'), '37',
          'our pending change is written too');
DROP EXTENSION dblink;

-- ---------------------------------------------------------------- a failing write aborts the COMMIT
-- A directory where the temp file goes makes the write fail at COMMIT
-- (psql prints that expected ERROR on stderr).
SELECT md5(pg_read_file('postgresql.auto.conf')) AS md5_b \gset
COPY (SELECT 1) TO PROGRAM 'mkdir postgresql.auto.conf.tmp';
BEGIN;
CREATE TABLE pgmlr_cp_marker (i int);
SELECT count(*) AS n FROM pgml_repl.configure_primary(max_wal_senders => 38) \gset
\set ON_ERROR_STOP 0
COMMIT;
\set ON_ERROR_STOP 1
COPY (SELECT 1) TO PROGRAM 'rmdir postgresql.auto.conf.tmp';
SELECT matches(:'LAST_ERROR_MESSAGE'::text, '^could not open file "postgresql.auto.conf.tmp"',
               'COMMIT reports the failed write');
SELECT hasnt_table('pgmlr_cp_marker', 'the failed write aborted the whole transaction');
SELECT is(md5(pg_read_file('postgresql.auto.conf')), :'md5_b', 'the file is unchanged after the failed COMMIT');
SELECT is((SELECT setting FROM auto_settings WHERE name = 'max_wal_senders'), '37', 'the old value is still configured');

-- ---------------------------------------------------------------- escaping and injection
SELECT is((SELECT value FROM pgml_repl.configure_primary(archive_command => $$cp %p '/a b/%f' \\ "x" \n$$)
           WHERE name = 'archive_command'),
          $$cp %p '/a b/%f' \\ "x" \n$$, 'a value with quotes and backslashes is returned verbatim');
SELECT is((SELECT setting FROM auto_settings WHERE name = 'archive_command'),
          $$cp %p '/a b/%f' \\ "x" \n$$, 'quotes and backslashes round-trip through the file exactly');

SELECT is((SELECT value FROM pgml_repl.configure_primary(archive_command => $$x %p'; wal_level = 'minimal$$)
           WHERE name = 'archive_command'),
          $$x %p'; wal_level = 'minimal$$, 'a quote-injection attempt is accepted as plain text');
SELECT is((SELECT setting FROM auto_settings WHERE name = 'archive_command'),
          $$x %p'; wal_level = 'minimal$$, 'it is stored verbatim, escaped');
SELECT is((SELECT array_agg(setting) FROM auto_settings WHERE name = 'wal_level'), ARRAY['replica'],
          'and does not add or change any other setting');

SELECT is((SELECT value FROM pgml_repl.configure_primary(archive_command => $$x %p\'; wal_level = 'minimal$$)
           WHERE name = 'archive_command'),
          $$x %p\'; wal_level = 'minimal$$, 'a backslash-quote injection attempt is taken verbatim');
SELECT is((SELECT setting FROM auto_settings WHERE name = 'archive_command'),
          $$x %p\'; wal_level = 'minimal$$, 'and round-trips exactly');

SELECT md5(pg_read_file('postgresql.auto.conf')) AS md5_c \gset
SELECT throws_ok($$SELECT * FROM pgml_repl.configure_primary(stanza => 'main''; DROP TABLE x; --')$$, '22023',
                 NULL, 'a stanza with a quote is rejected');
SELECT throws_ok($$SELECT * FROM pgml_repl.configure_primary(stanza => E'main\nwal_level = minimal')$$, '22023',
                 NULL, 'a stanza with a newline is rejected');
SELECT throws_ok($$SELECT * FROM pgml_repl.configure_primary(archive_command => E'cp %p /a\nwal_level = minimal')$$,
                 '22023', 'archive_command must not contain a line break',
                 'an archive_command with a newline is rejected');
SELECT throws_ok($$SELECT * FROM pgml_repl.configure_primary(pgbackrest_config => E'/etc/x''\n')$$, '22023',
                 NULL, 'a pgbackrest_config with quote and newline is rejected');
SELECT is(md5(pg_read_file('postgresql.auto.conf')), :'md5_c', 'rejected calls leave the file byte-identical');

-- ---------------------------------------------------------------- restore the scratch server
ALTER SYSTEM RESET archive_mode;
ALTER SYSTEM RESET wal_level;
ALTER SYSTEM RESET archive_command;
ALTER SYSTEM RESET max_wal_senders;
ALTER SYSTEM RESET work_mem;
SELECT pg_reload_conf() AS reloaded \gset
SELECT is(pg_read_file('postgresql.auto.conf'), :'orig_conf', 'postgresql.auto.conf is back to its original content');

SELECT * FROM finish();
