# A large file fetched in parallel ranges behind a per-connection rate cap
# (the test Hub's --rate-limit, as a CDN's limit_rate): several connections
# serve it, each a bounded "bytes=a-b" range. A kill -9 of the worker in the
# middle leaves the partial file with its ranges sidecar; the restarted
# worker asks only for the ranges the sidecar does not record, the blob ends
# correct and nothing but the blob is left.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplHub;
use PgmlReplPrefetch;

my $size = 128 << 20;
my $cache = PostgreSQL::Test::Utils::tempdir('primary_hf') . '/hub';
mkdir $cache;
my $rev = '6' x 40;
my $blob = add_sparse_file($cache, 'models--org--ranged', $rev, 'model.safetensors', $size);
# 4 MB/s per connection: one stream would need 32 s.
my $hub = PgmlReplHub->start(cache => $cache, args => [ '--rate-limit', 4_000_000 ]);
my ($primary, $standby, $standby_cache) = prefetch_pair(primary_cache => $cache, hub => $hub, prefix => 'pfrg',
	conf => "restart_after_crash = on\npgml_replication.download_range_size = '4MB'\n"
	  . "pgml_replication.max_streams_per_file = 8\n");
ok($primary->poll_query_until('postgres', 'SELECT count(*) = 1 FROM pgml_repl.hf_manifest'), 'published');
$primary->wait_for_catchup($standby);

# The CDN GETs of the blob: [range, client] pairs.
sub blob_gets
{
	return map { [ $_->{range} // 'none', $_->{client} ] }
	  grep { $_->{listener} eq 'cdn' && $_->{method} eq 'GET' && $_->{path} =~ m{/cdn/models--org--ranged/} } @{ $hub->log };
}

# Bytes the bounded ranges of @gets asked for.
sub asked_bytes
{
	my $n = 0;
	for my $g (@_)
	{
		my ($a, $b) = $g->[0] =~ /^bytes=(\d+)-(\d+)$/ or return -1;
		$n += $b - $a + 1;
	}
	return $n;
}

my $half = $size / 2;
$standby->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
ok($standby->poll_query_until('postgres',
		"SELECT state = 'downloading' AND current_bytes >= $half FROM pgml_repl.prefetch_status()"),
	'the standby is past the middle of the 128 MiB file');
my @before = blob_gets();
my %clients = map { $_->[1] => 1 } @before;
cmp_ok(scalar(keys %clients), '>', 1, 'more than one connection served the file (' . scalar(keys %clients) . ')');
is(scalar(grep { $_->[0] !~ /^bytes=\d+-\d+$/ } @before), 0, 'every request asked for a bounded range');

my $pid = prefetch_status($standby, 'worker_pid');
$hub->reset;
kill 'KILL', $pid or die "kill: $!";
my $blobs = "$standby_cache/models--org--ranged/blobs";
ok(-f "$blobs/$blob.pgml.incomplete" && !-e "$blobs/$blob", 'after kill -9: a partial file, nothing under the blob\'s name');
ok(-f "$blobs/$blob.pgml.ranges", 'and its ranges sidecar');
ok($standby->poll_query_until('postgres',
		"SELECT worker_pid IS NOT NULL AND worker_pid <> $pid FROM pgml_repl.prefetch_status()"),
	'the postmaster restarted the server and the worker');
ok(wait_standby_idle($standby), 'the new worker completes the download');

my @after = blob_gets();
cmp_ok(scalar(@after), '>', 0, 'the new worker fetched the rest');
is(scalar(grep { $_->[0] !~ /^bytes=\d+-\d+$/ } @after), 0, 'in bounded ranges');
my $again = asked_bytes(@after);
cmp_ok($again, '>', 0, "it asked for $again bytes");
cmp_ok($again, '<', $size - (16 << 20), 'far fewer than the whole file: the recorded ranges were not fetched again');
is(-s "$blobs/$blob", $size, 'the blob has its full size');
is(join(',', bad_blobs($standby_cache)), '', 'every blob matches its name');
opendir(my $dh, $blobs) or die "$blobs: $!";
my @left = grep { !/^\.\.?$/ && $_ ne $blob } readdir $dh;
closedir $dh;
is(join(',', @left), '', 'no partial file, sidecar or temporary file is left');
same_cache($standby_cache, $cache, 'the standby\'s cache equals the primary\'s');

$hub->stop;
done_testing();
