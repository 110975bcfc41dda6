# Counting probe: passes 1, then bails out; files after it never run.
use strict;
use warnings;
use Test::More;
ok(1, 'before the bail-out');
BAIL_OUT('the probe stops the run');
