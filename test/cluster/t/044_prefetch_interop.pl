# Interoperability with the npm package @huggingface/hub: the primary's cache
# is written by its downloadFileToCacheDir against the test Hub, the standby
# fetches it through the prefetch worker, and the package's scanCacheDir
# reads the standby's cache exactly as it reads the primary's, with no
# warnings. Skipped (not failed) when npm cannot reach its registry.
use strict;
use warnings;
use File::Basename qw(dirname);
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplHub;
use PgmlReplPrefetch;

my $top = $ENV{PGML_REPL_TOP};
my $node_dir = "$ENV{TESTDIR}/node";
mkdir $node_dir;
my $npm = system("cd '$node_dir' && timeout 180 env npm_config_cache='$node_dir/.npm' npm install --silent --no-audit --no-fund "
	  . "--prefix '$node_dir' \@huggingface/hub >'$node_dir/npm.log' 2>&1");
plan skip_all => 'npm could not install @huggingface/hub: ' . slurp_file("$node_dir/npm.log") if $npm != 0;
my $version = decode_json(slurp_file("$node_dir/node_modules/\@huggingface/hub/package.json"))->{version};
diag("\@huggingface/hub $version");
ok(-f "$node_dir/node_modules/\@huggingface/hub/dist/src/lib/cache-management.d.ts"
	  && slurp_file("$node_dir/node_modules/\@huggingface/hub/dist/src/lib/cache-management.d.ts") =~ /function scanCacheDir/,
	'the installed package has scanCacheDir');
# The scripts import the package by name: give them its node_modules.
system("cp '$top/test/interop/scan_cache.mjs' '$top/test/interop/download_to_cache.mjs' '$node_dir/'") == 0 or die;

sub node_run
{
	my ($script, @args) = @_;
	my ($out, $err) = run_command([ 'node', "$node_dir/$script", @args ]);
	return ($out, $err);
}

# --- the primary's cache, written by downloadFileToCacheDir ----------------
my $fixtures = fixture_cache();
my $source_hub = PgmlReplHub->start(cache => "$fixtures/hub");
my $cache = PostgreSQL::Test::Utils::tempdir('npm_hf') . '/hub';
mkdir $cache;
my @files = (
	'model:sentence-transformers/all-MiniLM-L6-v2@main:config.json',
	'model:sentence-transformers/all-MiniLM-L6-v2@main:model.safetensors',
	'model:sentence-transformers/all-MiniLM-L6-v2@v1.0:config.json',
	'model:sentence-transformers/all-MiniLM-L6-v2@v1.0:1_Pooling/config.json',
	'model:gpt2@main:config.json',
	'model:gpt2@main:vocab.json',
	'dataset:org/data@main:train/part-0.parquet');
my ($out, $err) = node_run('download_to_cache.mjs', $source_hub->url, $cache, @files);
is(scalar(grep { m{/snapshots/[0-9a-f]{40}/} } split /\n/, $out), scalar(@files), 'downloadFileToCacheDir wrote every file')
  or diag($out, $err);
$source_hub->stop;
# This package writes no refs files; huggingface_hub (Python) does: add them
# the way it writes them, 40 hex digits with no newline.
for my $ref (glob("$fixtures/hub/*/refs/main $fixtures/hub/*/refs/v1.0"))
{
	(my $rel = $ref) =~ s{^\Q$fixtures/hub/\E}{};
	(my $dir = "$cache/$rel") =~ s{/[^/]+$}{};
	next unless -d dirname($dir);
	mkdir $dir;
	system('cp', $ref, "$cache/$rel") == 0 or die;
}

# --- replicate it ----------------------------------------------------------
my $hub = PgmlReplHub->start(cache => $cache);
my ($primary, $standby, $standby_cache) = prefetch_pair(primary_cache => $cache, hub => $hub, prefix => 'pfi');
ok($primary->poll_query_until('postgres', 'SELECT count(*) = 7 FROM pgml_repl.hf_manifest'),
	'the primary publishes the seven files of the npm-written cache');
$primary->wait_for_catchup($standby);
is(wait_prefetch_complete($standby, "state || '|' || files_failed || '|' || queued_files"), 'idle|0|0',
	'the standby completes');
same_cache($standby_cache, $cache, 'the standby\'s cache equals the primary\'s');

# --- scanCacheDir reads both the same way ----------------------------------
my ($p_json) = node_run('scan_cache.mjs', $cache);
my ($s_json, $s_err) = node_run('scan_cache.mjs', $standby_cache);
my $scan = eval { decode_json($s_json) } or BAIL_OUT("scan_cache.mjs failed: $s_err");
is_deeply($scan->{warnings}, [], 'scanCacheDir reports no warning on the standby\'s cache');
is(join(',', map { "$_->{type}:$_->{id}" } @{ $scan->{repos} }),
	'dataset:org/data,model:gpt2,model:sentence-transformers/all-MiniLM-L6-v2', 'it finds every repo');
my %refs = map { my $r = $_; map { ("$r->{id}:$_" => 1) } map { @{ $_->{refs} } } @{ $r->{revisions} } } @{ $scan->{repos} };
ok($refs{'sentence-transformers/all-MiniLM-L6-v2:main'} && $refs{'sentence-transformers/all-MiniLM-L6-v2:v1.0'}
	  && $refs{'gpt2:main'} && $refs{'org/data:main'}, 'and maps every ref to its revision (no newline in refs)');
my @top_files = sort map { my $r = $_; map { my $v = $_; map {"$r->{id}\@$v->{commit}:$_"} @{ $v->{files} } } @{ $r->{revisions} } } @{ $scan->{repos} };
is(scalar(@top_files), 5, 'it lists the five top-level files (this scanCacheDir skips subfolders)');
is($s_json, $p_json, 'its whole report equals the report on the primary\'s cache');

$hub->stop;
done_testing();
