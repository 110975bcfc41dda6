# check() on a healthy primary + standby set up with the extension's own
# functions only; then each broken condition turns exactly its own row to
# warning or error, with a hint, and the others stay as they were.
use strict;
use warnings;

use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplTest;

my $top = $ENV{PGML_REPL_TOP} or die 'PGML_REPL_TOP is not set';

# A fixture cache for the primary and a local Hub serving it to the standby.
my $fixtures = PostgreSQL::Test::Utils::tempdir('doctor_fixtures');
system('python3', "$top/test/fixtures/build_hf_cache.py", $fixtures) == 0 or die 'build_hf_cache.py failed';
chmod 0700, "$fixtures/unreadable-hub";
my $primary_cache = "$fixtures/hub";
my ($hub_out, $hub_err) = ('', '');
my $hub = IPC::Run::start([ '/usr/bin/python3', "$top/test/hub/hub_server.py", '--cache', $primary_cache, '--port', '0' ],
	'>', \$hub_out, '2>', \$hub_err, IPC::Run::timeout(600));
my $deadline = time + 30;
$hub->pump until $hub_out =~ /READY (\d+)/ || time > $deadline;
my ($hub_port) = $hub_out =~ /READY (\d+)/ or die "the test hub did not start: $hub_err";

my $primary = new_node_with_extension('primary', conf => qq{
shared_preload_libraries = 'pgml_replication'
pgml_replication.hf_cache_dir = '$primary_cache'
pgml_replication.naptime = 1
});
my $bindir = $primary->config_data('--bindir');
my $pgbr_conf = archiving_primary($primary);
my (undef, $password) = split /\|/, $primary->safe_psql('postgres',
	"SELECT role_name, password FROM pgml_repl.create_replication_user(allow_from => '127.0.0.1')");

my $standby = PostgreSQL::Test::Cluster->new('standby');
my $work = PostgreSQL::Test::Utils::tempdir('doctor');
my $pgpass = write_pgpass($work, '127.0.0.1', $primary->port, 'replication_user', $password);
{
	local $ENV{PGPASSFILE} = $pgpass;
	command_ok(
		[ "$bindir/pg_basebackup", '-h', '127.0.0.1', '-p', $primary->port, '-U', 'replication_user',
		  '-D', $standby->data_dir, '-X', 'stream', '--no-sync', '--checkpoint=fast' ],
		'pg_basebackup as the replication user');
}
chmod 0700, $standby->data_dir;
my $standby_cache = "$work/standby-hub";
make_path($standby_cache);
my $standby_pgbr = pgbackrest_conf($standby, stanza => 'main',
	dir => PostgreSQL::Test::Utils::tempdir('pgbackrest_standby'),
	repo_lines => 'repo1-path=' . ($pgbr_conf =~ s{/[^/]+$}{/repo}r) . "\n");
$standby->append_conf('postgresql.conf', qq{
port = @{[$standby->port]}
unix_socket_directories = '@{[$standby->host]}'
listen_addresses = '127.0.0.1'
primary_conninfo = 'host=127.0.0.1 port=@{[$primary->port]} user=replication_user passfile=$pgpass application_name=standby1'
restore_command = 'pgbackrest --config=$standby_pgbr --stanza=main archive-get %f "%p"'
hot_standby = on
pgml_replication.hf_cache_dir = '$standby_cache'
pgml_replication.hf_endpoint = 'http://127.0.0.1:$hub_port'
});
$standby->set_standby_mode;
$standby->start;

sub checks
{
	my ($node) = @_;
	my %rows;
	for my $line (split /\n/, $node->safe_psql('postgres',
		"SELECT check_name, status, hint IS NOT NULL, detail FROM pgml_repl.check()"))
	{
		my ($name, $status, $has_hint, $detail) = split /\|/, $line, 4;
		$rows{$name} = { status => $status, hint => $has_hint eq 't', detail => $detail };
	}
	return \%rows;
}

sub statuses { my ($c) = @_; return { map { $_ => $c->{$_}{status} } keys %$c }; }

# Only $name differs from $before, and it is $want with a hint.
sub only_row_changes
{
	my ($node, $before, $name, $want, $what) = @_;
	my $now = checks($node);
	is($now->{$name}{status}, $want, "$what: $name is $want") or diag($now->{$name}{detail});
	ok($now->{$name}{hint}, "$what: $name has a hint");
	my %others = %{ statuses($now) };
	my %expected = %{ statuses($before) };
	delete $others{$name};
	delete $expected{$name};
	is_deeply(\%others, \%expected, "$what: every other row stays as it was");
	return $now;
}

# Healthy: archiving through pgBackRest, the standby streaming, the
# manifest published by the primary's worker and fetched by the standby's.
$primary->safe_psql('postgres', 'SELECT pg_switch_wal()');
my $all_fine = "SELECT bool_and(status IN ('ok', 'skipped')) FROM pgml_repl.check()";
ok($primary->poll_query_until('postgres', $all_fine), 'primary: every row ok or skipped')
  or diag(explain(checks($primary)));
