# Counting probe: plans 6, passes 2, dies: 2 passed, 4 failed.
use strict;
use warnings;
use Test::More tests => 6;
ok(1, 'before the death 1');
ok(1, 'before the death 2');
die "the probe dies here\n";
