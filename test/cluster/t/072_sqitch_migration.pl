# A real migration tool declares a model (issue 16): sqitch (Debian's
# package) deploys a change that calls want_model(), verifies it, and the
# primary's worker fetches the model from the test Hub; a change with a
# malformed repo id fails and wants nothing; reverting takes the
# declaration back and leaves the cache alone.
use strict;
use warnings;

use File::Path ();
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplHub;
use PgmlReplPrefetch;

my $sqitch = '/usr/bin/sqitch';
ok(-x $sqitch, 'sqitch is installed (scripts/install-deps)') or BAIL_OUT('sqitch is missing');

my $hub_cache = PostgreSQL::Test::Utils::tempdir('sqitch_hub') . '/hub';
mkdir $hub_cache;
my $commit = '5a' x 20;
my $folder = 'models--sentence-transformers--all-MiniLM-L6-v2';
add_cache_file($hub_cache, $folder, $commit, 'config.json', qq({"hidden_size": 384}\n), 0);
add_cache_file($hub_cache, $folder, $commit, 'model.safetensors', 'm' x 500_000, 1);
add_cache_file($hub_cache, $folder, $commit, 'onnx/model.onnx', 'o' x 200_000, 1);
my $hub = PgmlReplHub->start(cache => $hub_cache);

my $cache = PostgreSQL::Test::Utils::tempdir('sqitch_primary') . '/hub';
mkdir $cache;
my $node = PostgreSQL::Test::Cluster->new('sqitch');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'pgml_replication'\npgml_replication.naptime = 1\n"
	  . "pgml_replication.min_free_disk = 0\npgml_replication.hf_cache_dir = '$cache'\n"
	  . "pgml_replication.hf_endpoint = '" . $hub->url . "'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgml_replication');

# The sqitch project, as a team keeps it beside its schema.
my $project = PostgreSQL::Test::Utils::tempdir('sqitch_project');
my %env = (
	%ENV,
	SQITCH_USER_CONFIG => "$project/user.conf",
	SQITCH_SYSTEM_CONFIG => "$project/system.conf",
	PGHOST => $node->host,
	PGPORT => $node->port,
	PGUSER => $ENV{USER} // scalar(getpwuid($<)),
	HOME => $project);
write_file("$project/user.conf", "[user]\n\tname = Release Bot\n\temail = bot\@example.com\n");
write_file("$project/system.conf", '');

sub run_sqitch
{
	my (@args) = @_;
	my ($out, $err) = ('', '');
	local %ENV = %env;
	my $ok = IPC::Run::run([ $sqitch, '--chdir', $project, @args ], '<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout(120));
	return ($ok, $out . $err);
}

my ($ok, $log) = run_sqitch('init', 'models', '--engine', 'pg', '--target', 'db:pg:postgres');
ok($ok, 'sqitch init') or diag($log);
($ok, $log) = run_sqitch('add', 'want_minilm', '-n', 'the embedding model release 42 needs');
ok($ok, 'sqitch add') or diag($log);
write_file("$project/deploy/want_minilm.sql", <<'SQL');
BEGIN;
SELECT pgml_repl.want_model('sentence-transformers/all-MiniLM-L6-v2', 'main',
                            allow_patterns => ARRAY['*.json', '*.safetensors']);
COMMIT;
SQL
write_file("$project/revert/want_minilm.sql", <<'SQL');
BEGIN;
SELECT pgml_repl.unwant_model('sentence-transformers/all-MiniLM-L6-v2', 'main');
COMMIT;
SQL
write_file("$project/verify/want_minilm.sql", <<'SQL');
SELECT 1 / count(*) FROM pgml_repl.wanted_models
 WHERE repo_id = 'sentence-transformers/all-MiniLM-L6-v2' AND revision = 'main';
SQL

($ok, $log) = run_sqitch('deploy');
ok($ok, 'sqitch deploy') or diag($log);
($ok, $log) = run_sqitch('verify');
ok($ok, 'sqitch verify') or diag($log);
is($node->safe_psql('postgres', q{SELECT repo_type || ' ' || repo_id || '@' || revision || ' ' || allow_patterns::text
    FROM pgml_repl.wanted_models}),
	'model sentence-transformers/all-MiniLM-L6-v2@main {*.json,*.safetensors}', 'the migration declared the model');

my $deadline = time() + 180;
my $state = '';
while (time() < $deadline)
{
	$node->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
	$state = $node->safe_psql('postgres',
		q{SELECT state || ' ' || commit || ' ' || files_present || '/' || files_wanted FROM pgml_repl.model_status()});
	last if $state =~ /^ready/;
	sleep 1;
}
is($state, "ready $commit 2/2", 'the worker fetched the declared model\'s wanted files');
ok(-f "$cache/$folder/snapshots/$commit/model.safetensors", 'its weights are in the cache');
ok(!-e "$cache/$folder/snapshots/$commit/onnx/model.onnx", 'allow_patterns kept the onnx export out');

# A change that breaks the Hub's rules fails, and its transaction wants nothing.
($ok, $log) = run_sqitch('add', 'want_broken', '-n', 'a typo');
write_file("$project/deploy/want_broken.sql",
	"BEGIN;\nSELECT pgml_repl.want_model('org/ok-model');\nSELECT pgml_repl.want_model('org--broken');\nCOMMIT;\n");
write_file("$project/revert/want_broken.sql", "SELECT 1;\n");
write_file("$project/verify/want_broken.sql", "SELECT 1;\n");
($ok, $log) = run_sqitch('deploy');
ok(!$ok, 'sqitch deploy of the broken change fails');
like($log, qr/repo_id/, 'the failure names the repo id') or diag($log);
is($node->safe_psql('postgres', q{SELECT string_agg(repo_id, ',' ORDER BY repo_id) FROM pgml_repl.wanted_models}),
	'sentence-transformers/all-MiniLM-L6-v2', 'nothing of the failed change was wanted');

($ok, $log) = run_sqitch('revert', '-y');
ok($ok, 'sqitch revert') or diag($log);
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgml_repl.wanted_models'), '0', 'the revert took the model back');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgml_repl.model_status()'), '0', 'model_status() lists nothing');
$node->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
ok(-f "$cache/$folder/snapshots/$commit/model.safetensors", 'the cache keeps the files (never deleted)');


done_testing();
