-- allow_replica() / disallow_replica(): privileges, transactions
-- (COMMIT writes, ROLLBACK and ROLLBACK TO SAVEPOINT do not), idempotence,
-- injection attempts. Runs without an outer transaction because it needs
-- real COMMITs and ROLLBACKs; the values seen inside transactions are kept in
-- psql variables and asserted afterwards. Leaves pg_hba.conf as it found it.
\set hba 'pg_read_file(current_setting(''hba_file''))'
SELECT plan(31);
CREATE TEMP TABLE hba_before AS SELECT :hba AS content;

-- Privileges.
CREATE ROLE tap_hba_plain;
CREATE ROLE tap_hba_granted;
GRANT USAGE ON SCHEMA pgml_repl TO tap_hba_plain, tap_hba_granted;
GRANT EXECUTE ON FUNCTION pgml_repl.allow_replica(text, name, text), pgml_repl.disallow_replica(text, name)
  TO tap_hba_granted;
SELECT ok(NOT has_function_privilege('tap_hba_plain', 'pgml_repl.allow_replica(text, name, text)', 'EXECUTE'),
          'PUBLIC cannot execute allow_replica');
SELECT ok(NOT has_function_privilege('tap_hba_plain', 'pgml_repl.disallow_replica(text, name)', 'EXECUTE'),
          'PUBLIC cannot execute disallow_replica');
SET ROLE tap_hba_plain;
SELECT throws_ok($$SELECT * FROM pgml_repl.allow_replica('10.20.30.1')$$, '42501',
                 'permission denied for function allow_replica', 'a plain role cannot call allow_replica');
SELECT throws_ok($$SELECT * FROM pgml_repl.disallow_replica('10.20.30.1')$$, '42501',
                 'permission denied for function disallow_replica', 'a plain role cannot call disallow_replica');
RESET ROLE;
SET ROLE tap_hba_granted;
SELECT throws_ok($$SELECT * FROM pgml_repl.allow_replica('10.20.30.1')$$, '42501',
                 'permission denied for function allow_replica', 'the C check denies allow_replica after GRANT');
SELECT throws_ok($$SELECT * FROM pgml_repl.disallow_replica('10.20.30.1')$$, '42501',
                 'permission denied for function disallow_replica', 'the C check denies disallow_replica after GRANT');
RESET ROLE;
REVOKE USAGE ON SCHEMA pgml_repl FROM tap_hba_plain, tap_hba_granted;
DROP OWNED BY tap_hba_granted;
DROP ROLE tap_hba_plain, tap_hba_granted;

-- ROLLBACK: nothing written before COMMIT, nothing after ROLLBACK.
BEGIN;
SELECT changed AS tx_changed FROM pgml_repl.allow_replica('10.20.30.40') \gset
SELECT md5(:hba) AS tx_md5 \gset
SELECT count(*) AS tx_temp_files FROM pg_ls_dir(regexp_replace(current_setting('hba_file'), '/[^/]*$', '')) AS f
 WHERE f LIKE '%.pgml_repl.tmp' \gset
ROLLBACK;
SELECT is(:'tx_changed'::boolean, true, 'allow_replica inside a transaction reports a change');
SELECT is(:'tx_md5'::text, md5((SELECT content FROM hba_before)), 'nothing is written before COMMIT');
SELECT is(:'tx_temp_files'::int, 0, 'no temp file exists before COMMIT');
SELECT is(md5(:hba), md5((SELECT content FROM hba_before)), 'ROLLBACK leaves pg_hba.conf byte-identical');

-- COMMIT writes the rule, the server parses it, the temp file is gone.
SELECT hba_rule AS c_rule, changed AS c_changed FROM pgml_repl.allow_replica('10.20.30.40') \gset
SELECT is(:'c_changed'::boolean, true, 'allow_replica reports a change');
SELECT ok(position(:'c_rule' || E'\n' IN :hba) > 0, 'COMMIT wrote the returned rule line');
SELECT is((SELECT count(*)::int FROM pg_hba_file_rules
            WHERE address = '10.20.30.40' AND user_name = '{replication_user}' AND error IS NULL), 1,
          'the server parses the new rule');
SELECT is((SELECT count(*)::int FROM pg_ls_dir(regexp_replace(current_setting('hba_file'), '/[^/]*$', '')) AS f
            WHERE f LIKE '%.pgml_repl.tmp'), 0, 'no temp file is left after COMMIT');
