# Manifest rows are untrusted: the table's CHECK constraints can be dropped
# (or rows come from an older version), so the worker applies the same rules
# again. Rows naming places outside the cache (.. in a repo id or a ref, a
# backslash path, an empty segment), repo ids the Hub never accepts (issue
# 14: orgbars-/m1, -orgbars/m2, orgbars/m3., orgbars/.m4, orgbars/m5--x,
# org..bars/m6) and a repo whose ref names two commits are refused: no
# folder is written for them, prefetch_queue() lists each with its reason,
# prefetch_status() never says complete, check() warns on both nodes. A repo
# folder that is a symlink out of the cache fails its download. The healthy
# row next to them still arrives. Then the standby is promoted: its worker
# becomes the publisher.
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
my $other_rev = '3' x 40;
my $blob = '5731ed3c1331dd4dcb9f16c88224240576a9406f';    # 1_Pooling/config.json of the fixture
my @issue_ids = ('orgbars-/m1', '-orgbars/m2', 'orgbars/m3.', 'orgbars/.m4', 'orgbars/m5--x', 'org..bars/m6');
my $issue_rows = join(",\n", map { "  ('model', '$_', '$good_rev', '{main}', 'x.txt', '$blob', 35)" } @issue_ids);
my $insert = qq{
INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, refs, path, blob, size) VALUES
  ('model', '../../../sentinel/a', '$good_rev', '{}', 'x.txt', '$blob', 35),
  ('model', 'org/..', '$good_rev', '{}', 'x.txt', '$blob', 35),
  ('model', 'org/escape-ref', '$good_rev', '{../../../../sentinel/ref}', 'x.txt', '$blob', 35),
  ('model', 'org/backslash', '$good_rev', '{}', 'a\\..\\..\\..\\sentinel\\b.txt', '$blob', 35),
  ('model', 'org/empty-seg', '$good_rev', '{}', 'a//b.txt', '$blob', 35),
$issue_rows,
  ('model', 'org/two-commits', '$good_rev', '{main}', 'a.txt', '$blob', 35),
  ('model', 'org/two-commits', '$other_rev', '{main}', 'b.txt', '$blob', 35),
  ('model', 'org/trap', '$good_rev', '{main}', 'c.txt', '$blob', 35),
  ('model', 'sentence-transformers/all-MiniLM-L6-v2', '25ea76f0b648068285808583c29b9f55ddf70910',
     '{}', '1_Pooling/config.json', '$blob', 35);};
my ($rc, $out, $err) = $primary->psql('postgres', "TRUNCATE pgml_repl.hf_manifest; $insert");
like($err, qr/violates check constraint "hf_manifest_repo_id_hub_rules"/, 'the table refuses the hostile rows');
# What an altered table (or rows of an older version) lets through.
$primary->safe_psql('postgres', q{
ALTER TABLE pgml_repl.hf_manifest DROP CONSTRAINT hf_manifest_repo_id_hub_rules,
  DROP CONSTRAINT hf_manifest_refs_git_rules, DROP CONSTRAINT hf_manifest_path_hub_rules});
$primary->safe_psql('postgres', "TRUNCATE pgml_repl.hf_manifest; $insert");
is($primary->safe_psql('postgres', 'SELECT count(*) FROM pgml_repl.hf_manifest'), '15',
	'without the constraints the hostile rows are in');
my $check = $primary->safe_psql('postgres',
	"SELECT status || '|' || detail || '|' || hint FROM pgml_repl.check() WHERE check_name = 'hf_manifest'");
like($check, qr/^warning\|11 rows of pgml_repl\.hf_manifest break the Hub's rules.*\|A CHECK constraint of pgml_repl\.hf_manifest was dropped/,
	'check() on the primary warns about the rows, with a hint');
$primary->wait_for_catchup($standby);

my $st = wait_prefetch_complete($standby, "state || '|' || detail || '|' || refused_rows");
like($st, qr/^error\|cache incomplete: 13 manifest rows refused .*\|13$/, 'prefetch_status() reports the refused rows');
unlike($st, qr/cache complete/, 'and never says the cache is complete');
like($standby->safe_psql('postgres', 'SELECT last_error FROM pgml_repl.prefetch_status()'),
	qr/manifest row refused: model ".*" revision ".*" path ".*": invalid manifest|outside|link/,
	'last_error names a refused row and its reason');
like(slurp_file($standby->logfile), qr/WARNING:.*13 manifest rows refused/, 'the server log has a WARNING');

# Every refused row, with its revision, path and reason.
my %refused = map { my ($repo, $rev, $path, $why) = split /\|/, $_, 4; ("$repo $path" => "$rev|$why") }
  split /\n/, $standby->safe_psql('postgres',
	"SELECT repo, revision, path, last_error FROM pgml_repl.prefetch_queue() WHERE status = 'refused'");
is(scalar(keys %refused), 13, 'prefetch_queue() lists the 13 refused rows');
for my $id (@issue_ids)
{
	like($refused{"model:$id x.txt"} // '', qr/^$good_rev\|invalid manifest repo_id: /, "$id is listed with the reason");
}
like($refused{'model:org/two-commits a.txt'} // '', qr/ref "main" names two commits, $good_rev and $other_rev; every row of this repo is refused/,
	'the repo whose ref names two commits is refused, with the conflict');
like($refused{'model:org/escape-ref x.txt'} // '', qr/invalid manifest ref: /, 'the escaping ref is refused');
like($refused{'model:org/backslash a\\..\\..\\..\\sentinel\\b.txt'} // '', qr/invalid manifest path: contains a backslash/,
	'the backslash path is refused');
my @written = grep { m{/models--(orgbars|-orgbars|org\.\.bars|org--two-commits|org--escape-ref|org--backslash|org--empty-seg)} }
  glob("$standby_cache/* $standby_cache/.locks/*");
is(join(',', @written), '', 'no folder is written for a refused row');
like($standby->safe_psql('postgres',
		"SELECT status || '|' || detail || '|' || hint FROM pgml_repl.check() WHERE check_name = 'hf_cache'"),
	qr/^warning\|13 manifest rows refused by the prefetch worker and never fetched \(first: .*\)\.\|SELECT \* FROM pgml_repl\.prefetch_queue\(\) WHERE status = 'refused'/,
	'check() on the standby warns about the refusals, with a hint');

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
