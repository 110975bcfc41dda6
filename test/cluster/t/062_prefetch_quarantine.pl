# The quarantine: a file whose bytes never match its name is downloaded
# once, then held (prefetch_queue status 'held', next_try_at a minute away,
# the checksum named in last_error) and not downloaded again cycle after
# cycle, while the other files of the manifest arrive; a corrected row on
# the primary releases it and the right file arrives at once. A 404 is held
# the same way instead of being asked every naptime. Counted by the test
# Hub's request log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Path ();
use Time::HiRes qw(time sleep);
use PgmlReplHub;
use PgmlReplPrefetch;

my $cache = PostgreSQL::Test::Utils::tempdir('primary_hf') . '/hub';
mkdir $cache;
my ($rev1, $rev2) = ('3' x 40, '4' x 40);
my $hub = PgmlReplHub->start(cache => $cache);
my ($primary, $standby, $standby_cache) = prefetch_pair(primary_cache => $cache, hub => $hub, prefix => 'pqr');

sub content { my ($seed) = @_; return join('', map { chr(($_ * 11 + $seed) % 256) } 1 .. 4096) x 32 }

my $held_folder = 'models--org--held';
my $bad = add_cache_file($cache, $held_folder, $rev1, 'bad.bin', content(1), 1);
my @good = map { add_cache_file($cache, 'models--org--fine', $rev1, "good-$_.bin", content(10 + $_), 1) } 1 .. 2;
my $gone = add_cache_file($cache, 'models--org--gone', $rev1, 'gone.bin', content(20), 1);

# Permanent wrong bytes for the bad blob (the CDN's path names it), and a
# 404 for every resolve request of org/gone.
$hub->settings({ wrong_bytes => [$bad] });
$hub->faults([ { match => '/org/gone/', kind => 'status', code => 404 } ]);
wait_prefetch_complete($primary, 'state') // die 'the primary did not publish';
$primary->wait_for_catchup($standby);
$standby->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');

ok($standby->poll_query_until('postgres',
		"SELECT count(*) = 2 FROM pgml_repl.prefetch_queue() WHERE status = 'held' AND next_try_at > now() + interval '30 seconds'"),
	'both files are held, their next try about a minute away')
  or diag($standby->safe_psql('postgres', 'SELECT * FROM pgml_repl.prefetch_queue()'));
like($standby->safe_psql('postgres', "SELECT last_error FROM pgml_repl.prefetch_queue() WHERE path = 'bad.bin'"),
	qr/checksum mismatch/, 'the wrong bytes are held for their checksum');
like($standby->safe_psql('postgres', "SELECT last_error FROM pgml_repl.prefetch_queue() WHERE path = 'gone.bin'"),
	qr/HTTP 404/, 'the missing file is held for its 404');
ok(-f "$standby_cache/models--org--fine/blobs/$_", "the other file $_ arrives") for @good;
my $held_until = $standby->safe_psql('postgres',
	"SELECT extract(epoch FROM next_try_at) FROM pgml_repl.prefetch_queue() WHERE path = 'bad.bin'");

sub count_requests
{
	my ($re) = @_;
	return scalar(grep { $_->{path} =~ $re } @{ $hub->log });
}
my $bad_cdn = qr{^/cdn/\Q$held_folder\E/\Q$bad\E};
my $gone_resolve = qr{^/org/gone/resolve/};

# Several naptimes (1 s) pass: neither file is asked for again.
my $cycles = prefetch_status($standby, 'cycles');
ok($standby->poll_query_until('postgres', "SELECT cycles >= $cycles + 4 FROM pgml_repl.prefetch_status()"),
	'four more cycles ran');
is(count_requests($bad_cdn), 1, 'the wrong bytes were downloaded once, not every cycle');
is(count_requests(qr{^/org/held/resolve/}), 1, 'and the Hub was not asked about them again');
is(count_requests($gone_resolve), 1, 'the 404 was asked once, not every naptime');
is($standby->safe_psql('postgres', "SELECT state FROM pgml_repl.prefetch_status()"), 'error',
	'the cache is reported incomplete');
like(prefetch_status($standby, 'detail'), qr/held back/, 'the detail counts the held files');

# A corrected row on the primary: bad.bin of a new revision with the right
# bytes, the old revision gone. The new row is not held: fetched at once.
my $good_bad = add_cache_file($cache, $held_folder, $rev2, 'bad.bin', content(2), 1);
File::Path::remove_tree("$cache/$held_folder/snapshots/$rev1");
unlink "$cache/$held_folder/blobs/$bad";
wait_prefetch_complete($primary, 'state') // die 'the primary did not publish the corrected row';
$primary->wait_for_catchup($standby);
$standby->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
my $deadline = time() + 60;
sleep 0.2 while time() < $deadline && !-l "$standby_cache/$held_folder/snapshots/$rev2/bad.bin";
ok(-f "$standby_cache/$held_folder/blobs/$good_bad", 'the corrected row is fetched');
ok(time() < $held_until, 'before the old hold would have ended: the row change released it');
ok($standby->poll_query_until('postgres', "SELECT count(*) = 0 FROM pgml_repl.prefetch_queue() WHERE path = 'bad.bin'"),
	'bad.bin is no longer queued');
is(read_ref("$standby_cache/$held_folder/refs/main"), $rev2, 'and its ref is written');
is(count_requests($gone_resolve), 1, 'the 404 is still held meanwhile');
is(join(',', bad_blobs($standby_cache)), '', 'every blob on the standby matches its name');

$hub->stop;
done_testing();
