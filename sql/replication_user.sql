-- create_replication_user(): a LOGIN REPLICATION role with a SCRAM-SHA-256
-- verifier. Generated passwords are never printed, only their length.

-- A new role with a generated password.
SELECT role_name, password IS NOT NULL AS password_returned, length(password) AS password_length,
       password ~ '^[A-HJ-NP-Za-km-z2-9]+$' AS unambiguous_alphabet, created, hba_rule
  FROM pgml_repl.create_replication_user();
SELECT rolname, rolcanlogin, rolreplication, rolsuper, rolpassword LIKE 'SCRAM-SHA-256$4096:%' AS scram
  FROM pg_authid WHERE rolname = 'replication_user';

-- Again: the SCRAM password is kept and nothing is returned.
CREATE TEMP TABLE first_secret AS SELECT rolpassword FROM pg_authid WHERE rolname = 'replication_user';
SELECT role_name, password IS NULL AS password_kept, created, hba_rule
  FROM pgml_repl.create_replication_user('replication_user');
SELECT rolpassword = (SELECT rolpassword FROM first_secret) AS same_verifier
  FROM pg_authid WHERE rolname = 'replication_user';

-- A caller's password is never echoed and is stored as SCRAM even when
-- password_encryption says md5.
SET password_encryption = 'md5';
SELECT * FROM pgml_repl.create_replication_user('repl_two', 'correct horse battery staple');
SELECT rolname, rolcanlogin, rolreplication, rolpassword LIKE 'SCRAM-SHA-256$%' AS scram
  FROM pg_authid WHERE rolname = 'repl_two';
-- A new password for an existing role replaces the verifier.
SELECT * FROM pgml_repl.create_replication_user('repl_two', 'another secret');
RESET password_encryption;

-- A ready SCRAM verifier is stored as it is.
SELECT * FROM pgml_repl.create_replication_user('repl_three',
  'SCRAM-SHA-256$4096:ZW1n0AJ1QmC9ijxy2kLX4g==$kGvfIn0btg2qTgUyTFjmCiPJaoVUzZwEm0M3Up2czso=:1SdDs8Nl6ATZRvm3DgwU/6CgatmqmgKKq/uv7FRs2VY=');
SELECT rolpassword = 'SCRAM-SHA-256$4096:ZW1n0AJ1QmC9ijxy2kLX4g==$kGvfIn0btg2qTgUyTFjmCiPJaoVUzZwEm0M3Up2czso=:1SdDs8Nl6ATZRvm3DgwU/6CgatmqmgKKq/uv7FRs2VY=' AS stored_as_is
  FROM pg_authid WHERE rolname = 'repl_three';

-- An existing role with an md5 password gets a new, generated one.
SET password_encryption = 'md5';
CREATE ROLE repl_md5 LOGIN PASSWORD 'old md5 secret';
RESET password_encryption;
SELECT role_name, password IS NOT NULL AS password_returned, length(password) AS password_length, created
  FROM pgml_repl.create_replication_user('repl_md5');
SELECT rolpassword LIKE 'SCRAM-SHA-256$%' AS scram FROM pg_authid WHERE rolname = 'repl_md5';

-- An existing role without password, LOGIN or REPLICATION is brought up to date.
CREATE ROLE repl_plain NOLOGIN;
SELECT role_name, password IS NOT NULL AS password_returned, created
  FROM pgml_repl.create_replication_user('repl_plain');
SELECT rolcanlogin, rolreplication, rolpassword LIKE 'SCRAM-SHA-256$%' AS scram
  FROM pg_authid WHERE rolname = 'repl_plain';

-- Mixed-case names are exact names, quoted everywhere.
SELECT role_name, created FROM pgml_repl.create_replication_user('Repl_Mixed', 'pw for mixed');
SELECT rolname FROM pg_roles WHERE rolname ILIKE 'repl_mixed';

-- allow_from also adds the pg_hba.conf rules (written at COMMIT): the
-- replication line and the database line for fetching blobs (issue 12).
SELECT role_name, password IS NULL AS password_kept, created, hba_rule
  FROM pgml_repl.create_replication_user('repl_two', NULL, '10.1.2.3');
SELECT regexp_replace(l, '\s+', ' ', 'g') AS rule_line
  FROM regexp_split_to_table(pg_read_file(current_setting('hba_file')), E'\n') AS l
  WHERE l ~ '10\.1\.2\.3/32.*# pgml_replication$' ORDER BY 1;
-- Every role it creates or changes may fetch blobs.
SELECT has_function_privilege('repl_two', 'pgml_repl.hf_blob_read(text, bigint, integer)', 'EXECUTE') AS can_execute,
       has_table_privilege('repl_two', 'pgml_repl.hf_manifest', 'SELECT') AS can_select,
       has_schema_privilege('repl_two', 'pgml_repl', 'USAGE') AS can_use_schema;

-- Refused: superusers, reserved and non-plain names, bad passwords, bad addresses.
SELECT * FROM pgml_repl.create_replication_user('postgres');
SELECT * FROM pgml_repl.create_replication_user('pg_monitor');
SELECT * FROM pgml_repl.create_replication_user('public');
SELECT * FROM pgml_repl.create_replication_user('CURRENT_USER');
SELECT * FROM pgml_repl.create_replication_user('x"; DROP ROLE postgres; --');
SELECT * FROM pgml_repl.create_replication_user(E'bad\nname');
SELECT * FROM pgml_repl.create_replication_user('it''s');
SELECT * FROM pgml_repl.create_replication_user('1abc');
SELECT * FROM pgml_repl.create_replication_user('');
SELECT * FROM pgml_repl.create_replication_user(NULL);
SELECT * FROM pgml_repl.create_replication_user('ok_name', '');
SELECT * FROM pgml_repl.create_replication_user('ok_name', 'md5' || repeat('a', 32));
SELECT * FROM pgml_repl.create_replication_user('ok_name', 'SCRAM-SHA-256$4096:abc');
SELECT * FROM pgml_repl.create_replication_user('ok_name', NULL, '10.0.0.1/32 trust');
SELECT * FROM pgml_repl.create_replication_user('ok_name', NULL, 'all');
SELECT count(*) AS ok_name_roles FROM pg_roles WHERE rolname = 'ok_name';
SELECT count(*) AS postgres_roles FROM pg_roles WHERE rolname = 'postgres';

-- Superuser only.
CREATE ROLE repl_test_plain;
GRANT USAGE ON SCHEMA pgml_repl TO repl_test_plain;
SET ROLE repl_test_plain;
SELECT * FROM pgml_repl.create_replication_user('zz');
RESET ROLE;

-- Leave the scratch server clean.
SELECT * FROM pgml_repl.disallow_replica('10.1.2.3', 'repl_two');
SELECT * FROM pgml_repl.disallow_blob_fetch('10.1.2.3', 'repl_two');
REVOKE USAGE ON SCHEMA pgml_repl FROM repl_test_plain;
-- The grants of create_replication_user() go with the roles.
DROP OWNED BY replication_user, repl_two, repl_three, repl_md5, repl_plain, "Repl_Mixed";
DROP ROLE replication_user, repl_two, repl_three, repl_md5, repl_plain, "Repl_Mixed", repl_test_plain;