ok($standby->poll_query_until('postgres', $all_fine), 'standby: every row ok or skipped')
  or diag(explain(checks($standby)));
my $primary_ok = checks($primary);
my $standby_ok = checks($standby);
is_deeply([ sort grep { $primary_ok->{$_}{status} ne 'ok' } keys %$primary_ok ], [], 'primary: nothing skipped either');
is_deeply([ sort grep { $standby_ok->{$_}{status} ne 'ok' } keys %$standby_ok ], [], 'standby: nothing skipped either');
like($primary_ok->{archiver}{detail}, qr/pgBackRest holds it/, 'primary: the archiver row compares with pgBackRest');
like($primary_ok->{hf_manifest}{detail}, qr/matches the cache at .*: 9 files/, 'primary: manifest matches the cache');
like($standby_ok->{hf_cache}{detail}, qr/All 9 files/, 'standby: every manifest file is in its cache');
is($primary->safe_psql('postgres', 'SELECT status, exit_code FROM pgml_repl.check_summary()'), 'ok|0',
	'primary: summary ok, exit code 0');
is($standby->safe_psql('postgres', 'SELECT status, exit_code FROM pgml_repl.check_summary()'), 'ok|0',
	'standby: summary ok, exit code 0');
is( $primary->safe_psql('postgres', q{SELECT pgbackrest_in_sync, pgbackrest_archive_max ~ '^[0-9A-F]{24}$' FROM pgml_repl.archive_status()}),
	't|t', 'archive_status(): pgBackRest holds the last archived segment');

# archive_command failing (still a pgBackRest command, for a stanza that
# does not exist): only the archiver row.
my $archive_command = $primary->safe_psql('postgres', 'SHOW archive_command');
$primary->safe_psql('postgres', "ALTER SYSTEM SET archive_command = 'pgbackrest --stanza=nosuch --config=$pgbr_conf archive-push %p'");
$primary->reload;
$primary->safe_psql('postgres', 'SELECT pg_switch_wal()');
ok($primary->poll_query_until('postgres', "SELECT status = 'error' FROM pgml_repl.archive_status()"),
	'the archiver fails');
only_row_changes($primary, $primary_ok, 'archiver', 'error', 'archive_command failing');
is($primary->safe_psql('postgres', 'SELECT status, exit_code FROM pgml_repl.check_summary()'), 'error|2',
	'summary error, exit code 2');
$primary->safe_psql('postgres', "ALTER SYSTEM SET archive_command = '" . ($archive_command =~ s/'/''/gr) . "'");
$primary->reload;
$primary->safe_psql('postgres', 'SELECT pg_switch_wal()');
ok($primary->poll_query_until('postgres', $all_fine), 'restored: primary all fine again');

# The replication role loses LOGIN.
$primary->safe_psql('postgres', 'ALTER ROLE replication_user NOLOGIN');
only_row_changes($primary, $primary_ok, 'replication_role', 'error', 'role without LOGIN');
$primary->safe_psql('postgres', 'ALTER ROLE replication_user LOGIN');

# The standby stops.
$standby->stop;
ok($primary->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_replication"), 'the walsender is gone');
only_row_changes($primary, $primary_ok, 'standbys', 'warning', 'standby stopped');
is($primary->safe_psql('postgres', 'SELECT status, exit_code, detail FROM pgml_repl.check_summary()'),
	'warning|1|warning: standbys', 'summary warning, exit code 1, naming the row');
$standby->start;
ok($primary->poll_query_until('postgres', $all_fine), 'restored: the standby is back');
ok($standby->poll_query_until('postgres', $all_fine), 'restored: standby all fine again');

# The worker switched off on the standby.
$standby->safe_psql('postgres', 'ALTER SYSTEM SET pgml_replication.prefetch = off');
$standby->reload;
ok($standby->poll_query_until('postgres', "SELECT state = 'disabled' FROM pgml_repl.prefetch_status()"),
	'the worker notices');
my $worker_off = only_row_changes($standby, $standby_ok, 'prefetch_worker', 'warning', 'prefetch off');

# With the worker off, a file of the manifest goes missing from the cache.
my $blob = $primary->safe_psql('postgres', "SELECT blob FROM pgml_repl.hf_manifest ORDER BY repo_id, path LIMIT 1");
my @blobs = glob("$standby_cache/*/blobs/$blob");
is(scalar @blobs, 1, 'the blob is in the standby cache') and unlink $blobs[0];
only_row_changes($standby, $worker_off, 'hf_cache', 'warning', 'cache incomplete');
like(checks($standby)->{hf_cache}{detail}, qr/^1 of 9 files of the manifest are missing/, 'the detail counts the missing file');

$standby->safe_psql('postgres', 'ALTER SYSTEM RESET pgml_replication.prefetch');
$standby->reload;
ok($standby->poll_query_until('postgres', $all_fine), 'restored: the worker fetches the file again');

$standby->stop;
$primary->stop;
$hub->signal('TERM');
eval { $hub->finish; };
done_testing();
