-- Hostile arguments to every function that writes a server file or renders
-- a script: quotes, newlines, '#', backslashes, control bytes, 10,000
-- character values, weak or unknown hba methods. Each gets a clear error
-- (SQLSTATE class as expected, message lower case, no trailing period, no
-- line break) and pg_hba.conf / postgresql.auto.conf stay byte-identical.
--
-- Already covered elsewhere (not repeated here): quote-and-DROP and newline
-- role names and trust/newline/'#' addresses (20_replication_user,
-- 21_hba_rules); stanza/archive_command/pgbackrest_config with a newline or
-- a quote in configure_primary (10_configure_primary); core-level quoting of
-- standby_setup/pgcat_config values (test/unit/replication/standby_setup_test.cpp,
-- pgcat_config_test.cpp) and arbitrary inputs (test/fuzz).
--
-- Autocommit on purpose: each statement COMMITs, so a failing call that had
-- queued a file write (written only at COMMIT) would show in the md5 check.
SET client_min_messages = warning;
SELECT plan(67);

CREATE TEMP TABLE files_before AS
SELECT md5(pg_read_file(current_setting('hba_file'))) AS hba,
       md5(pg_read_file('postgresql.auto.conf')) AS auto_conf;

CREATE ROLE pgmlr_hostile_repl LOGIN REPLICATION;

