-- allow_replica() / disallow_replica(): marked replication lines in
-- pg_hba.conf, written at COMMIT (each statement here commits).
CREATE TEMP TABLE hba_before AS SELECT pg_read_file(current_setting('hba_file')) AS content;
-- The non-comment lines that mention replication, in file order.
CREATE TEMP VIEW hba_replication_lines AS
  SELECT n AS line, l AS text
    FROM regexp_split_to_table(pg_read_file(current_setting('hba_file')), E'\n') WITH ORDINALITY AS t(l, n)
   WHERE l ~ '^[^#]*replication';
CREATE TEMP VIEW hba_unchanged AS
  SELECT pg_read_file(current_setting('hba_file')) = (SELECT content FROM hba_before) AS unchanged;

SELECT * FROM hba_replication_lines;

-- A new rule goes before the first replication line, so it wins.
SELECT * FROM pgml_repl.allow_replica('10.0.0.5');
SELECT * FROM hba_replication_lines;
-- Idempotent: the same rule again, however the address is written.
SELECT md5(pg_read_file(current_setting('hba_file'))) AS after_first \gset
SELECT * FROM pgml_repl.allow_replica('10.0.0.5/32');
SELECT md5(pg_read_file(current_setting('hba_file'))) = :'after_first' AS byte_identical;

-- IPv6, networks (host bits cleared), other roles and methods.
SELECT * FROM pgml_repl.allow_replica('FD00:0:0:0::1/64', 'replication_user', 'md5');
SELECT * FROM pgml_repl.allow_replica('192.168.7.77/24', 'standby_2');
-- Another method for the same role and address replaces our line in place.
SELECT * FROM pgml_repl.allow_replica('10.0.0.5', method => 'cert');
SELECT * FROM hba_replication_lines;
-- The server's own parser reads every line.
SELECT line_number, type, database, user_name, address, netmask, auth_method, error
  FROM pg_hba_file_rules WHERE 'replication' = ANY(database) ORDER BY line_number;

-- allow then disallow in one transaction: no change at all.
BEGIN;
SELECT * FROM pgml_repl.allow_replica('172.16.0.0/12');
SELECT * FROM pgml_repl.disallow_replica('172.16.0.0/12');
COMMIT;
SELECT count(*) AS lines_172 FROM hba_replication_lines WHERE text ~ '172\.16';

-- Nothing is written before COMMIT; ROLLBACK writes nothing.
BEGIN;
SELECT * FROM pgml_repl.allow_replica('10.99.0.1');
SELECT count(*) AS lines_before_commit FROM hba_replication_lines WHERE text ~ '10\.99\.0\.1';
ROLLBACK;
SELECT count(*) AS lines_after_rollback FROM hba_replication_lines WHERE text ~ '10\.99\.0\.1';

-- Refused input; the file is not touched.
SELECT md5(pg_read_file(current_setting('hba_file'))) AS before_errors \gset
SELECT * FROM pgml_repl.allow_replica('all');
SELECT * FROM pgml_repl.allow_replica('samenet');
SELECT * FROM pgml_repl.allow_replica('db.example.com');
SELECT * FROM pgml_repl.allow_replica('10.0.0.1/32 trust');
SELECT * FROM pgml_repl.allow_replica(E'0.0.0.0/0\nhost all all 0.0.0.0/0 trust');
SELECT * FROM pgml_repl.allow_replica('#');
SELECT * FROM pgml_repl.allow_replica('"10.0.0.1"');
SELECT * FROM pgml_repl.allow_replica('10.0.0.1/33');
SELECT * FROM pgml_repl.allow_replica('::1/129');
SELECT * FROM pgml_repl.allow_replica('10.0.0.1', 'replication_user', 'trust');
SELECT * FROM pgml_repl.allow_replica('10.0.0.1', 'replication_user', 'password');
SELECT * FROM pgml_repl.allow_replica('10.0.0.1', 'replication_user', 'ldap');
SELECT * FROM pgml_repl.allow_replica('10.0.0.1', 'replication_user', E'md5\nhost all all 0.0.0.0/0 trust');
SELECT * FROM pgml_repl.allow_replica('10.0.0.1', 'x"; DROP ROLE postgres; --');
SELECT * FROM pgml_repl.allow_replica('10.0.0.1', 'pg_monitor');
SELECT * FROM pgml_repl.allow_replica(NULL);
SELECT * FROM pgml_repl.allow_replica('10.0.0.1', NULL);
SELECT * FROM pgml_repl.allow_replica('10.0.0.1', 'replication_user', NULL);
SELECT * FROM pgml_repl.disallow_replica('10.0.0.1 # x');
SELECT md5(pg_read_file(current_setting('hba_file'))) = :'before_errors' AS unchanged_after_errors;

