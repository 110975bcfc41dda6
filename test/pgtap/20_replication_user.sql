-- create_replication_user(): privileges, SCRAM storage whatever
-- password_encryption says, idempotence, refusals. All rolled back.
BEGIN;
SELECT plan(27);

CREATE ROLE tap_plain;
CREATE ROLE tap_granted;
GRANT USAGE ON SCHEMA pgml_repl TO tap_plain, tap_granted;
GRANT EXECUTE ON FUNCTION pgml_repl.create_replication_user(name, text, text) TO tap_granted;

SELECT ok(NOT has_function_privilege('tap_plain', 'pgml_repl.create_replication_user(name, text, text)', 'EXECUTE'),
          'PUBLIC cannot execute create_replication_user');
SELECT ok(NOT has_function_privilege('pg_monitor', 'pgml_repl.create_replication_user(name, text, text)', 'EXECUTE'),
          'pg_monitor cannot execute create_replication_user');
SET ROLE tap_plain;
SELECT throws_ok($$SELECT * FROM pgml_repl.create_replication_user('tap_x')$$, '42501',
                 'permission denied for function create_replication_user', 'a plain role is denied');
RESET ROLE;
SET ROLE tap_granted;
SELECT throws_ok($$SELECT * FROM pgml_repl.create_replication_user('tap_x')$$, '42501',
                 'permission denied for function create_replication_user',
                 'the C check denies a non-superuser even after GRANT EXECUTE');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pg_roles WHERE rolname = 'tap_x'), 0, 'no role was created by the denied calls');

-- SCRAM even with password_encryption = md5.
SET LOCAL password_encryption = 'md5';
CREATE TEMP TABLE r1 AS SELECT * FROM pgml_repl.create_replication_user('tap_repl');
SELECT is((SELECT created FROM r1), true, 'a new role is reported as created');
SELECT is((SELECT length(password) FROM r1), 32, 'a 32-character password is generated and returned');
SELECT ok((SELECT rolcanlogin AND rolreplication AND NOT rolsuper FROM pg_authid WHERE rolname = 'tap_repl'),
          'the role has LOGIN and REPLICATION and is no superuser');
SELECT ok((SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'tap_repl'),
          'the password is a SCRAM-SHA-256 verifier although password_encryption is md5');
SELECT ok((SELECT position((SELECT password FROM r1) IN rolpassword) = 0 FROM pg_authid WHERE rolname = 'tap_repl'),
          'the plaintext is not stored');

-- Idempotence.
CREATE TEMP TABLE v1 AS SELECT rolpassword FROM pg_authid WHERE rolname = 'tap_repl';
CREATE TEMP TABLE r2 AS SELECT * FROM pgml_repl.create_replication_user('tap_repl');
SELECT is((SELECT created FROM r2), false, 'a second call does not create the role again');
SELECT ok((SELECT password IS NULL FROM r2), 'a second call returns no password');
SELECT is((SELECT rolpassword FROM pg_authid WHERE rolname = 'tap_repl'), (SELECT rolpassword FROM v1),
          'a second call keeps the SCRAM verifier');

-- A caller's password: not echoed, SCRAM, replaces the old verifier.
CREATE TEMP TABLE r3 AS SELECT * FROM pgml_repl.create_replication_user('tap_repl', 'a caller secret');
SELECT ok((SELECT password IS NULL FROM r3), 'a caller-supplied password is not echoed');
SELECT ok((SELECT rolpassword LIKE 'SCRAM-SHA-256$%' AND rolpassword <> (SELECT rolpassword FROM v1)
             FROM pg_authid WHERE rolname = 'tap_repl'), 'a caller-supplied password replaces the verifier, as SCRAM');

-- Superusers are refused.
CREATE ROLE tap_super SUPERUSER;
SELECT throws_ok($$SELECT * FROM pgml_repl.create_replication_user('tap_super')$$, '42501',
                 'role "tap_super" is a superuser', 'an existing superuser role is refused');
SELECT ok((SELECT rolsuper FROM pg_authid WHERE rolname = 'tap_super'), 'the superuser role is unchanged');
SELECT throws_ok($$SELECT * FROM pgml_repl.create_replication_user('postgres')$$, '42501', 'role "postgres" is a superuser',
                 'the bootstrap superuser is refused');

-- Injection attempts in role names.
SELECT throws_ok($$SELECT * FROM pgml_repl.create_replication_user('x"; DROP ROLE postgres; --')$$, '42602',
                 'role name is not a plain identifier', 'a quote and statement in the role name are refused');
SELECT throws_ok($$SELECT * FROM pgml_repl.create_replication_user(E'a\nb')$$, '42602',
                 'role name is not a plain identifier', 'a newline in the role name is refused');
SELECT throws_ok($$SELECT * FROM pgml_repl.create_replication_user('it''s')$$, '42602',
                 'role name is not a plain identifier', 'a single quote in the role name is refused');
SELECT throws_ok($$SELECT * FROM pgml_repl.create_replication_user('pg_tap')$$, '42602',
                 'role name "pg_tap" is reserved', 'the pg_ prefix is refused');
SELECT is((SELECT count(*)::int FROM pg_roles WHERE rolname = 'postgres'), 1, 'postgres still exists');

-- Injection attempts in allow_from; the role is not created either.
SELECT throws_ok($$SELECT * FROM pgml_repl.create_replication_user('tap_r2', NULL, '10.0.0.1/32 trust')$$, '22023',
                 'address contains characters not allowed in pg_hba.conf', 'an address with a method is refused');
SELECT throws_ok($$SELECT * FROM pgml_repl.create_replication_user('tap_r2', NULL, E'0.0.0.0/0\nhost all all 0.0.0.0/0 trust')$$,
                 '22023', 'address contains characters not allowed in pg_hba.conf', 'an address with a newline is refused');
SELECT is((SELECT count(*)::int FROM pg_roles WHERE rolname = 'tap_r2'), 0, 'no role was created for a refused address');

-- A malformed verifier is refused rather than stored as a plaintext.
SELECT throws_ok($$SELECT * FROM pgml_repl.create_replication_user('tap_repl', 'SCRAM-SHA-256$4096:abc$def:ghi')$$,
                 '22023', 'malformed SCRAM-SHA-256 verifier', 'a malformed verifier is refused');

SELECT * FROM finish();
ROLLBACK;