-- '<SQLSTATE class> ok' when q fails in that class with a well-formed
-- message; otherwise what went wrong.
CREATE FUNCTION pg_temp.verdict(q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    st text;
    msg text;
BEGIN
    BEGIN
        EXECUTE q;
        RETURN 'no error';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    END;
    IF msg = '' OR left(msg, 1) <> lower(left(msg, 1)) OR right(msg, 1) = '.'
       OR msg ~ '[\n\r]' OR length(msg) > 300 THEN
        RETURN format('%s bad message: %s', st, msg);
    END IF;
    RETURN left(st, 2) || ' ok';
END
$f$;

-- ------------------------------------------------------------------
-- PostgreSQL itself refuses NUL in text: no function ever sees one.
-- ------------------------------------------------------------------
SELECT throws_ok($$SELECT E'a\u0000b'$$, '42601', 'invalid Unicode escape value at or near "\u0000"',
                 'E''\u0000'' is refused by PostgreSQL itself');
SELECT throws_ok($$SELECT convert_from('\x610062'::bytea, 'UTF8')$$, '22021', NULL,
                 'a NUL byte cannot be smuggled in through convert_from either');

-- ------------------------------------------------------------------
-- allow_replica / disallow_replica / create_replication_user: addresses
-- ------------------------------------------------------------------
SELECT is(pg_temp.verdict(format('SELECT * FROM pgml_repl.allow_replica(%L, ''pgmlr_hostile_repl'')', a)), '22 ok',
          format('allow_replica refuses address %s', d))
FROM (VALUES
    (E'10.0.0.1''', 'with a single quote'),
    (E'10.0.0.1"', 'with a double quote'),
    (E'10.0.0.1\\', 'with a backslash'),
    (E'10.0.0.1\\n', 'with a backslash-n (not a newline)'),
    (E'10.0.0.1\x01', 'with a control byte \x01'),
    (E'10.0.0.1\r', 'with a carriage return'),
    (E'10.0.0.1\t/32', 'with a tab'),
    ('10.0.0.1,10.0.0.2', 'with a comma (two addresses)'),
    ('10.0.0.1 # pgml_replication', 'with our own marker comment'),
    (repeat('1', 10000), 'of 10,000 characters'),
    (repeat('1.', 5000), 'of 10,000 characters with dots'),
    ('db.example.com', 'that is a host name'),
    ('samenet', 'samenet'),
    ('ALL', 'ALL (any case)'),
    ('0.0.0.0/33', 'with an IPv4 mask over 32'),
    ('::1/129', 'with an IPv6 mask over 128'),
    ('10.0.0.1/08', 'with a zero-padded mask'),
    ('10.0.0.1/-1', 'with a negative mask'),
    ('', 'empty'),
    ('ｆｅ８０::1', 'in full-width digits')) v(a, d);

SELECT is(pg_temp.verdict(format('SELECT * FROM pgml_repl.disallow_replica(%L, ''pgmlr_hostile_repl'')', a)), '22 ok',
          format('disallow_replica refuses address %s', d))
FROM (VALUES (E'10.0.0.1\nhost all all 0.0.0.0/0 trust', 'with a newline and a rule'),
             (repeat('f', 10000), 'of 10,000 characters'),
             ('all', 'all')) v(a, d);

-- ------------------------------------------------------------------
-- methods
-- ------------------------------------------------------------------
SELECT is(pg_temp.verdict(format('SELECT * FROM pgml_repl.allow_replica(''10.0.0.9'', ''pgmlr_hostile_repl'', %L)', m)),
          '22 ok', format('allow_replica refuses method %s', d))
FROM (VALUES ('password', 'password (clear text)'),
             ('ident', 'ident'),
             ('reject', 'reject'),
             ('peer', 'peer'),
             ('md5 # x', 'md5 with a comment'),
             (E'md5\nhost all all 0.0.0.0/0 trust', 'md5 with a newline and a rule'),
             ('', 'empty'),
             (repeat('m', 10000), 'of 10,000 characters')) v(m, d);

-- ------------------------------------------------------------------
-- role names (name type: PostgreSQL truncates to 63 bytes before the call)
-- ------------------------------------------------------------------
SELECT is(pg_temp.verdict(format('SELECT * FROM pgml_repl.allow_replica(''10.0.0.9'', %L)', r)), '42 ok',
          format('allow_replica refuses role name %s', d))
FROM (VALUES ('a#b', 'with #'),
             (E'a\\b', 'with a backslash'),
             (E'a\x01b', 'with a control byte'),
             (E'a\tb', 'with a tab'),
             ('a b', 'with a blank'),
             ('+grp', 'starting with + (a group in pg_hba.conf)'),
             ('@file', 'starting with @ (a file in pg_hba.conf)'),
             ('public', 'public (reserved)')) v(r, d);
SELECT is(pg_temp.verdict(format('SELECT * FROM pgml_repl.create_replication_user(%L)', repeat('é', 5000))),
          '42 ok', 'create_replication_user refuses a 10,000-byte non-ASCII name (cut to 63 bytes by the name type)');

-- ------------------------------------------------------------------
-- configure_primary
-- ------------------------------------------------------------------
SELECT is(pg_temp.verdict(q), '22 ok', d)
FROM (VALUES
    ($$SELECT * FROM pgml_repl.configure_primary(stanza => 'a#b')$$, 'configure_primary refuses a stanza with #'),
    ($$SELECT * FROM pgml_repl.configure_primary(stanza => E'a\\b')$$, 'configure_primary refuses a stanza with a backslash'),
    ($$SELECT * FROM pgml_repl.configure_primary(stanza => repeat('s', 10000))$$,
     'configure_primary refuses a 10,000-character stanza'),
    ($$SELECT * FROM pgml_repl.configure_primary(archive_command => E'cp %p /a\r')$$,
     'configure_primary refuses an archive_command with a carriage return'),
    ($$SELECT * FROM pgml_repl.configure_primary(archive_command => E'cp %p /a\x01')$$,
     'configure_primary refuses an archive_command with a control byte'),
    ($$SELECT * FROM pgml_repl.configure_primary(max_wal_senders => -1)$$,
     'configure_primary refuses max_wal_senders -1'),
    ($$SELECT * FROM pgml_repl.configure_primary(max_wal_senders => 1000000)$$,
     'configure_primary refuses max_wal_senders 1000000'),
    ($$SELECT * FROM pgml_repl.configure_primary(pgbackrest_config => 'relative/pgbackrest.conf')$$,
     'configure_primary refuses a relative pgbackrest_config')) v(q, d);

-- ------------------------------------------------------------------
-- standby_setup / pgcat_config: scripts and TOML from hostile values
-- ------------------------------------------------------------------
SELECT is(pg_temp.verdict(q), '22 ok', d)
FROM (VALUES
    ($$SELECT pgml_repl.standby_setup(E'db1\nreboot', data_directory => '/d')$$,
     'standby_setup refuses a primary_host with a newline'),
    ($$SELECT pgml_repl.standby_setup('$(reboot)', data_directory => '/d')$$,
     'standby_setup refuses a primary_host with a command substitution'),
    ($$SELECT pgml_repl.standby_setup(repeat('h', 10000), data_directory => '/d')$$,
     'standby_setup refuses a 10,000-character primary_host'),
    ($$SELECT pgml_repl.standby_setup('db1', 0, data_directory => '/d')$$, 'standby_setup refuses port 0'),
    ($$SELECT pgml_repl.standby_setup('db1', 70000, data_directory => '/d')$$, 'standby_setup refuses port 70000'),
    ($$SELECT pgml_repl.standby_setup('db1', data_directory => 'relative')$$,
     'standby_setup refuses a relative data_directory'),
    ($$SELECT pgml_repl.standby_setup('db1', data_directory => E'/d\nrm -rf /')$$,
     'standby_setup refuses a data_directory with a newline'),
    ($$SELECT pgml_repl.standby_setup('db1', stanza => E'main\n', data_directory => '/d')$$,
     'standby_setup refuses a stanza with a newline'),
    ($$SELECT pgml_repl.standby_setup('db1', application_name => E'r1\x01', data_directory => '/d')$$,
     'standby_setup refuses an application_name with a control byte'),
    ($$SELECT pgml_repl.pgcat_config(ARRAY[E'r1\n[pools.evil]'], primary_host => 'db1')$$,
     'pgcat_config refuses a replica with a newline'),
    ($$SELECT pgml_repl.pgcat_config(ARRAY['[::1'], primary_host => 'db1')$$,
     'pgcat_config refuses an unclosed IPv6 bracket'),
    ($$SELECT pgml_repl.pgcat_config(ARRAY['r1:99999'], primary_host => 'db1')$$,
     'pgcat_config refuses a replica port over 65535'),
    ($$SELECT pgml_repl.pgcat_config('{}', pool => E'p\n[general]', primary_host => 'db1')$$,
     'pgcat_config refuses a pool name with a newline'),
    ($$SELECT pgml_repl.pgcat_config('{}', port => 0, primary_host => 'db1')$$, 'pgcat_config refuses port 0'),
    ($$SELECT pgml_repl.pgcat_config('{}', primary_host => E'db1"\n')$$,
     'pgcat_config refuses a primary_host with a quote and a newline')) v(q, d);

-- ------------------------------------------------------------------
-- nothing was written
-- ------------------------------------------------------------------
SELECT is(md5(pg_read_file(current_setting('hba_file'))), (SELECT hba FROM files_before),
          'pg_hba.conf is byte-identical');
SELECT is(md5(pg_read_file('postgresql.auto.conf')), (SELECT auto_conf FROM files_before),
          'postgresql.auto.conf is byte-identical');

SELECT * FROM finish();
DROP ROLE pgmlr_hostile_repl;
