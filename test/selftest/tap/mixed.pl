# Counting probe: 3 passing, 2 failing and 4 skipped assertions.
use strict;
use warnings;
use Test::More;
ok(1, 'pass 1');
ok(1, 'pass 2');
ok(1, 'pass 3');
ok(0, 'fail 1');
ok(0, 'fail 2');
SKIP: { skip 'four skipped', 4; ok(1) for 1 .. 4; }
done_testing();
