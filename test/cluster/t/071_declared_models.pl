# Models declared in SQL (issue 16): an empty primary cache and three
# declared models (a tag, a dataset, a gated repo) end equal to what the
# real huggingface_hub 1.28 snapshot_download writes for the same repos
# (blobs, snapshot links, refs, and trees/<commit>.json byte for byte); the
# replica follows through the manifest; an unknown repo is reported by
# model_status() and check(); a new commit on main is picked up by a model
# declared at main with allow_patterns, and the tag stays where it was.
use strict;
use warnings;

use File::Path ();
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplHub;
use PgmlReplPrefetch;

my $top = $ENV{PGML_REPL_TOP} or die 'PGML_REPL_TOP is not set';
my $vendor = "$top/../shared/vendor";
my $token = 'hf_071_secret';

# What the test Hub serves.
my $hub_cache = PostgreSQL::Test::Utils::tempdir('declared_hub') . '/hub';
mkdir $hub_cache;
my ($commit_a, $commit_b, $commit_d, $commit_g) = ('a1' x 20, 'b2' x 20, 'd4' x 20, 'e5' x 20);
add_cache_file($hub_cache, 'models--org--tagged', $commit_a, 'config.json', qq({"hidden_size": 8}\n), 0);
add_cache_file($hub_cache, 'models--org--tagged', $commit_a, 'model.safetensors', 'w' x 700_000, 1);
add_cache_file($hub_cache, 'models--org--tagged', $commit_a, '1_Pooling/config.json', qq({"pooling": "mean"}\n), 0);
add_cache_file($hub_cache, 'models--org--tagged', $commit_a, "caf\xc3\xa9/notes.md", "# notes\n", 0);  # UTF-8 bytes
write_file("$hub_cache/models--org--tagged/refs/v1.0", $commit_a);
add_cache_file($hub_cache, 'datasets--org--data', $commit_d, 'README.md', "# data\n", 0);
add_cache_file($hub_cache, 'datasets--org--data', $commit_d, 'data/train.csv', "a,b\n" x 50_000, 1);
add_cache_file($hub_cache, 'models--org--gated', $commit_g, 'config.json', qq({"gated": true}\n), 0);
add_cache_file($hub_cache, 'models--org--gated', $commit_g, 'weights.bin', 'g' x 300_000, 1);
my $hub = PgmlReplHub->start(cache => $hub_cache, gated => ['org/gated'], token => $token,
	args => [ '--tree-page-size', 3 ]);

my $primary_cache = PostgreSQL::Test::Utils::tempdir('declared_primary') . '/hub';
mkdir $primary_cache;
my ($primary, $standby, $standby_cache) = prefetch_pair(prefix => 'declared', primary_cache => $primary_cache,
	hub => $hub, sources => 'upstream');
# The token on the primary only: replicas take the gated files from it.
$primary->append_conf('postgresql.conf', "pgml_replication.hf_token = '$token'\n");
$primary->reload;

$primary->safe_psql('postgres', q{
BEGIN;
SELECT pgml_repl.want_model('org/tagged', 'v1.0');
SELECT pgml_repl.want_model('org/data', repo_type => 'dataset');
SELECT pgml_repl.want_model('org/gated');
SELECT pgml_repl.want_model('org/unknown');
COMMIT;
});

# Polls model_status() (waking the worker) until $sql is true; bounded.
sub wait_models
{
	my ($node, $sql, $what) = @_;
	my $deadline = time() + 180;
	while (time() < $deadline)
	{
		$node->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
		return 1 if $node->safe_psql('postgres', "SELECT ($sql) FROM (SELECT 1) x") eq 't';
		sleep 1;
	}
	diag("$what: " . $node->safe_psql('postgres', 'SELECT * FROM pgml_repl.model_status()'));
	return 0;
}

ok(wait_models($primary, q{(SELECT count(*) FILTER (WHERE state = 'ready') = 3
                            AND count(*) FILTER (WHERE repo_id = 'org/unknown' AND state = 'repo_not_found') = 1
                            FROM pgml_repl.model_status())}, 'three ready, one unknown'),
	'the primary fetches the three declared models and reports the unknown repo');
is($primary->safe_psql('postgres', q{SELECT string_agg(repo_type || ' ' || repo_id || '@' || revision || ' ' || coalesce(commit, '-')
    || ' ' || files_present || '/' || files_wanted || ' ' || bytes_present || '/' || bytes_wanted, E'\n' ORDER BY 1)
    FROM pgml_repl.model_status() WHERE state = 'ready'}),
	join("\n", "dataset org/data\@main $commit_d 2/2 200007/200007",
		"model org/gated\@main $commit_g 2/2 300016/300016",
		"model org/tagged\@v1.0 $commit_a 4/4 700047/700047"),
	'model_status() shows each commit, file and byte count');
like($primary->safe_psql('postgres', q{SELECT detail FROM pgml_repl.model_status() WHERE repo_id = 'org/unknown'}),
	qr/404.*RepoNotFound/, 'the unknown repo\'s detail names the Hub\'s answer');
