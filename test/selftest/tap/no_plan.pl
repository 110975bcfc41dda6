# Counting probe: 2 passing assertions but no plan: 2 passed, 1 failed.
use strict;
use warnings;
use Test::More;
ok(1, 'a');
ok(1, 'b');