SELECT md5(:hba) AS after_allow \gset
SELECT changed AS again_changed FROM pgml_repl.allow_replica('10.20.30.40/32') \gset
SELECT is(:'again_changed'::boolean, false, 'a second allow reports no change');
SELECT is(md5(:hba), :'after_allow'::text, 'a second allow leaves the file byte-identical');

-- ROLLBACK TO SAVEPOINT forgets the edits made after the savepoint, also
-- when the savepoint came after the transaction's first edit.
BEGIN;
SELECT changed AS sp_a FROM pgml_repl.allow_replica('10.20.30.50') \gset
SAVEPOINT s;
SELECT changed AS sp_b FROM pgml_repl.allow_replica('10.20.30.51') \gset
ROLLBACK TO SAVEPOINT s;
SELECT changed AS sp_b_again FROM pgml_repl.disallow_replica('10.20.30.51') \gset
COMMIT;
SELECT is(:'sp_b_again'::boolean, false, 'after ROLLBACK TO SAVEPOINT the rolled-back edit is no longer pending');
SELECT ok(position('10.20.30.50/32' IN :hba) > 0, 'the edit before the savepoint was committed');
SELECT ok(position('10.20.30.51' IN :hba) = 0, 'the edit after the savepoint was not');
BEGIN;
SAVEPOINT s;
SELECT changed AS sp_c FROM pgml_repl.allow_replica('10.20.30.52') \gset
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT ok(position('10.20.30.52' IN :hba) = 0, 'an edit rolled back to a savepoint before it is not written');
-- RELEASE hands the edit to the enclosing savepoint, whose rollback drops it;
-- the edit made before both savepoints stays.
BEGIN;
SELECT changed AS nest_a FROM pgml_repl.allow_replica('10.20.30.53') \gset
SAVEPOINT s1;
SAVEPOINT s2;
SELECT changed AS nest_b FROM pgml_repl.allow_replica('10.20.30.54') \gset
RELEASE SAVEPOINT s2;
ROLLBACK TO SAVEPOINT s1;
COMMIT;
SELECT ok(position('10.20.30.53/32' IN :hba) > 0, 'the edit before the nested savepoints was committed');
SELECT ok(position('10.20.30.54' IN :hba) = 0, 'an edit released into a rolled-back savepoint is not written');

-- Injection attempts: refused, file unchanged.
SELECT md5(:hba) AS before_injection \gset
SELECT throws_ok($$SELECT * FROM pgml_repl.allow_replica('10.0.0.1/32 trust')$$, '22023', NULL,
                 'an address followed by a method is refused');
SELECT throws_ok($$SELECT * FROM pgml_repl.allow_replica(E'0.0.0.0/0\nhost all all 0.0.0.0/0 trust')$$, '22023', NULL,
                 'an address with a newline and a second rule is refused');
SELECT throws_ok($$SELECT * FROM pgml_repl.allow_replica('#')$$, '22023', NULL, 'a comment sign is refused');
SELECT throws_ok($$SELECT * FROM pgml_repl.allow_replica('10.0.0.1', 'x"; DROP ROLE postgres; --')$$, '42602', NULL,
                 'a role name with a quote is refused');
SELECT throws_ok($$SELECT * FROM pgml_repl.allow_replica('10.0.0.1', E'r\nhost all all 0.0.0.0/0 trust')$$, '42602', NULL,
                 'a role name with a newline is refused');
SELECT throws_ok($$SELECT * FROM pgml_repl.allow_replica('10.0.0.1', 'replication_user', 'trust')$$, '22023', NULL,
                 'the trust method is refused');
SELECT is(md5(:hba), :'before_injection'::text, 'pg_hba.conf is unchanged after the refused calls');

-- Clean up: our lines go, the file is as it was.
SELECT changed AS d1 FROM pgml_repl.disallow_replica('10.20.30.40') \gset
SELECT changed AS d2 FROM pgml_repl.disallow_replica('10.20.30.50') \gset
SELECT changed AS d3 FROM pgml_repl.disallow_replica('10.20.30.53') \gset
SELECT ok(:'d1'::boolean AND :'d2'::boolean AND :'d3'::boolean, 'disallow_replica removes the rules added here');
SELECT is(:hba, (SELECT content FROM hba_before), 'pg_hba.conf is byte-identical to how the test found it');

SELECT * FROM finish();
