# The Hub's rate limit: a 429 that carries only the IETF draft headers
# (RateLimit: "resolvers";r=0;t=N, no Retry-After) pauses every request to
# the Hub until the window ends, in this cycle's job and in the next ones
# (the pause lives in the worker, not in a job). Meanwhile
# prefetch_status() shows state 'paused' and paused_until; afterwards the
# files arrive. Counted by the test Hub (/_stats, the request log).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgmlReplHub;
use PgmlReplPrefetch;

my $window = 12;    # seconds of 429s from the first resolve request
my $cache = PostgreSQL::Test::Utils::tempdir('primary_hf') . '/hub';
mkdir $cache;
my $rev = '2' x 40;
my $hub = PgmlReplHub->start(cache => $cache);
my ($primary, $standby, $standby_cache) = prefetch_pair(primary_cache => $cache, hub => $hub, prefix => 'prl');

my $folder = 'models--org--limited';
my @blobs;
for my $k (1 .. 3)
{
	my $content = join('', map { chr(($_ * 13 + $k) % 256) } 1 .. 4096) x 16;
	push @blobs, add_cache_file($cache, $folder, $rev, "part-$k.bin", $content, 1);
}
# Every resolve request gets the Hub's 429 for $window seconds from the first one.
$hub->settings({ resolve_429_window => $window });
wait_prefetch_complete($primary, 'state') // die 'the primary did not publish';
$primary->wait_for_catchup($standby);
$standby->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');

ok($standby->poll_query_until('postgres',
		"SELECT state = 'paused' AND paused_until > now() AND detail LIKE '%rate limit%' FROM pgml_repl.prefetch_status()"),
	'after the 429 the standby is paused by the Hub\'s rate limit, paused_until in the future');
my $limited_at_pause = $hub->stats->{limited};
cmp_ok($limited_at_pause, '>=', 1, 'the Hub answered 429');

# The pause outlives the job: prefetch off cancels this cycle's job, on
# starts a new job, which must not ask the Hub before the window ends.
$standby->safe_psql('postgres', 'ALTER SYSTEM SET pgml_replication.prefetch = off');
$standby->reload;
ok($standby->poll_query_until('postgres', "SELECT state = 'disabled' FROM pgml_repl.prefetch_status()"),
	'prefetch off: the job is canceled');
$standby->safe_psql('postgres', 'ALTER SYSTEM SET pgml_replication.prefetch = on');
$standby->reload;
# After 'disabled', 'paused' can only come from a new job.
ok($standby->poll_query_until('postgres', "SELECT state = 'paused' AND paused_until > now() FROM pgml_repl.prefetch_status()"),
	'the next cycle\'s job is paused too');
is($hub->stats->{limited}, $limited_at_pause, 'and it sent no request');

ok($standby->poll_query_until('postgres',
		"SELECT state = 'idle' AND queued_files = 0 AND files_failed = 0 AND paused_until IS NULL FROM pgml_repl.prefetch_status()"),
	'after the window the files arrive');
ok(-f "$standby_cache/$folder/blobs/$_", "blob $_ is in place") for @blobs;

my $stats = $hub->stats;
# Only the requests already on their way when the first 429 came back may
# meet the window: one per file at most (before: 13 requests for 3 files).
cmp_ok($stats->{limited}, '<=', scalar(@blobs), "no request inside the window after the first 429 ($stats->{limited} limited)")
  or diag(explain($stats));
my @log = @{ $hub->log };
my ($last_429) = sort { $b <=> $a } map { $_->{time} } grep { ($_->{status} // 0) == 429 } @log;
my ($first_ok) = sort { $a <=> $b } map { $_->{time} } grep { ($_->{status} // 0) != 429 } @log;
ok(defined $first_ok && $first_ok >= $stats->{window}{end}, 'the first answered request came after the window ended')
  or diag(explain([ $stats->{window}, $first_ok ]));
cmp_ok($first_ok - $last_429, '>=', $window - 1, 'and the requests paused for the window, not for a per-file backoff');
is(join(',', bad_blobs($standby_cache)), '', 'every blob on the standby matches its name');

$hub->stop;
done_testing();
