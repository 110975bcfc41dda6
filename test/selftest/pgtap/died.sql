-- Counting probe: plans 5, passes 2, then an SQL error ends the file:
-- 2 passed, 3 failed.
BEGIN;
SELECT plan(5);
SELECT pass('before the error 1');
SELECT pass('before the error 2');
SELECT pgml_repl_selftest_no_such_function();
SELECT pass('never reached');
ROLLBACK;
