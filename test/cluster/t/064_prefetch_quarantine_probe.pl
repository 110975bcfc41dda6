# The quarantine's cheap question. When the hold of a file whose bytes did
# not match its name ends, the worker first asks the Hub (a HEAD of the
# resolve URL) what it serves for that file now. The same answer (ETag and
# size) as when the file was held costs that one request, no download, and
# holds the file again for twice as long; a changed answer is downloaded.
# A file the Hub serves longer than the manifest lists is held the same way
# (its body is refused as soon as it outgrows the size), not fetched again.
# The Hub serves its own copy of the primary's cache, so changing what the
# Hub serves does not change the manifest (a changed row releases a hold by
# itself: 062_prefetch_quarantine.pl). Counted by the test Hub's request log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgmlReplHub;
use PgmlReplPrefetch;

my $primary_cache = PostgreSQL::Test::Utils::tempdir('primary_hf') . '/hub';
my $hub_cache = PostgreSQL::Test::Utils::tempdir('hub_hf') . '/hub';
mkdir $_ for $primary_cache, $hub_cache;
my $rev = '5' x 40;
my ($same_folder, $changed_folder, $longer_folder) = ('models--org--same', 'models--org--changed', 'models--org--longer');

sub content { my ($seed) = @_; return join('', map { chr(($_ * 7 + $seed) % 256) } 1 .. 4096) x 16 }

my ($same, $changed);
for my $root ($primary_cache, $hub_cache)
{
	$same = add_cache_file($root, $same_folder, $rev, 'same.bin', content(1), 1);
	$changed = add_cache_file($root, $changed_folder, $rev, 'changed.bin', content(2), 1);
}
# longer.bin: the Hub serves a longer file than the manifest lists. Its
# body is refused once it outgrows the manifest's size, and held the same.
my $longer = add_cache_file($primary_cache, $longer_folder, $rev, 'longer.bin', content(4), 1);
add_cache_file($hub_cache, $longer_folder, $rev, 'longer.bin', content(4) . 'and more', 1);

my $hub = PgmlReplHub->start(cache => $hub_cache);
$hub->settings({ wrong_bytes => [ $same, $changed ] });
my ($primary, $standby, $standby_cache) =
  prefetch_pair(primary_cache => $primary_cache, hub => $hub, prefix => 'pqp');
wait_prefetch_complete($primary, 'state') // die 'the primary did not publish';
$primary->wait_for_catchup($standby);
$standby->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');

