# Interoperability with the Python huggingface_hub, the client PostgresML
# itself uses, in the two versions vendored in ../shared/vendor: the
# primary's cache is written by snapshot_download and hf_hub_download
# (1.28.0 for one model, 0.27.1 for another model and a dataset) against the
# test Hub, whose tree listing comes in pages of two; the primary publishes
# it; the standby's prefetch worker fetches from the same Hub; then
# scan_cache_dir of both versions reads the standby's cache with no warning
# and exactly as the primary's, and every file loads offline
# (HF_HUB_OFFLINE=1) with both. A missing vendor folder fails, never skips.
use strict;
use warnings;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplHub;
use PgmlReplPrefetch;

my $top = $ENV{PGML_REPL_TOP} or die 'PGML_REPL_TOP is not set';
my $vendor = "$top/../shared/vendor";
my $work = PostgreSQL::Test::Utils::tempdir('hf_client');

# Runs test/interop/hf_client.py with one vendored version; returns
# (exit status, stdout, stderr).
sub client
{
	my ($version, @args) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start([ '/usr/bin/python3', "$top/test/interop/hf_client.py", '--vendor', $vendor,
			'--version', $version, '--workdir', $work, @args ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(300));
	eval { $h->finish; };
	if ($@) { $h->kill_kill; return (-1, $out, "timeout: $@\n$err"); }
	return ($h->result(0), $out, $err);
}

mkdir "$work/empty";
for my $version ('1.28.0', '0.27.1')
{
	my ($rc, $out, $err) = client($version, 'scan', '--cache', "$work/empty");
	is($rc, 0, "huggingface_hub $version runs from ../shared/vendor") or diag($err);
}
if (!Test::More->builder->is_passing)
{
	diag("the vendored clients are needed: see ../shared/vendor/README.md and scripts/install-deps");
	done_testing();
	exit 1;
}

# --- the primary's cache, written by the Python client ----------------------
my $fixtures = fixture_cache();
my $hub = PgmlReplHub->start(cache => "$fixtures/hub", args => [ '--tree-page-size', 2 ]);
my $cache = "$work/primary_hub";
my $st = 'model:sentence-transformers/all-MiniLM-L6-v2';
my %writes = (
	'1.28.0' => [ "snapshot:$st\@main", "snapshot:$st\@refs/pr/1", "file:$st\@v1.0:config.json" ],
	'0.27.1' => [ 'file:model:gpt2@main:config.json', 'file:model:gpt2@main:vocab.json', 'snapshot:dataset:org/data@main' ]);
for my $version ('1.28.0', '0.27.1')
{
	my ($rc, $out, $err) = client($version, 'download', '--endpoint', $hub->url, '--cache', $cache, @{ $writes{$version} });
	is($rc, 0, "huggingface_hub $version writes the primary's cache") or diag($out, $err);
}
my @paged = grep { $_->{path} =~ m{^/api/models/.*/tree/[0-9a-f]{40}\?.*cursor=} } @{ $hub->log };
ok(scalar(@paged), 'snapshot_download (1.28) followed the tree listing\'s Link pages');
my $trees = "$cache/models--sentence-transformers--all-MiniLM-L6-v2/trees";
is(scalar(() = glob("$trees/*.json")), 2, '1.28 wrote trees/<commit>.json for both snapshots');

# --- the primary publishes, the standby fetches from the same Hub -----------
my ($primary, $standby, $standby_cache) = prefetch_pair(primary_cache => $cache, hub => $hub, prefix => 'pfpy',
	naptime => 3600);
my $manifest_sql = q{SELECT count(*) FILTER (WHERE status = 'ok') || '|' || count(*) FROM pgml_repl.hf_cache_manifest()};
is($primary->safe_psql('postgres', $manifest_sql), '9|9',
	'hf_cache_manifest() reads the client\'s cache: nine files, all ok (trees/ and .locks are not files of it)');
$primary->safe_psql('postgres', 'SELECT * FROM pgml_repl.publish_hf_manifest()');
is($primary->safe_psql('postgres', 'SELECT count(*) FROM pgml_repl.hf_manifest'), '9', 'publish_hf_manifest() lists the nine files');
$primary->wait_for_catchup($standby);
is(wait_prefetch_complete($standby, "state || '|' || files_failed || '|' || queued_files", 120), 'idle|0|0',
	'the standby\'s worker fetches them');
same_cache($standby_cache, $cache, 'the standby\'s blobs, snapshots and refs equal the primary\'s');

# --- scan_cache_dir of both versions ------------------------------------------
for my $version ('1.28.0', '0.27.1')
{
	my ($rc_p, $primary_json, $err_p) = client($version, 'scan', '--cache', $cache);
	my ($rc_s, $standby_json, $err_s) = client($version, 'scan', '--cache', $standby_cache);
	is("$rc_p|$rc_s", '0|0', "scan_cache_dir ($version) runs on both caches") or diag($err_p, $err_s);
	my ($p, $s) = map { eval { decode_json($_) } // { repos => [], warnings => ['unreadable output'] } } ($primary_json, $standby_json);
	is_deeply($s->{warnings}, [], "scan_cache_dir ($version) has no warning on the standby's cache");
	is(join(',', map { "$_->{type}:$_->{id}" } @{ $s->{repos} }),
		'dataset:org/data,model:gpt2,model:sentence-transformers/all-MiniLM-L6-v2', "it finds the three repos ($version)");
	is(join(',', map { @{ $_->{refs} } } @{ $s->{repos} }), 'main,main,main,refs/pr/1,v1.0',
		"and every ref ($version)");
	is(JSON::PP->new->canonical->encode($s->{repos}), JSON::PP->new->canonical->encode($p->{repos}),
		"repos, revisions, refs, files and sizes equal the primary's ($version)");
	# a cache written by 1.28 holds its CACHEDIR.TAG, which 0.27's scanner reports
	diag("scan_cache_dir ($version) on the primary's cache: " . join('; ', @{ $p->{warnings} })) if @{ $p->{warnings} };
	open my $fh, '>', "$work/primary_scan_$version.json" or die;
	print $fh $primary_json;
	close $fh;
}

# --- every file loads offline, with both versions -------------------------------
$hub->reset;
my %loaded;
for my $version ('1.28.0', '0.27.1')
{
	for my $side ([ 'primary', $cache ], [ 'standby', $standby_cache ])
	{
		my ($rc, $out, $err) = client($version, 'load', '--cache', $side->[1], '--scan', "$work/primary_scan_$version.json");
		my $doc = eval { decode_json($out) } // { files => {}, errors => ["unreadable output: $err"] };
		is_deeply($doc->{errors}, [], "$version loads every file of the $side->[0]'s cache offline") or diag($err);
		$loaded{"$version $side->[0]"} = $doc->{files};
	}
	is(scalar(keys %{ $loaded{"$version standby"} }), 44,
		"by snapshot_download and hf_hub_download at every ref and commit: 44 loads ($version)");
	is_deeply($loaded{"$version standby"}, $loaded{"$version primary"},
		"the same bytes as from the primary's cache ($version)");
}
is(scalar(@{ $hub->log }), 0, 'offline loading sent no request to the Hub');

$hub->stop;
done_testing();
