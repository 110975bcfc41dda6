# Counting probe: a file that skips as a whole counts as one skipped.
use strict;
use warnings;
use Test::More;
plan skip_all => 'the probe skips as a whole';
