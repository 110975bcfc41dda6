# The HuggingFace cache manifest streams to a replica: publish on a primary
# whose pgml_replication.hf_cache_dir points at a fixture cache, and the
# standby's pgml_repl.hf_manifest is identical (published_at included). A
# second publish writes nothing; publishing on the standby is refused. Also
# times a 200 repos x 30 files cache against find -L.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $top = $ENV{PGML_REPL_TOP} or die "PGML_REPL_TOP is not set";
my $fixtures = PostgreSQL::Test::Utils::tempdir('hf');
system('python3', "$top/test/fixtures/build_hf_cache.py", $fixtures) == 0
  or die "building the fixture cache failed";
system('python3', "$top/test/fixtures/build_hf_cache.py", '--bench', $fixtures, 200, 30) == 0
  or die "building the bench cache failed";
# The cluster framework removes its temp folders; give this one back its mode.
chmod 0755, "$fixtures/unreadable-hub";

my $primary = PostgreSQL::Test::Cluster->new('hf_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "pgml_replication.hf_cache_dir = '$fixtures/hub'\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION pgml_replication');
$primary->backup('base');

my $standby = PostgreSQL::Test::Cluster->new('hf_standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

my $manifest_sql = 'SELECT * FROM pgml_repl.hf_manifest ORDER BY repo_type, repo_id, revision, path';

# --- publish on the primary, from the configured folder -------------------
is($primary->safe_psql('postgres', 'SELECT * FROM pgml_repl.publish_hf_manifest()'),
	'9|0|0|0', 'first publish adds the nine healthy files of the configured cache, refusing none');
$primary->wait_for_catchup($standby);
my $on_primary = $primary->safe_psql('postgres', $manifest_sql);
my $on_standby = $standby->safe_psql('postgres', $manifest_sql);
is(scalar(split /\n/, $on_standby), 9, 'the standby has nine manifest rows');
is($on_standby, $on_primary, 'the standby\'s manifest equals the primary\'s, published_at included');
like($on_standby, qr/\|1_Pooling\/config\.json\|/, 'nested paths arrive');
like($on_standby, qr/\{refs\/pr\/1,v1\.0\}/, 'refs arrive');

# --- an unchanged cache writes nothing ------------------------------------
my $versions_sql = 'SELECT string_agg(xmin::text || ctid::text, \',\' ORDER BY repo_type, repo_id, revision, path) FROM pgml_repl.hf_manifest';
my $versions_before = $primary->safe_psql('postgres', $versions_sql);
is( $primary->safe_psql(
		'postgres', q{BEGIN;
SELECT * FROM pgml_repl.publish_hf_manifest();
SELECT pg_current_xact_id_if_assigned() IS NULL;
COMMIT;}),
	"0|0|9|0\nt",
	'second publish changes nothing and never gets a transaction id');
is($primary->safe_psql('postgres', $versions_sql), $versions_before, 'no row got a new version');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $manifest_sql), $on_primary, 'the standby still has the same rows');

# --- a changed cache: only the difference streams -------------------------
is($primary->safe_psql('postgres', "SELECT * FROM pgml_repl.publish_hf_manifest('$fixtures/damaged-hub')"),
	'2|9|0|0', 'publishing another cache replaces the rows');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $manifest_sql),
	$primary->safe_psql('postgres', $manifest_sql), 'the replaced rows arrive on the standby');

# --- the standby refuses to publish ---------------------------------------
my ($rc, $out, $err) = $standby->psql('postgres', 'SELECT * FROM pgml_repl.publish_hf_manifest()');
isnt($rc, 0, 'publish fails on the standby');
like($err, qr/cannot publish the HuggingFace cache manifest on a standby/, 'with a clear message');
like($err, qr/HINT:\s+Run pgml_repl\.publish_hf_manifest\(\) on the primary\./, 'and a hint');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM pgml_repl.hf_cache_manifest()'),
	'9', 'the standby can still list its own cache');

# --- timing: 200 repos x 30 files -----------------------------------------
my $bench = "$fixtures/bench-hub";
my $timing = $primary->safe_psql(
	'postgres', qq{
CREATE FUNCTION pg_temp.time_scan(dir text, OUT files bigint, OUT ms numeric) LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz;
BEGIN
  PERFORM count(*) FROM pgml_repl.hf_cache_manifest(dir);  -- warm the page cache
  t0 := clock_timestamp();
  SELECT count(*) INTO files FROM pgml_repl.hf_cache_manifest(dir) WHERE status = 'ok';
  ms := round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
END \$\$;
SELECT files, ms FROM pg_temp.time_scan('$bench');});
my ($files, $ms) = split /\|/, $timing;
is($files, 6000, '6,000 files listed, all ok');
my $t0 = time();
my $find_out = `find -L '$bench' -type f -printf '%s %p\\n' | wc -l`;
my $find_ms = sprintf('%.1f', (time() - $t0) * 1000);
chomp $find_out;
diag("hf_cache_manifest() over 6,000 files: $ms ms; find -L -type f -printf: $find_ms ms ($find_out lines)");
# Speed is measured by bench/ (docs/benchmarks.md, item 1); this bound only
# catches a listing that went pathologically slow (a hang, quadratic work).
cmp_ok($ms, '<', 60000, 'listing 6,000 files does not take a minute');

done_testing();
