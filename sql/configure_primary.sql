-- pgml_repl.configure_primary(): archive and WAL settings in postgresql.auto.conf.
-- The scratch server starts with archive_mode = off, wal_level = replica,
-- archive_command = '' and max_wal_senders = 10, and an auto.conf with no entries.
SELECT pg_read_file('postgresql.auto.conf') AS auto_conf_before;

-- First call: defaults (stanza main, pgBackRest archive-push).
SELECT * FROM pgml_repl.configure_primary();

-- The file as ALTER SYSTEM would have written it.
SELECT pg_read_file('postgresql.auto.conf') AS auto_conf;

-- The server reads the four settings from it.
SELECT name, setting, applied, error
FROM pg_file_settings
WHERE sourcefile LIKE '%postgresql.auto.conf'
  AND name IN ('archive_mode', 'wal_level', 'archive_command', 'max_wal_senders')
ORDER BY seqno;

-- Idempotent: a second call changes nothing and writes nothing.
SELECT md5(pg_read_file('postgresql.auto.conf')) AS md5_before \gset
SELECT * FROM pgml_repl.configure_primary();
SELECT md5(pg_read_file('postgresql.auto.conf')) = :'md5_before' AS file_unchanged;

-- A stanza and a pgBackRest config file; the path is shell-quoted when needed.
SELECT name, value, changed FROM pgml_repl.configure_primary('prod-1', pgbackrest_config => '/etc/pgbackrest/prod.conf')
WHERE name = 'archive_command';
SELECT name, value, changed FROM pgml_repl.configure_primary('prod-1', pgbackrest_config => '/srv/pg backrest/prod.conf')
WHERE name = 'archive_command';

-- Quotes and backslashes are escaped in the file and read back verbatim.
SELECT name, value FROM pgml_repl.configure_primary(archive_command => $$test ! -f '/archive/%f' && cp %p '/archive/%f' # \d$$)
WHERE name = 'archive_command';
SELECT pg_read_file('postgresql.auto.conf') AS auto_conf;
SELECT setting FROM pg_file_settings
WHERE sourcefile LIKE '%postgresql.auto.conf' AND name = 'archive_command';

-- A command without %p is accepted with a NOTICE.
SELECT name, value FROM pgml_repl.configure_primary(archive_command => '/bin/true')
WHERE name = 'archive_command';

-- wal_level = logical is never downgraded.
ALTER SYSTEM SET wal_level = logical;
SELECT * FROM pgml_repl.configure_primary(max_wal_senders => 12);
SELECT pg_read_file('postgresql.auto.conf') AS auto_conf;

-- Inside a transaction block (where ALTER SYSTEM is refused) nothing is
-- written before COMMIT, and ROLLBACK leaves the file as it was.
SELECT md5(pg_read_file('postgresql.auto.conf')) AS md5_before \gset
BEGIN;
SELECT name, previous_value, value, changed FROM pgml_repl.configure_primary(max_wal_senders => 20)
WHERE name = 'max_wal_senders';
SELECT md5(pg_read_file('postgresql.auto.conf')) = :'md5_before' AS unchanged_before_commit;
ROLLBACK;
SELECT md5(pg_read_file('postgresql.auto.conf')) = :'md5_before' AS unchanged_after_rollback;

BEGIN;
SELECT name, value, changed FROM pgml_repl.configure_primary(max_wal_senders => 20)
WHERE name = 'max_wal_senders';
COMMIT;
SELECT setting FROM pg_file_settings
WHERE sourcefile LIKE '%postgresql.auto.conf' AND name = 'max_wal_senders';

-- Bad arguments: clear errors, nothing written.
SELECT md5(pg_read_file('postgresql.auto.conf')) AS md5_before \gset
SELECT * FROM pgml_repl.configure_primary(NULL);
SELECT * FROM pgml_repl.configure_primary('');
SELECT * FROM pgml_repl.configure_primary('-main');
SELECT * FROM pgml_repl.configure_primary('main; rm -rf /');
SELECT * FROM pgml_repl.configure_primary(E'main\nrestore_command = x');
SELECT * FROM pgml_repl.configure_primary(repeat('s', 65));
SELECT * FROM pgml_repl.configure_primary(archive_command => '');
SELECT * FROM pgml_repl.configure_primary(archive_command => E'cp %p /a\nwal_level = minimal');
SELECT * FROM pgml_repl.configure_primary(archive_command => E'cp %p /a\r');
SELECT * FROM pgml_repl.configure_primary(max_wal_senders => 0);
SELECT * FROM pgml_repl.configure_primary(max_wal_senders => 262144);
SELECT * FROM pgml_repl.configure_primary(max_wal_senders => NULL);
-- in range for us, but the server's own check (connections + workers) rejects it
SELECT * FROM pgml_repl.configure_primary(max_wal_senders => 262100);
SELECT * FROM pgml_repl.configure_primary(pgbackrest_config => 'pgbackrest.conf');
SELECT * FROM pgml_repl.configure_primary(pgbackrest_config => '/etc/it''s.conf');
SELECT * FROM pgml_repl.configure_primary(pgbackrest_config => E'/etc/x\n.conf');
SELECT * FROM pgml_repl.configure_primary(archive_command => 'cp %p /a', pgbackrest_config => '/etc/pgbackrest.conf');
SELECT md5(pg_read_file('postgresql.auto.conf')) = :'md5_before' AS file_unchanged;

-- Put the scratch server back as it was.
ALTER SYSTEM RESET archive_mode;
ALTER SYSTEM RESET wal_level;
ALTER SYSTEM RESET archive_command;
ALTER SYSTEM RESET max_wal_senders;
SELECT pg_reload_conf();
SELECT pg_read_file('postgresql.auto.conf') AS auto_conf_after;
