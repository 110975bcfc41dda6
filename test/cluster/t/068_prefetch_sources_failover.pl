# Where a standby fetches from when the topology is not a plain stream
# (issue 12). A log-shipping standby (restore_command only, no
# primary_conninfo) gets the manifest with the archived WAL and fetches from
# the Hub; told to use only the upstream, it says why it cannot. After a
# failover, a second standby re-pointed at the promoted one (new
# primary_conninfo, reload) fetches a model published by the new primary
# from it, with the Hub unreachable.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgmlReplHub;
use PgmlReplPrefetch;
use PgmlReplTest;

my $fixtures = fixture_cache();
my $primary_cache = "$fixtures/hub";
my $password = 'pw-068-replicator';
my $dead_hub = 'http://127.0.0.1:' . PostgreSQL::Test::Cluster::get_free_port();
my $common = "shared_preload_libraries = 'pgml_replication'\n"
  . "pgml_replication.naptime = 1\npgml_replication.min_free_disk = 0\n"
  . "listen_addresses = '127.0.0.1'\nlog_connections = on\n";

# --- a log-shipping standby: the manifest by archive, the bytes from the Hub
my $hub = PgmlReplHub->start(cache => $primary_cache);
my $primary = PostgreSQL::Test::Cluster->new('primary_068');
$primary->init(allows_streaming => 1, has_archiving => 1);
$primary->append_conf('postgresql.conf',
	$common . "pgml_replication.hf_cache_dir = '$primary_cache'\npgml_replication.hf_endpoint = '$dead_hub'\n");
local_only_hba($primary);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION pgml_replication');
$primary->safe_psql('postgres',
	"SELECT * FROM pgml_repl.create_replication_user('replicator', '$password', '127.0.0.1')");
$primary->reload;
ok($primary->poll_query_until('postgres', 'SELECT count(*) = 9 FROM pgml_repl.hf_manifest'),
	'the primary\'s worker publishes the nine files of its cache');
$primary->backup('base_068');

my $shipped_cache = PostgreSQL::Test::Utils::tempdir('shipped_hf') . '/hub';
mkdir $shipped_cache;
my $shipped = PostgreSQL::Test::Cluster->new('shipped_068');
$shipped->init_from_backup($primary, 'base_068', has_restoring => 1);
$shipped->append_conf('postgresql.conf',
	"pgml_replication.hf_cache_dir = '$shipped_cache'\npgml_replication.hf_endpoint = '" . $hub->url . "'\n");
$shipped->start;
is($shipped->safe_psql('postgres', 'SHOW primary_conninfo'), '', 'the log-shipping standby has no primary_conninfo');
$primary->safe_psql('postgres', 'SELECT pg_switch_wal()');
ok($shipped->poll_query_until('postgres', 'SELECT count(*) = 9 FROM pgml_repl.hf_manifest'),
	'the manifest arrives with the archived WAL');
my $st = wait_prefetch_complete($shipped, "state || '|' || queued_files || '|' || coalesce(last_error, '')", 120);
is($st, 'idle|0|', 'its worker completes, without an error about the missing upstream');
same_cache($shipped_cache, $primary_cache, 'its cache equals the primary\'s');
my ($from_upstream, $from_hub) = split /\|/, prefetch_status($shipped, "bytes_from_upstream || '|' || bytes_from_hub");
is($from_upstream, '0', 'nothing came from an upstream');
cmp_ok($from_hub, '>', 0, "everything came from the Hub ($from_hub bytes)");

# Only the upstream listed: the standby says why it cannot fetch.
$shipped->append_conf('postgresql.conf', "pgml_replication.hf_sources = 'upstream'\n");
$shipped->reload;
my $err = '';
my $deadline = time() + 60;
while (time() < $deadline)
{
	$err = prefetch_status($shipped, "state || '|' || coalesce(last_error, '')");
	last if $err =~ /primary_conninfo is empty/;
	$shipped->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
	sleep 0.2;
}
like($err, qr/^error\|no upstream: primary_conninfo is empty \(a log-shipping standby\)/,
	'with hf_sources = upstream it reports that it has no upstream');
my ($rc, $out, $stderr) = $shipped->psql('postgres', "ALTER SYSTEM SET pgml_replication.hf_sources = 'upstream, ftp'");
like($stderr, qr/invalid value for parameter "pgml_replication.hf_sources".*ftp/s, 'an unknown source is refused');
$shipped->stop;
$hub->stop;

# --- failover: the second standby follows the new primary -----------------
my $pgpass = write_pgpass(PostgreSQL::Test::Utils::tempdir('pgpass'), '127.0.0.1', '*', 'replicator', $password);
sub conninfo_to { "host=127.0.0.1 port=" . $_[0]->port . " user=replicator passfile=$pgpass application_name=$_[1]" }

my %cache;
my @standbys;
for my $name ('s1_068', 's2_068')
{
	$cache{$name} = PostgreSQL::Test::Utils::tempdir("${name}_hf") . '/hub';
	mkdir $cache{$name};
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init_from_backup($primary, 'base_068', has_streaming => 1);
	$node->append_conf('postgresql.conf',
		"pgml_replication.hf_cache_dir = '$cache{$name}'\npgml_replication.hf_endpoint = '$dead_hub'\n"
		  . "primary_conninfo = '" . conninfo_to($primary, $name) . "'\n");
	$node->start;
	push @standbys, $node;
}
my ($s1, $s2) = @standbys;
for my $node (@standbys)
{
	$primary->wait_for_catchup($node);
	is(wait_prefetch_complete($node, "state || '|' || queued_files || '|' || bytes_from_hub", 120), 'idle|0|0',
		$node->name . ' warms from the primary, nothing from the Hub');
}

$primary->stop;
$s1->promote;
ok($s1->poll_query_until('postgres', "SELECT role = 'primary' FROM pgml_repl.prefetch_status()"),
	'the promoted standby\'s worker becomes the publisher');
$s2->safe_psql('postgres', "ALTER SYSTEM SET primary_conninfo = '" . conninfo_to($s1, 's2_068') . "'");
$s2->reload;

# The new primary gets a model; its worker publishes it; s2 fetches it from s1.
my $offset = -s $s1->logfile;
my $rev = 'f' x 40;
my $new = add_cache_file($cache{s1_068}, 'models--org--after-failover', $rev, 'model.bin', 'n' x 500_000, 1);
ok($s1->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgml_repl.hf_manifest WHERE blob = '$new'"),
	'the new primary publishes the new model');
ok($s2->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgml_repl.hf_manifest WHERE blob = '$new'"),
	're-pointed, the second standby replays it from the new primary');
$st = wait_prefetch_until($s2, "state || '|' || queued_files || '|' || bytes_from_hub", 'idle|0|0', 120);
is($st, 'idle|0|0', 'and completes, nothing from the Hub');
ok(-f "$cache{s2_068}/models--org--after-failover/blobs/$new", 'the new model\'s blob is there');
is(join(',', bad_blobs($cache{s2_068})), '', 'every blob hashes to its name');
like(slurp_file($s1->logfile, $offset),
	qr/connection authorized: user=replicator database=postgres application_name=pgml_replication prefetch/,
	'it came from the new primary');

done_testing();
