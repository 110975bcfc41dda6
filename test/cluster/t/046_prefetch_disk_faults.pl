# The standby's cache cannot take a file: min_free_disk refuses it, its blobs/
# folder or the cache root is read-only, or the file system fills up in the
# middle of a transfer (a 64 MB tmpfs that test/run mounts as root, passed in
# PGML_REPL_SMALL_FS; that part skips without it). Each time the worker
# reports the error in prefetch_status() and prefetch_queue(), leaves no
# partial file and nothing under a final name, and completes once the cause
# is gone.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgmlReplHub;
use PgmlReplPrefetch;

my $cache = PostgreSQL::Test::Utils::tempdir('primary_hf') . '/hub';
mkdir $cache;
my $rev = '6' x 40;
my $hub = PgmlReplHub->start(cache => $cache);
my ($primary, $standby, $standby_cache) = prefetch_pair(primary_cache => $cache, hub => $hub, prefix => 'pfd',
	conf => "pgml_replication.max_streams_per_file = 1\n");  # one stream: the disk fills mid-write, not at the ranged file's preallocation
my $n = 0;

# A new 1 MiB file on the primary, published and streamed; one standby cycle.
sub new_file
{
	$n++;
	my $folder = "models--org--disk-$n";
	my $content = join('', map { chr(($_ * 13 + $n) % 256) } 1 .. 4096) x 256;
	my $blob = add_cache_file($cache, $folder, $rev, 'weights.bin', $content, 1);
	wait_prefetch_complete($primary, 'state') // die 'the primary did not publish';
	$primary->wait_for_catchup($standby);
	wait_prefetch_complete($standby, 'state') // die 'the standby did not finish a cycle';
	return ($folder, $blob);
}

sub set_standby
{
	my ($setting) = @_;
	$standby->safe_psql('postgres', "ALTER SYSTEM SET $setting");
	$standby->reload;
	# the worker applies a reload at the start of its next cycle
	wait_prefetch_complete($standby, 'state');
}

sub reported
{
	my ($folder, $re, $what) = @_;
	like($standby->safe_psql('postgres', q{SELECT state || ': ' || coalesce(last_error, '') FROM pgml_repl.prefetch_status()}),
		qr/^error: .*$re/, "$what: prefetch_status() reports the error");
	(my $repo = $folder) =~ s/^models--//;
	$repo =~ s/--/\//g;
	like($standby->safe_psql('postgres', "SELECT path || ': ' || last_error FROM pgml_repl.prefetch_queue() WHERE repo = 'model:$repo'"),
		qr/^weights\.bin: .*$re/, "$what: prefetch_queue() names the file and the error");
}

sub nothing_half_written
{
	my ($root, $folder, $blob, $what) = @_;
	ok(!-e "$root/$folder/blobs/$blob" && !-e "$root/$folder/snapshots/$rev/weights.bin", "$what: nothing under a final name");
	is(join(',', partial_files($root)), '', "$what: no partial or temp file");
}

# --- min_free_disk refuses ------------------------------------------------
set_standby(q{pgml_replication.min_free_disk = '1000TB'});
my ($f, $b) = new_file();
reported($f, qr/not enough free disk space/, 'min_free_disk');
nothing_half_written($standby_cache, $f, $b, 'min_free_disk');
is(scalar(grep { $_->{path} =~ /disk-$n/ } @{ $hub->log }), 0, 'min_free_disk: no request reached the Hub');
set_standby(q{pgml_replication.min_free_disk = 0});
ok(wait_standby_idle($standby), 'min_free_disk lowered: the file arrives');
ok(-f "$standby_cache/$f/blobs/$b", 'min_free_disk lowered: blob in place');

# --- read-only blobs/ of the repo ------------------------------------------
$n++;
my $ro_folder = "models--org--disk-$n";
mkdir "$standby_cache/$ro_folder";
mkdir "$standby_cache/$ro_folder/blobs";
chmod 0555, "$standby_cache/$ro_folder/blobs";
$n--;
($f, $b) = new_file();
is($f, $ro_folder, 'the read-only folder is the new repo\'s');
reported($f, qr/Permission denied/, 'read-only blobs/');
nothing_half_written($standby_cache, $f, $b, 'read-only blobs/');
chmod 0755, "$standby_cache/$ro_folder/blobs";
ok(wait_standby_idle($standby), 'blobs/ writable again: the file arrives');

# --- read-only cache root ---------------------------------------------------
chmod 0555, $standby_cache;
($f, $b) = new_file();
reported($f, qr/Permission denied/, 'read-only cache root');
ok(!-e "$standby_cache/$f", 'read-only cache root: no repo folder');
chmod 0755, $standby_cache;
ok(wait_standby_idle($standby), 'cache root writable again: the file arrives');
is(join(',', bad_blobs($standby_cache)), '', 'every blob matches its name');
same_cache($standby_cache, $cache, 'the standby\'s cache equals the primary\'s');

# --- the file system fills up mid-transfer -----------------------------------
SKIP:
{
	my $small = $ENV{PGML_REPL_SMALL_FS};
	skip 'PGML_REPL_SMALL_FS is not set (test/run mounts it only as root)', 9 unless $small && -d $small && -w $small;
	my $small_cache = "$small/hub";
	mkdir $small_cache;
	set_standby(qq{pgml_replication.hf_cache_dir = '$small_cache'});
	ok(wait_standby_idle($standby), 'the small cache receives the earlier files');
	my $big = add_sparse_file($cache, 'models--org--big', $rev, 'weights.bin', 40 << 20);
	$hub->faults([ { match => '/cdn/models--org--big/', kind => 'stall', seconds => 6, after => 8 << 20, times => 1 } ]);
	wait_prefetch_complete($primary, 'state') // die 'the primary did not publish';
	$primary->wait_for_catchup($standby);
	$standby->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
	ok($standby->poll_query_until('postgres',
			"SELECT state = 'downloading' AND current_repo = 'org/big' AND current_bytes >= 8 << 20 FROM pgml_repl.prefetch_status()"),
		'the 40 MiB transfer is under way');
	# Fill what is left while the transfer waits.
	open my $fh, '>:raw', "$small/filler" or die $!;
	my $chunk = "\0" x (1 << 20);
	my $written = 0;
	while ($written < (64 << 20)) { last unless print $fh $chunk; last unless $fh->flush; $written += length $chunk; }
	close $fh;
	diag(sprintf('filler: %.0f MiB', (-s "$small/filler") / 1048576));
	ok($standby->poll_query_until('postgres',
			"SELECT state = 'error' AND queued_files = 1 FROM pgml_repl.prefetch_status()"),
		'full file system: the cycle ends with an error');
	like($standby->safe_psql('postgres', q{SELECT last_error FROM pgml_repl.prefetch_queue() WHERE repo = 'model:org/big'}),
		qr/No space left on device|not enough free disk space/, 'prefetch_queue() says the disk is full');
	ok(!-e "$small_cache/models--org--big/blobs/$big", 'full file system: nothing under the blob\'s name');
	is(join(',', partial_files($small_cache)), '', 'full file system: the partial file was removed (space given back)');
	unlink "$small/filler" or die $!;
	ok(wait_standby_idle($standby), 'space freed: the file arrives');
	is(join(',', bad_blobs($small_cache)), '', 'every blob in the small cache matches its name');
	same_cache($small_cache, $cache, 'the small cache equals the primary\'s');
}

$hub->stop;
done_testing();
