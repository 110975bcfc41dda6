-- Counting probe: a file that skips as a whole counts as one skipped.
\echo 1..0 # SKIP the probe skips as a whole
