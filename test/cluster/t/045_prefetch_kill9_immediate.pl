# Crashes in the middle of a large transfer, with restart_after_crash = on:
#   kill -9 of the prefetch worker (the postmaster restarts every backend),
#   then an immediate shutdown of the standby and a start.
# One stream per file (060 crashes a ranged transfer).
# Each time the partial file is found again under blobs/<blob>.pgml.incomplete
# and resumed with a Range request; the final cache equals the primary's, no
# temp file is left, and no file under a final name is wrong.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplHub;
use PgmlReplPrefetch;

my $cache = PostgreSQL::Test::Utils::tempdir('primary_hf') . '/hub';
mkdir $cache;
my $rev = '5' x 40;
my $stall_at = 32 << 20;
my $blob1 = add_sparse_file($cache, 'models--org--crash', $rev, 'model.safetensors', 256 << 20);
my $hub = PgmlReplHub->start(cache => $cache);
$hub->faults([ { match => '/cdn/models--org--crash/', kind => 'stall', seconds => 30, after => $stall_at, times => 1 } ]);
my ($primary, $standby, $standby_cache) = prefetch_pair(primary_cache => $cache, hub => $hub, prefix => 'pfk',
	conf => "restart_after_crash = on\npgml_replication.max_streams_per_file = 1\n");
ok($primary->poll_query_until('postgres', 'SELECT count(*) = 1 FROM pgml_repl.hf_manifest'), 'published');
$primary->wait_for_catchup($standby);

# Returns the range starts of the CDN GETs for a repo folder.
sub ranges_for
{
	my ($folder) = @_;
	return map { $_->{range} // 'none' }
	  grep { $_->{listener} eq 'cdn' && $_->{method} eq 'GET' && $_->{path} =~ m{/cdn/$folder/} } @{ $hub->log };
}

# --- kill -9 of the worker mid-transfer ------------------------------------
$standby->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
ok($standby->poll_query_until('postgres',
		"SELECT state = 'downloading' AND current_bytes >= $stall_at FROM pgml_repl.prefetch_status()"),
	'the standby is in the middle of the 256 MiB transfer');
my $pid = prefetch_status($standby, 'worker_pid');
$hub->reset;
kill 'KILL', $pid or die "kill: $!";
my $partial = "$standby_cache/models--org--crash/blobs/$blob1.pgml.incomplete";
ok(-f $partial && !-e "$standby_cache/models--org--crash/blobs/$blob1", 'after kill -9: a partial file, nothing under the blob\'s name');
ok($standby->poll_query_until('postgres',
		"SELECT worker_pid IS NOT NULL AND worker_pid <> $pid FROM pgml_repl.prefetch_status()"),
	'the postmaster restarted the server and the worker');
ok(wait_standby_idle($standby), 'the new worker completes the download');
my @r = ranges_for('models--org--crash');
is(scalar(@r), 1, 'one request for the rest of the file');
like($r[0], qr/^bytes=[1-9]\d*-$/, "it is a Range request from a non-zero offset ($r[0])");
is(-s "$standby_cache/models--org--crash/blobs/$blob1", 256 << 20, 'the blob has its full size');
is(join(',', bad_blobs($standby_cache)), '', 'every blob matches its name');
is(join(',', partial_files($standby_cache)), '', 'no temp file is left');

# --- immediate shutdown of the standby mid-transfer ------------------------
my $blob2 = add_sparse_file($cache, 'models--org--immediate', $rev, 'model.safetensors', 192 << 20);
$hub->faults([ { match => '/cdn/models--org--immediate/', kind => 'stall', seconds => 30, after => $stall_at, times => 1 } ]);
wait_prefetch_complete($primary, 'state') // die 'the primary did not publish';
$primary->wait_for_catchup($standby);
$standby->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
ok($standby->poll_query_until('postgres',
		"SELECT state = 'downloading' AND current_repo = 'org/immediate' AND current_bytes >= $stall_at FROM pgml_repl.prefetch_status()"),
	'the standby is in the middle of the 192 MiB transfer');
$hub->reset;
$standby->stop('immediate');
ok(-f "$standby_cache/models--org--immediate/blobs/$blob2.pgml.incomplete"
	  && !-e "$standby_cache/models--org--immediate/blobs/$blob2", 'after an immediate shutdown: a partial file only');
$standby->start;
ok(wait_standby_idle($standby), 'after the start the download completes');
@r = ranges_for('models--org--immediate');
is(scalar(@r), 1, 'one request for the rest of the file');
like($r[0] // '', qr/^bytes=[1-9]\d*-$/, 'it is a Range request from a non-zero offset');
is(join(',', bad_blobs($standby_cache)), '', 'every blob matches its name');
is(join(',', partial_files($standby_cache)), '', 'no temp file is left');
same_cache($standby_cache, $cache, 'the standby\'s cache equals the primary\'s');

$hub->stop;
done_testing();