ok($standby->poll_query_until('postgres',
		"SELECT count(*) = 3 AND min(next_try_at) > now() + interval '30 seconds' FROM pgml_repl.prefetch_queue()
		  WHERE status = 'held'
		    AND last_error LIKE CASE path WHEN 'longer.bin' THEN '%size mismatch%' ELSE '%checksum mismatch%' END"),
	'the three files are held (two for their checksum, one for its size), about a minute away')
  or diag($standby->safe_psql('postgres', 'SELECT * FROM pgml_repl.prefetch_queue()'));
my $first_hold_ends = $standby->safe_psql('postgres',
	'SELECT extract(epoch FROM max(next_try_at)) FROM pgml_repl.prefetch_queue()');

sub count_requests
{
	my ($method, $re) = @_;
	return scalar(grep { $_->{method} eq $method && $_->{path} =~ $re } @{ $hub->log });
}
my %re = (
	same_head => qr{^/org/same/resolve/},
	same_get => qr{^/cdn/\Q$same_folder\E/},
	changed_head => qr{^/org/changed/resolve/},
	changed_get => qr{^/cdn/\Q$changed_folder\E/},
	longer_head => qr{^/org/longer/resolve/},
	longer_get => qr{^/cdn/\Q$longer_folder\E/},);
my %before = (
	same_head => count_requests('HEAD', $re{same_head}),
	same_get => count_requests('GET', $re{same_get}),
	changed_head => count_requests('HEAD', $re{changed_head}),
	changed_get => count_requests('GET', $re{changed_get}),
	longer_head => count_requests('HEAD', $re{longer_head}),
	longer_get => count_requests('GET', $re{longer_get}),);
is($before{same_get}, 1, 'the wrong bytes of same.bin were downloaded once');
is($before{changed_get}, 1, 'and those of changed.bin once');
is($before{longer_get}, 1, 'and longer.bin was asked once');

# Cycles run while the files are held (the naptime is 1 s): none asks.
my $cycles = prefetch_status($standby, 'cycles');
ok($standby->poll_query_until('postgres', "SELECT cycles >= $cycles + 3 FROM pgml_repl.prefetch_status()"),
	'three more cycles ran');
ok(time() < $first_hold_ends, 'before the holds end');
is(count_requests('HEAD', $re{same_head}) + count_requests('HEAD', $re{changed_head})
	  + count_requests('HEAD', $re{longer_head}),
	$before{same_head} + $before{changed_head} + $before{longer_head}, 'no HEAD while held');

# While both are held, the Hub starts serving another file as changed.bin:
# another blob of the same size, so another ETag.
unlink "$hub_cache/$changed_folder/snapshots/$rev/changed.bin" or die $!;
my $changed_now = add_cache_file($hub_cache, $changed_folder, $rev, 'changed.bin', content(3), 1);

# Both holds end (the first lasts a minute); the naptime is 1 s, so the
# next cycle asks. Bounded: two minutes past the later hold's end.
my $deadline = $first_hold_ends + 120;
sleep 1
  while time() < $deadline
  && (count_requests('HEAD', $re{same_head}) == $before{same_head}
	|| count_requests('HEAD', $re{longer_head}) == $before{longer_head}
	|| count_requests('GET', $re{changed_get}) == $before{changed_get});

is(count_requests('HEAD', $re{same_head}) - $before{same_head}, 1,
	'same.bin: one HEAD asked what the Hub serves now');
is(count_requests('GET', $re{same_get}) - $before{same_get}, 0, 'same.bin: the same answer is not downloaded again');
ok($standby->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pgml_repl.prefetch_queue()
		  WHERE path = 'same.bin' AND status = 'held' AND last_error LIKE '%checksum mismatch%'
		    AND next_try_at > now() + interval '90 seconds'"),
	'same.bin: held again, now for about two minutes (the delay doubles)')
  or diag($standby->safe_psql('postgres', 'SELECT * FROM pgml_repl.prefetch_queue()'));

is(count_requests('HEAD', $re{longer_head}) - $before{longer_head}, 1, 'longer.bin: one HEAD');
is(count_requests('GET', $re{longer_get}) - $before{longer_get}, 0, 'longer.bin: the same longer file is not asked for');
ok($standby->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pgml_repl.prefetch_queue()
		  WHERE path = 'longer.bin' AND status = 'held' AND last_error LIKE '%size mismatch%'
		    AND next_try_at > now() + interval '90 seconds'"),
	'longer.bin: held again, for about two minutes');

is(count_requests('HEAD', $re{changed_head}) - $before{changed_head}, 1, 'changed.bin: one HEAD too');
is(count_requests('GET', $re{changed_get}) - $before{changed_get}, 1,
	'changed.bin: the changed answer is downloaded, once')
  or diag(explain([ grep { $_->{path} =~ /changed/ } @{ $hub->log } ]));
ok(grep({ $_->{method} eq 'GET' && $_->{path} =~ /\Q$changed_now\E/ } @{ $hub->log }),
	'changed.bin: the download was of what the Hub serves now');
ok($standby->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pgml_repl.prefetch_queue()
		  WHERE path = 'changed.bin' AND status = 'held' AND last_error LIKE '%checksum mismatch%'"),
	"changed.bin: its bytes do not match the manifest's name either: held again")
  or diag($standby->safe_psql('postgres', 'SELECT * FROM pgml_repl.prefetch_queue()'));

ok(!-e "$standby_cache/$same_folder/blobs/$same", 'no wrong bytes are installed as same.bin');
ok(!-e "$standby_cache/$changed_folder/blobs/$changed", 'nor as changed.bin');
ok(!-e "$standby_cache/$longer_folder/blobs/$longer", 'nor as longer.bin');
is(join(',', bad_blobs($standby_cache)), '', 'every blob on the standby matches its name');

$hub->stop;
done_testing();
