-- Counting probe: 3 passing, 2 failing and 4 skipped assertions.
BEGIN;
SELECT plan(9);
SELECT pass('pass 1');
SELECT ok(true, 'pass 2');
SELECT is(1, 1, 'pass 3');
SELECT fail('fail 1');
SELECT is(1, 2, 'fail 2');
SELECT skip('four skipped', 4);
SELECT * FROM finish();
ROLLBACK;
