# Models flow down the same tree as the WAL (issue 12, scale): one primary
# archiving to pgBackRest, two standbys streaming from it and two cascading
# standbys, one below each, all set up with the extension's own functions
# (create_replication_user, pg_basebackup as that role, a passfile). A test
# Hub serving the primary's cache is the standbys' hf_endpoint, and it must
# see no request: all four caches warm from their upstreams (the two direct
# standbys share the primary's max_blob_readers = 4 with 4 connections
# each, so some of their reads are told "busy" and wait their turn). Then
# check() has no warning or error on any of the five nodes.
use strict;
use warnings;

use File::Path qw(make_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgmlReplHub;
use PgmlReplPrefetch;
use PgmlReplTest;

my $fixtures = fixture_cache();
my $primary_cache = "$fixtures/hub";
# A few larger files, so transfers overlap and the reader limit is reached.
my $rev = 'a1' x 20;
for my $i (1 .. 6)
{
	add_cache_file($primary_cache, 'models--org--tree', $rev, "shard-$i.bin", chr(64 + $i) x (3 << 20), 1);
}
my $hub = PgmlReplHub->start(cache => $primary_cache);

my $primary = new_node_with_extension('tree_primary', conf => qq{
shared_preload_libraries = 'pgml_replication'
pgml_replication.hf_cache_dir = '$primary_cache'
pgml_replication.naptime = 1
listen_addresses = '127.0.0.1'
log_connections = on
});
my $bindir = $primary->config_data('--bindir');
my $pgbr_conf = archiving_primary($primary);
my (undef, $password) = split /\|/, $primary->safe_psql('postgres',
	"SELECT role_name, password FROM pgml_repl.create_replication_user(allow_from => '127.0.0.1')");
ok($primary->poll_query_until('postgres', 'SELECT count(*) = 15 FROM pgml_repl.hf_manifest'),
	'the primary\'s worker publishes the fifteen files of its cache');
my $work = PostgreSQL::Test::Utils::tempdir('tree');
my $pgpass = write_pgpass($work, '127.0.0.1', '*', 'replication_user', $password);

# A standby of $upstream made as a DBA would: pg_basebackup as the
# replication role, primary_conninfo with a passfile, pgBackRest's
# archive-get as restore_command.
sub standby_of
{
	my ($upstream, $name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	local $ENV{PGPASSFILE} = $pgpass;
	command_ok(
		[ "$bindir/pg_basebackup", '-h', '127.0.0.1', '-p', $upstream->port, '-U', 'replication_user',
		  '-D', $node->data_dir, '-X', 'stream', '--no-sync', '--checkpoint=fast' ],
		"pg_basebackup of $name as the replication user");
	chmod 0700, $node->data_dir;
	my $cache = "$work/$name-hub";
	make_path($cache);
	my $pgbr = pgbackrest_conf($node, stanza => 'main', dir => PostgreSQL::Test::Utils::tempdir("pgbackrest_$name"),
		repo_lines => 'repo1-path=' . ($pgbr_conf =~ s{/[^/]+$}{/repo}r) . "\n");
	$node->append_conf('postgresql.conf', qq{
port = @{[$node->port]}
unix_socket_directories = '@{[$node->host]}'
listen_addresses = '127.0.0.1'
primary_conninfo = 'host=127.0.0.1 port=@{[$upstream->port]} user=replication_user passfile=$pgpass application_name=$name'
restore_command = 'pgbackrest --config=$pgbr --stanza=main archive-get %f "%p"'
hot_standby = on
pgml_replication.hf_cache_dir = '$cache'
pgml_replication.hf_endpoint = '@{[$hub->url]}'
});
	$node->set_standby_mode;
	$node->start;
	return ($node, $cache);
}

my %cache;
my ($s1, $s2, $c1, $c2);
($s1, $cache{s1}) = standby_of($primary, 'tree_s1');
($s2, $cache{s2}) = standby_of($primary, 'tree_s2');
$primary->wait_for_catchup($_) for ($s1, $s2);
($c1, $cache{c1}) = standby_of($s1, 'tree_c1');
($c2, $cache{c2}) = standby_of($s2, 'tree_c2');
my @standbys = ([ $s1, 's1' ], [ $s2, 's2' ], [ $c1, 'c1' ], [ $c2, 'c2' ]);

# Each warm: a cycle that ends idle with nothing queued. The cascading ones
# may need a cycle or two more while the standby above still fetches.
for my $s (@standbys)
{
	my ($node, $key) = @$s;
	my $st = wait_prefetch_until($node, "state || '|' || queued_files", 'idle|0', 240);
	is($st, 'idle|0', "$key: its worker completes");
	same_cache($cache{$key}, $primary_cache, "$key: its cache equals the primary's");
	is(prefetch_status($node, 'bytes_from_hub'), '0', "$key: no byte from the Hub");
	cmp_ok(prefetch_status($node, 'bytes_from_upstream'), '>=', 6 * (3 << 20), "$key: every byte from its upstream");
}
is($hub->stats->{requests}, 0, 'the Hub saw no request from any standby');

# The direct standbys logged in to the primary; each cascading one to the standby above it.
like(slurp_file($primary->logfile), qr/connection authorized: user=replication_user database=postgres application_name=pgml_replication prefetch/,
	'the direct standbys fetched from the primary');
for my $pair ([ $s1, 'c1' ], [ $s2, 'c2' ])
{
	like(slurp_file($pair->[0]->logfile), qr/connection authorized: user=replication_user database=postgres application_name=pgml_replication prefetch/,
		"$pair->[1] fetched from the standby above it");
}

# check() on all five nodes: nothing to warn about.
$primary->safe_psql('postgres', 'SELECT pg_switch_wal()');
for my $n ([ $primary, 'primary' ], @standbys)
{
	my ($node, $key) = @$n;
	my $ok = $node->poll_query_until('postgres', "SELECT bool_and(status IN ('ok', 'skipped')) FROM pgml_repl.check()");
	ok($ok, "$key: check() has no warning or error")
	  or diag($node->safe_psql('postgres', "SELECT check_name, status, detail FROM pgml_repl.check() WHERE status NOT IN ('ok', 'skipped')"));
}

$hub->stop;
done_testing();