is($primary->safe_psql('postgres', q{SELECT status FROM pgml_repl.check() WHERE check_name = 'declared_models'}),
	'error', 'check() reports the model that cannot be fetched');

# The same repos through the real client.
my $work = PostgreSQL::Test::Utils::tempdir('declared_client');
my $reference = "$work/cache";
my ($out, $err) = ('', '');
my $rc = IPC::Run::run([ '/usr/bin/python3', "$top/test/interop/hf_client.py", '--vendor', $vendor,
	'--version', '1.28.0', '--workdir', $work, 'download', '--endpoint', $hub->url, '--cache', $reference,
	'--token', $token, 'snapshot:model:org/tagged@v1.0', 'snapshot:dataset:org/data@main',
	'snapshot:model:org/gated@main' ], '<', \undef, '>', \$out, '2>', \$err, IPC::Run::timeout(300));
ok($rc, 'huggingface_hub 1.28.0 snapshot_download runs from ../shared/vendor') or diag($err);
same_cache($primary_cache, $reference, 'the primary\'s cache equals what snapshot_download writes');
for my $tree ("models--org--tagged/trees/$commit_a.json", "datasets--org--data/trees/$commit_d.json",
	"models--org--gated/trees/$commit_g.json")
{
	ok(-f "$reference/$tree", "snapshot_download wrote $tree");
	is(slurp_file("$primary_cache/$tree"), slurp_file("$reference/$tree"), "$tree is byte for byte huggingface_hub's");
}

# The replica follows through the manifest, from its upstream.
$primary->safe_psql('postgres', 'SELECT * FROM pgml_repl.publish_hf_manifest()');
$primary->wait_for_catchup($standby);
is(wait_prefetch_until($standby, "state || '|' || queued_files", 'idle|0', 180), 'idle|0', 'the replica completes');
same_cache($standby_cache, $primary_cache, 'the replica\'s cache equals the primary\'s');
is($standby->safe_psql('postgres', q{SELECT string_agg(repo_id || ':' || state, ',' ORDER BY repo_id) FROM pgml_repl.model_status()}),
	'org/data:replica,org/gated:replica,org/tagged:replica,org/unknown:replica',
	'a replica lists the declarations it received and says the primary fetches them');

# Taking the unknown repo back clears check(); a model at main with
# allow_patterns follows a new commit.
$primary->safe_psql('postgres', q{SELECT pgml_repl.unwant_model('org/unknown')});
$primary->safe_psql('postgres', q{SELECT pgml_repl.want_model('org/tagged', 'main', allow_patterns => ARRAY['*.json'])});
ok(wait_models($primary, q{(SELECT state = 'ready' AND commit = '} . $commit_a . q{' AND files_wanted = 2
                            FROM pgml_repl.model_status() WHERE repo_id = 'org/tagged' AND revision = 'main')}, 'main at A'),
	'main with allow_patterns *.json: the two json files of commit A');
is($primary->safe_psql('postgres', q{SELECT status FROM pgml_repl.check() WHERE check_name = 'declared_models'}),
	'ok', 'check() is ok once every declared model is in the cache');

add_cache_file($hub_cache, 'models--org--tagged', $commit_b, 'config.json', qq({"hidden_size": 16}\n), 0);
add_cache_file($hub_cache, 'models--org--tagged', $commit_b, 'model.safetensors', 'v' x 800_000, 1);
ok(wait_models($primary, q{(SELECT state = 'ready' AND commit = '} . $commit_b . q{' AND files_wanted = 1
                            FROM pgml_repl.model_status() WHERE repo_id = 'org/tagged' AND revision = 'main')}, 'main at B'),
	'a new commit on main is resolved and fetched');
is(read_ref("$primary_cache/models--org--tagged/refs/main"), $commit_b, 'refs/main moved to the new commit');
is(read_ref("$primary_cache/models--org--tagged/refs/v1.0"), $commit_a, 'the tag stayed');
ok(!-e "$primary_cache/models--org--tagged/snapshots/$commit_b/model.safetensors",
	'allow_patterns kept the new weights out');
ok(-e "$primary_cache/models--org--tagged/snapshots/$commit_a/model.safetensors",
	'nothing the tag needs was deleted');

$primary->safe_psql('postgres', 'SELECT * FROM pgml_repl.publish_hf_manifest()');
$primary->wait_for_catchup($standby);
is(wait_prefetch_until($standby, "state || '|' || queued_files", 'idle|0', 180), 'idle|0', 'the replica completes again');
is(read_ref("$standby_cache/models--org--tagged/refs/main"), $commit_b, 'the replica follows main to the new commit');
same_cache($standby_cache, $primary_cache, 'the replica\'s cache still equals the primary\'s');
is(join(',', bad_blobs($standby_cache)), '', 'every replica blob hashes to its name');


done_testing();
