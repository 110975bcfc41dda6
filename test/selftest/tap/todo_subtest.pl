# Counting probe: a failing TODO is skipped, a passing TODO passes, a
# subtest counts once (its inner lines are its own): 3 passed, 1 skipped.
use strict;
use warnings;
use Test::More;
ok(1, 'plain');
TODO: {
	local $TODO = 'not yet';
	ok(0, 'failing todo');
	ok(1, 'passing todo');
}
subtest 'inner' => sub { ok(1, 'inner 1'); ok(1, 'inner 2'); };
done_testing();
