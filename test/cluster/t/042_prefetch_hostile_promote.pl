# Manifest rows are untrusted: rows the table's CHECK constraints let through
# but that name places outside the cache (.. in a repo id or a ref, a
# backslash path, an empty segment, a repo folder that is a symlink out of
# the cache) are refused and reported, and nothing is written outside the
# cache; the healthy row next to them still arrives. Then the standby is
# promoted: its worker becomes the publisher.
use strict;
use warnings;
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplHub;
use PgmlReplPrefetch;

my $fixtures = fixture_cache();
my $hub = PgmlReplHub->start(cache => "$fixtures/hub");
my ($primary, $standby, $standby_cache) = prefetch_pair(primary_cache => "$fixtures/hub", hub => $hub, prefix => 'pfh');
my $outside = dirname($standby_cache);
my $sentinel = "$outside/sentinel";
mkdir $sentinel or die;
# A repo folder that is a symlink leading out of the cache.
symlink($sentinel, "$standby_cache/models--org--trap") or die;

# The primary's worker would republish its cache over the hostile rows.
$primary->append_conf('postgresql.conf', "pgml_replication.prefetch = off\n");
$primary->reload;
ok($primary->poll_query_until('postgres', "SELECT state = 'disabled' FROM pgml_repl.prefetch_status()"),
	'the primary\'s worker is off');

my $good_rev = '2' x 40;
my $blob = '5731ed3c1331dd4dcb9f16c88224240576a9406f';    # 1_Pooling/config.json of the fixture
$primary->safe_psql(
	'postgres', qq{
TRUNCATE pgml_repl.hf_manifest;
INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, refs, path, blob, size) VALUES
  ('model', '../../../sentinel/a', '$good_rev', '{}', 'x.txt', '$blob', 35),
  ('model', 'org/..', '$good_rev', '{}', 'x.txt', '$blob', 35),
  ('model', 'org/escape-ref', '$good_rev', '{../../../../sentinel/ref}', 'x.txt', '$blob', 35),
  ('model', 'org/backslash', '$good_rev', '{}', 'a\\..\\..\\..\\sentinel\\b.txt', '$blob', 35),
  ('model', 'org/empty-seg', '$good_rev', '{}', 'a//b.txt', '$blob', 35),
  ('model', 'org/trap', '$good_rev', '{main}', 'c.txt', '$blob', 35),
  ('model', 'sentence-transformers/all-MiniLM-L6-v2', '25ea76f0b648068285808583c29b9f55ddf70910',
     '{}', '1_Pooling/config.json', '$blob', 35);});
is($primary->safe_psql('postgres', 'SELECT count(*) FROM pgml_repl.hf_manifest'), '7',
	'the table\'s CHECK constraints let the hostile rows in');
$primary->wait_for_catchup($standby);

my $st = wait_prefetch_complete($standby, "state || '|' || detail");
like($st, qr/^error\|.*5 manifest rows refused/, 'prefetch_status() reports the refused rows');
like($standby->safe_psql('postgres', 'SELECT last_error FROM pgml_repl.prefetch_status()'),
	qr/manifest row refused|outside|link/, 'last_error names a refusal');
like(slurp_file($standby->logfile), qr/WARNING:.*manifest rows refused/, 'the server log has a WARNING');

opendir my $dh, $sentinel or die;
my @in_sentinel = grep { !/^\.\.?$/ } readdir $dh;
closedir $dh;
is(join(',', @in_sentinel), '', 'nothing was written where the hostile rows point');
opendir $dh, $outside or die;
my @beside = sort grep { !/^\.\.?$/ } readdir $dh;
closedir $dh;
is(join(',', @beside), 'hub,sentinel', 'nothing new next to the cache either');
ok(!-e "$standby_cache/models--org--escape-ref/refs/../../../../sentinel/ref", 'the hostile ref is not written');
ok(-l "$standby_cache/models--sentence-transformers--all-MiniLM-L6-v2/snapshots/25ea76f0b648068285808583c29b9f55ddf70910/1_Pooling/config.json",
	'the healthy row next to them still arrives');
is(join(',', bad_blobs($standby_cache)), '', 'and its blob is right');

# --- promotion: the same worker becomes the publisher ----------------------
unlink "$standby_cache/models--org--trap";
$standby->promote;
ok($standby->poll_query_until('postgres', "SELECT role = 'primary' FROM pgml_repl.prefetch_status()"),
	'after promotion prefetch_status().role is primary');
add_cache_file($standby_cache, 'models--org--after-promotion', '3' x 40, 'config.json', "{\"promoted\": true}\n", 0);
$standby->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
ok($standby->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pgml_repl.hf_manifest WHERE repo_id = 'org/after-promotion' AND path = 'config.json'"),
	'a file added to the promoted node\'s cache appears in its hf_manifest');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM pgml_repl.hf_manifest WHERE repo_id LIKE '%..%' OR strpos(path, chr(92)) > 0}),
	'0', 'the publisher replaced the hostile rows with its own cache');

$hub->stop;
done_testing();
