# SIGTERM in the middle of a large transfer: the worker is gone within a
# second, keeps the bytes so far as blobs/<blob>.pgml.incomplete (never under
# the blob's name), and the next start of the standby resumes from there with
# a Range request and ends with the right file.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgmlReplHub;
use PgmlReplPrefetch;

my $cache = PostgreSQL::Test::Utils::tempdir('primary_hf') . '/hub';
my $rev = '4' x 40;
my $folder = 'models--org--large';
my $size = 512 << 20;
# 512 MiB of zeros, sparse on the primary: its SHA-256 names the blob.
mkdir $cache;
system("mkdir -p '$cache/$folder/blobs' '$cache/$folder/refs' '$cache/$folder/snapshots/$rev'") == 0 or die;
system("truncate -s $size '$cache/$folder/blobs/tmp'") == 0 or die;
my ($blob) = split / /, `sha256sum '$cache/$folder/blobs/tmp'`;
rename "$cache/$folder/blobs/tmp", "$cache/$folder/blobs/$blob" or die;
symlink("../../blobs/$blob", "$cache/$folder/snapshots/$rev/model.safetensors") or die;
open my $fh, '>', "$cache/$folder/refs/main" or die;
print $fh $rev;
close $fh;

my $hub = PgmlReplHub->start(cache => $cache);
# The transfer stops for 30 s (the Hub's longest stall) after 64 MiB:
# SIGTERM arrives while it hangs.
$hub->faults([ { match => 'model.safetensors', kind => 'stall', seconds => 30, after => 64 << 20, times => 1 } ]);
my ($primary, $standby, $standby_cache) = prefetch_pair(primary_cache => $cache, hub => $hub, prefix => 'pft',
	conf => "pgml_replication.max_streams_per_file = 1\n");  # one stream: one Range request to resume
ok($primary->poll_query_until('postgres', 'SELECT count(*) = 1 FROM pgml_repl.hf_manifest'), 'published');
$primary->wait_for_catchup($standby);
$standby->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
ok($standby->poll_query_until('postgres',
		"SELECT state = 'downloading' AND current_bytes >= 64 * 1048576 AND current_total = $size FROM pgml_repl.prefetch_status()"),
	'the standby is in the middle of the large transfer');
my $pid = prefetch_status($standby, 'worker_pid');
my $progress = prefetch_status($standby, 'current_bytes');
diag("worker $pid at $progress of $size bytes");
ok(glob("$standby_cache/$folder/blobs/*.incomplete"), 'a temp file exists during the transfer');

my $t0 = time();
kill 'TERM', $pid or die "kill: $!";
my $gone;
# polled for up to 15 s: well inside the 30 s stall, so a worker that sat out
# the stall (or never looked at the signal) fails
while (time() - $t0 < 15)
{
	if (!kill(0, $pid)) { $gone = time() - $t0; last; }
	sleep 0.01;
}
ok(defined $gone, 'the worker exits on SIGTERM without waiting out the stalled transfer');
diag(sprintf('SIGTERM to exit: %s', defined $gone ? sprintf('%.0f ms', 1000 * $gone) : 'more than 15 s'));
is(join(',', map { s{.*/}{}r } glob("$standby_cache/$folder/blobs/*")), "$blob.pgml.incomplete",
	'only the partial file is left, under its resumable name; nothing under the blob\'s name');
my $kept = -s "$standby_cache/$folder/blobs/$blob.pgml.incomplete";
ok($kept >= 64 << 20 && $kept < $size, "the partial file holds the bytes received ($kept)");
ok(!-e "$standby_cache/$folder/refs/main", 'no ref written');
$hub->reset;

# --- the next start resumes the file and completes it -----------------------
$standby->restart;
$t0 = time();
ok($standby->poll_query_until('postgres',
		"SELECT state = 'idle' AND queued_files = 0 AND files_failed = 0 AND cycles > 0 AND last_cycle_finished_at >= last_cycle_started_at FROM pgml_repl.prefetch_status()"),
	'after a restart the download completes');
my $secs = time() - $t0;
is(-s "$standby_cache/$folder/blobs/$blob", $size, 'the blob has its full size');
is(join(',', bad_blobs($standby_cache)), '', 'and the right content');
my @gets = grep { $_->{listener} eq 'cdn' && $_->{method} eq 'GET' } @{ $hub->log };
is(join(',', map { $_->{range} // 'none' } @gets), "bytes=$kept-", 'the restart resumed with one Range request from the kept size');
is(join(',', glob("$standby_cache/$folder/blobs/*.incomplete")), '', 'the partial file was consumed');
same_cache($standby_cache, $cache, 'the standby\'s cache equals the primary\'s');
diag(sprintf('512 MiB fetched in %.1f s after restart (%.0f MB/s incl. start-up)', $secs, $size / $secs / 1e6));

$hub->stop;
done_testing();