-- Hand-written lines: a matching one is left alone (with a NOTICE); a file
-- that would not parse is never written. (COPY writes the test file: the
-- initdb file has no tabs or backslashes, which COPY would escape.)
CREATE TEMP TABLE hand_written AS
  SELECT n, l FROM regexp_split_to_table(rtrim(pg_read_file(current_setting('hba_file')), E'\n'), E'\n')
                   WITH ORDINALITY AS t(l, n);
INSERT INTO hand_written VALUES (1000, 'host replication replication_user 10.9.9.9/32 scram-sha-256');
DO $$ BEGIN
  EXECUTE format('COPY (SELECT l FROM hand_written ORDER BY n) TO %L', current_setting('hba_file'));
END $$;
SELECT * FROM pgml_repl.disallow_replica('10.9.9.9');
SELECT * FROM pgml_repl.allow_replica('10.9.9.9');
SELECT count(*) AS hand_written_lines FROM hba_replication_lines WHERE text ~ '10\.9\.9\.9';
INSERT INTO hand_written VALUES (1001, 'host all all 10.0.0.0/8 no-such-method');
DO $$ BEGIN
  EXECUTE format('COPY (SELECT l FROM hand_written ORDER BY n) TO %L', current_setting('hba_file'));
END $$;
SELECT md5(pg_read_file(current_setting('hba_file'))) AS broken \gset
SELECT * FROM pgml_repl.allow_replica('10.0.0.8');
SELECT md5(pg_read_file(current_setting('hba_file'))) = :'broken' AS not_written;
-- Put our lines back as they were before the hand edits.
DELETE FROM hand_written WHERE n >= 1000;
DO $$ BEGIN
  EXECUTE format('COPY (SELECT l FROM hand_written ORDER BY n) TO %L', current_setting('hba_file'));
END $$;

-- What the server changes in what was written is said in a NOTICE: a bare
-- address that looks like a network is one host; a misspelt role gets the
-- nearest replication role in the HINT, never "create the misspelt one".
CREATE ROLE hba_repl_near LOGIN REPLICATION;
BEGIN;
SELECT * FROM pgml_repl.allow_replica('10.0.12.0', 'hba_repl_naer');
ROLLBACK;
DROP ROLE hba_repl_near;

-- Superuser only.
CREATE ROLE hba_test_plain;
GRANT USAGE ON SCHEMA pgml_repl TO hba_test_plain;
SET ROLE hba_test_plain;
SELECT * FROM pgml_repl.allow_replica('10.0.0.7');
SELECT * FROM pgml_repl.disallow_replica('10.0.0.7');
RESET ROLE;
REVOKE USAGE ON SCHEMA pgml_repl FROM hba_test_plain;
DROP ROLE hba_test_plain;

-- disallow removes only our lines; a second disallow changes nothing.
SELECT * FROM pgml_repl.disallow_replica('10.0.0.5');
SELECT * FROM pgml_repl.disallow_replica('10.0.0.5');
SELECT * FROM pgml_repl.disallow_replica('fd00::1/64');
SELECT * FROM pgml_repl.disallow_replica('192.168.7.0/24', 'standby_2');
SELECT * FROM hba_unchanged;
