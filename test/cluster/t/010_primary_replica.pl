# The whole primary-side guide done through the extension only:
# configure_primary + restart, pgBackRest stanza on a file repository,
# create_replication_user with a generated password and an hba rule, then a
# replica made with pg_basebackup as that user, streaming and restoring from
# the archive, and both status functions reporting correctly on each side.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplTest;

my $primary = new_node_with_extension('primary');

# Nothing about archiving or replication is configured by hand: the
# defaults of initdb plus the extension's functions only.
my $bindir = $primary->config_data('--bindir');
my $pgbr_conf = pgbackrest_conf($primary, stanza => 'main');

my $rows = $primary->safe_psql('postgres',
	"SELECT name, value, changed, pending_restart
	   FROM pgml_repl.configure_primary(stanza => 'main', pgbackrest_config => '$pgbr_conf')
	  ORDER BY name");
like($rows, qr/^archive_command\|pgbackrest --stanza=main --config=\S+ archive-push %p\|t\|f$/m,
	'archive_command points at pgBackRest with our config');
like($rows, qr/^archive_mode\|on\|t\|t$/m, 'archive_mode set, restart pending');

# Inside a transaction that rolls back nothing is written...
my $autoconf_before = slurp_file($primary->data_dir . '/postgresql.auto.conf');
$primary->safe_psql('postgres',
	"BEGIN; SELECT pgml_repl.configure_primary(max_wal_senders => 7); ROLLBACK;");
is(slurp_file($primary->data_dir . '/postgresql.auto.conf'),
	$autoconf_before, 'ROLLBACK leaves postgresql.auto.conf byte-identical');

$primary->restart;
is($primary->safe_psql('postgres', 'SHOW archive_mode'), 'on', 'archive_mode on after restart');
is($primary->safe_psql('postgres', 'SHOW wal_level'), 'replica', 'wal_level replica after restart');
is( $primary->safe_psql('postgres',
		"SELECT count(*) FROM pgml_repl.configure_primary(stanza => 'main', pgbackrest_config => '$pgbr_conf') WHERE changed OR pending_restart"),
	'0',
	'second configure_primary changes nothing and needs no restart');

my ($rc, $out, $err) = run_pgbackrest($pgbr_conf, '--stanza=main', 'stanza-create');
is($rc, 0, 'pgbackrest stanza-create') or diag($err);
($rc, $out, $err) = run_pgbackrest($pgbr_conf, '--stanza=main', 'check');
is($rc, 0, 'pgbackrest check passes on the configured primary') or diag($err);

# The replication role, with a generated password and an hba rule.
my $user_row = $primary->safe_psql('postgres',
	"SELECT role_name, password, created, hba_rule
	   FROM pgml_repl.create_replication_user(allow_from => '127.0.0.1')");
my ($role, $password, $created, $hba_rule) = split /\|/, $user_row;
is($role, 'replication_user', 'role name');
is($created, 't', 'role created');
ok(defined $password && length($password) >= 24, 'a strong password was generated and returned once');
like($hba_rule, qr/^host\s+replication\s+"?replication_user"?\s+127\.0\.0\.1\/32\s+scram-sha-256/, 'hba rule for the replica');
is( $primary->safe_psql('postgres',
		"SELECT rolreplication AND rolcanlogin AND rolpassword LIKE 'SCRAM-SHA-256\$%' FROM pg_authid WHERE rolname = 'replication_user'"),
	't',
	'role has LOGIN REPLICATION and a SCRAM verifier');
ok(!$primary->log_contains(quotemeta($password)), 'the generated password is not in the server log');

my $replica = PostgreSQL::Test::Cluster->new('replica');
my $replica_data = $replica->data_dir;
my $work = PostgreSQL::Test::Utils::tempdir('replica_setup');

# The rule is effective: a wrong password is refused over TCP.
my $bad_pass = write_pgpass($work, '127.0.0.1', $primary->port, 'replication_user', 'wrong-password');
my ($stdout, $stderr);
{
	local $ENV{PGPASSFILE} = $bad_pass;
	IPC::Run::run(
		[ "$bindir/pg_basebackup", '-h', '127.0.0.1', '-p', $primary->port, '-U', 'replication_user',
		  '-D', "$work/should_fail", '-X', 'none', '--no-sync' ],
		'>', \$stdout, '2>', \$stderr, IPC::Run::timeout(60));
}
like($stderr, qr/password authentication failed for user "replication_user"/,
	'the scram rule is the one that matches: a wrong password is refused');

my $pgpass = write_pgpass($work, '127.0.0.1', $primary->port, 'replication_user', $password);
{
	local $ENV{PGPASSFILE} = $pgpass;
	command_ok(
		[ "$bindir/pg_basebackup", '-h', '127.0.0.1', '-p', $primary->port, '-U', 'replication_user',
		  '-D', $replica_data, '-X', 'stream', '--no-sync', '--checkpoint=fast' ],
		'pg_basebackup as the replication user with its generated password');
}
chmod 0700, $replica_data;

my $replica_pgbr = pgbackrest_conf($replica, stanza => 'main',
	dir => PostgreSQL::Test::Utils::tempdir('pgbackrest_replica'),
	repo_lines => "repo1-path=" . ($pgbr_conf =~ s{/[^/]+$}{/repo}r) . "\n");
my $port = $replica->port;
my $host = $replica->host;
$replica->append_conf('postgresql.conf', qq{
port = $port
unix_socket_directories = '$host'
listen_addresses = '127.0.0.1'
primary_conninfo = 'host=127.0.0.1 port=@{[$primary->port]} user=replication_user passfile=$pgpass application_name=replica1'
restore_command = 'pgbackrest --config=$replica_pgbr --stanza=main archive-get %f "%p"'
hot_standby = on
});
$replica->set_standby_mode;
$replica->start;

$primary->safe_psql('postgres', "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 1000) g");
$primary->wait_for_catchup('replica1', 'replay', $primary->lsn('insert'));
is($replica->safe_psql('postgres', 'SELECT count(*), sum(id) FROM t'), '1000|500500',
	'the replica reads what the primary wrote');
is($replica->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the replica is a hot standby');

# Status on the primary: one row for the standby, streaming, ok.
ok( $primary->poll_query_until('postgres',
		"SELECT status = 'ok' AND state = 'streaming' AND application_name = 'replica1' AND lag_bytes = 0
		   FROM pgml_repl.replication_status()"),
	'primary: replication_status reports the standby streaming with no lag');
is($primary->safe_psql('postgres', 'SELECT count(*) FROM pgml_repl.replication_status()'), '1',
	'primary: exactly one standby row');

# Status on the standby: its WAL receiver, no replay delay once caught up.
ok( $replica->poll_query_until('postgres',
		"SELECT role = 'standby' AND status = 'ok' AND lag_bytes = 0 AND replay_delay = interval '0'
		   FROM pgml_repl.replication_status()"),
	'standby: replication_status reports its receiver streaming, caught up');

# Archive status: WAL is archived through pgBackRest, and the replica can
# fetch archived WAL with its restore_command.
$primary->safe_psql('postgres', 'SELECT pg_switch_wal()');
ok( $primary->poll_query_until('postgres',
		"SELECT status = 'ok' AND archived_count > 0 AND ready_count = 0 FROM pgml_repl.archive_status()"),
	'primary: archive_status ok with archived segments');
my $last_archived = $primary->safe_psql('postgres', 'SELECT last_archived_wal FROM pgml_repl.archive_status()');
($rc, $out, $err) = run_pgbackrest($replica_pgbr, '--stanza=main', 'archive-get', $last_archived, "$work/fetched_wal");
is($rc, 0, 'the replica\'s restore_command can fetch the last archived segment') or diag($err);
ok(-s "$work/fetched_wal", 'fetched segment is not empty');
is($replica->safe_psql('postgres', 'SELECT current_wal IS NULL FROM pgml_repl.archive_status()'), 't',
	'standby: archive_status has no current_wal');

# The server itself sees the rule (pg_hba_file_rules re-reads the file), and
# disallow_replica takes it away again.
my $rule_count = "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication_user' = ANY(user_name) AND 'replication' = ANY(database) AND auth_method = 'scram-sha-256' AND error IS NULL";
is($primary->safe_psql('postgres', $rule_count), '1', 'pg_hba_file_rules shows the rule');
$primary->safe_psql('postgres', "SELECT * FROM pgml_repl.disallow_replica('127.0.0.1')");
is($primary->safe_psql('postgres', $rule_count), '0', 'disallow_replica removed it');

$replica->stop;
$primary->stop;
done_testing();
