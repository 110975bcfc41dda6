# The primary restarts while the standby prefetches: the download (which talks
# to the Hub, not to the primary) completes, streaming resumes, the manifest
# stays the same on both nodes. Then the standby is promoted in the middle of
# another download: it finishes the file, then publishes it as the new
# primary; nothing is half-written.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplHub;
use PgmlReplPrefetch;

my $cache = PostgreSQL::Test::Utils::tempdir('primary_hf') . '/hub';
mkdir $cache;
my $rev = '8' x 40;
my $at = 16 << 20;
my $blob_a = add_sparse_file($cache, 'models--org--during-restart', $rev, 'model.safetensors', 128 << 20);
my $hub = PgmlReplHub->start(cache => $cache);
$hub->faults([ { match => '/cdn/models--org--during-restart/', kind => 'stall', seconds => 6, after => $at, times => 1 } ]);
# One stream per file: the stall holds the whole file in transfer (with
# ranges, the other streams would finish it around the stalled one).
my ($primary, $standby, $standby_cache) = prefetch_pair(primary_cache => $cache, hub => $hub, prefix => 'pfr',
	conf => "pgml_replication.max_streams_per_file = 1\n");
ok($primary->poll_query_until('postgres', 'SELECT count(*) = 1 FROM pgml_repl.hf_manifest'), 'published');
$primary->safe_psql('postgres', 'CREATE TABLE t (i int); INSERT INTO t VALUES (1)');
$primary->wait_for_catchup($standby);

my $manifest_sql = q{SELECT md5(string_agg(format('%s|%s|%s|%s|%s|%s|%s', repo_type, repo_id, revision, refs, path, blob, size), ',' ORDER BY repo_type, repo_id, revision, path)) FROM pgml_repl.hf_manifest};
my $manifest_before = $primary->safe_psql('postgres', $manifest_sql);

# --- primary restart mid-prefetch -----------------------------------------
$standby->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
ok($standby->poll_query_until('postgres',
		"SELECT state = 'downloading' AND current_bytes >= $at FROM pgml_repl.prefetch_status()"),
	'the standby is downloading');
my $pid = prefetch_status($standby, 'worker_pid');
$primary->restart;
ok(wait_standby_idle($standby), 'the download completes across the primary\'s restart');
is(prefetch_status($standby, 'worker_pid'), $pid, 'by the same worker (the standby did not restart)');
is(-s "$standby_cache/models--org--during-restart/blobs/$blob_a", 128 << 20, 'the blob has its full size');
$primary->safe_psql('postgres', 'INSERT INTO t VALUES (2)');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'), '2', 'streaming resumed: a row written after the restart arrives');
ok($standby->poll_query_until('postgres', q{SELECT status = 'streaming' FROM pg_stat_wal_receiver}), 'the WAL receiver streams');
is($primary->safe_psql('postgres', $manifest_sql), $manifest_before, 'the primary\'s manifest is unchanged by the restart');
is($standby->safe_psql('postgres', $manifest_sql), $manifest_before, 'and the standby reads the same manifest');

# --- promotion mid-prefetch -------------------------------------------------
my $blob_b = add_sparse_file($cache, 'models--org--during-promotion', $rev, 'model.safetensors', 96 << 20);
$hub->faults([ { match => '/cdn/models--org--during-promotion/', kind => 'stall', seconds => 6, after => $at, times => 1 } ]);
wait_prefetch_complete($primary, 'state') // die 'the primary did not publish';
$primary->wait_for_catchup($standby);
$standby->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
ok($standby->poll_query_until('postgres',
		"SELECT state = 'downloading' AND current_repo = 'org/during-promotion' AND current_bytes >= $at FROM pgml_repl.prefetch_status()"),
	'the standby is downloading the second file');
$primary->stop;
$standby->promote;
ok(!-e "$standby_cache/models--org--during-promotion/blobs/$blob_b", 'right after promotion the file is still in transfer');
ok($standby->poll_query_until('postgres',
		"SELECT role = 'primary' AND state = 'idle' FROM pgml_repl.prefetch_status()"),
	'the promoted node\'s worker becomes the publisher');
ok($standby->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM pgml_repl.hf_manifest WHERE repo_id = 'org/during-promotion' AND path = 'model.safetensors'}),
	'it finished the download it started and publishes that file');
is(-s "$standby_cache/models--org--during-promotion/blobs/$blob_b", 96 << 20, 'the blob has its full size');
is(join(',', bad_blobs($standby_cache)), '', 'every blob matches its name');
is(join(',', partial_files($standby_cache)), '', 'no partial or temp file');
same_cache($standby_cache, $cache, 'the promoted node\'s cache equals the old primary\'s');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM pgml_repl.hf_manifest'), '2', 'the manifest lists both files');

$hub->stop;
done_testing();
