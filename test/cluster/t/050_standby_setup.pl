# standby_setup() end to end: the script it returns, run verbatim with bash
# as the postgres OS user, turns an empty folder into a streaming replica
# that authenticates with the pgpass file the script asks for and reads
# what the primary writes.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplTest;

# The primary is set up with the extension's own functions: archiving to
# pgBackRest and replication settings (configure_primary + restart), then a
# replication role with a given password (quotes, colon and backslash, for
# the pgpass escaping below) and its scram rule for 127.0.0.1.
my $primary = new_node_with_extension('primary');
my $password = 'pa:ss\\wo\'rd';
my $pgbr_conf = archiving_primary($primary);
like( $primary->safe_psql('postgres',
		"SELECT hba_rule FROM pgml_repl.create_replication_user('replication_user', 'pa:ss\\wo''rd', allow_from => '127.0.0.1')"),
	qr/^host\s+replication\s+replication_user\s+127\.0\.0\.1\/32\s+scram-sha-256/,
	'create_replication_user adds the scram rule for the replica');
my $fh;

my $work = PostgreSQL::Test::Utils::tempdir('standby_setup');
my $replica_dir = "$work/replica data";    # a space: the script quotes it
mkdir $replica_dir, 0700 or die "mkdir: $!";
open $fh, '>', "$replica_dir/stale_file" or die;
close $fh;

my $script = $primary->safe_psql('postgres',
	"SELECT pgml_repl.standby_setup('127.0.0.1', " . $primary->port . ", 'replication_user', 'main',
	    data_directory => '$replica_dir', pgbackrest_config => '$pgbr_conf', application_name => 'replica_050')");
like($script, qr/\A#!\/usr\/bin\/env bash\n(?:#.*\n)*set -euo pipefail\n/, 'a bash script with strict mode');
unlike($script, qr/\Q$password\E/, 'the password is not in the script');
my $script_file = "$work/standby_setup.sh";
open $fh, '>', $script_file or die;
print $fh $script, "\n";
close $fh;

# The pgpass line, made as the script says (PASSWORD replaced, ':' and '\'
# escaped as the comment explains).
my ($pgpass_line) = $script =~ /^#   \(umask 077; echo '([^']*)' >> "\$PGPASSFILE"\)$/m;
ok(defined $pgpass_line, 'the script shows the pgpass line to create');
(my $escaped = $password) =~ s/([\\:])/\\$1/g;
$pgpass_line =~ s/PASSWORD$/$escaped/;
my $pgpass = "$work/pgpass";
{
	my $old = umask 077;
	open $fh, '>>', $pgpass or die;
	print $fh "$pgpass_line\n";
	close $fh;
	umask $old;
}

# A replica port of its own: the copied postgresql.conf names the primary's.
my $replica_port = PostgreSQL::Test::Cluster::get_free_port();
my ($stdout, $stderr) = ('', '');
my $ok = IPC::Run::run([ 'bash', $script_file ],
	init => sub {
		$ENV{PGPASSFILE} = $pgpass;
		$ENV{PG_CTL_START_OPTIONS} = "-p $replica_port";
		delete $ENV{PGBIN};
	},
	'>', \$stdout, '2>', \$stderr, IPC::Run::timeout(180));
ok($ok, 'the script ran to the end') or diag("stdout:\n$stdout\nstderr:\n$stderr");
like($stdout, qr/pgml_repl\.replication_status\(\)/, 'it ends with how to verify');
ok(!-e "$replica_dir/stale_file", 'the data directory was emptied first');
ok(-e "$replica_dir/standby.signal", 'standby.signal is there');

sub replica_sql
{
	my ($sql) = @_;
	my ($o, $e) = ('', '');
	IPC::Run::run([ 'psql', '-X', '-A', '-t', '-h', '127.0.0.1', '-p', $replica_port, '-d', 'postgres', '-c', $sql ],
		'>', \$o, '2>', \$e, IPC::Run::timeout(60));
	chomp $o;
	return $e ? "ERROR: $e" : $o;
}

is(replica_sql('SELECT pg_is_in_recovery()'), 't', 'the replica is a hot standby');
is(replica_sql("SELECT current_setting('restore_command')"),
	"pgbackrest --config=$pgbr_conf --stanza=main archive-get %f \"%p\"",
	'restore_command reads the stanza with its config');
like(replica_sql("SELECT current_setting('primary_conninfo')"),
	qr/^host=127\.0\.0\.1 port=\d+ user=replication_user application_name=replica_050 passfile='\Q$pgpass\E'$/,
	'primary_conninfo names the pgpass file, no password');
like(replica_sql("SELECT current_setting('shared_preload_libraries')"), qr/(^|,)\s*pgml_replication$/,
	'shared_preload_libraries includes pgml_replication');

ok( $primary->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_replication WHERE application_name = 'replica_050' AND state = 'streaming'"),
	'the primary sees replica_050 streaming');
$primary->safe_psql('postgres', "CREATE TABLE from_primary AS SELECT 'written on the primary'::text AS msg");
my $lsn = $primary->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
ok( $primary->poll_query_until('postgres',
		"SELECT replay_lsn >= '$lsn' FROM pg_stat_replication WHERE application_name = 'replica_050'"),
	'the replica replayed the write');
is(replica_sql('SELECT msg FROM from_primary'), 'written on the primary', 'the replica reads the row');

# Running the script again (the replica now runs) stops it and rebuilds
# it; a library the primary's configuration lists stays, pgml_replication
# is appended to it. (ALTER SYSTEM on the primary only edits the file the
# base backup copies; the primary needs no restart for this test.)
$primary->safe_psql('postgres', "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'");
$ok = IPC::Run::run([ 'bash', $script_file ],
	init => sub { $ENV{PGPASSFILE} = $pgpass; $ENV{PG_CTL_START_OPTIONS} = "-p $replica_port"; },
	'>', \$stdout, '2>', \$stderr, IPC::Run::timeout(180));
ok($ok, 'the script runs again over a running replica') or diag("stderr:\n$stderr");
is(replica_sql("SELECT current_setting('shared_preload_libraries')"), 'pg_stat_statements,pgml_replication',
	'the copied list is kept and pgml_replication appended');
is(replica_sql('SELECT msg FROM from_primary'), 'written on the primary', 'the rebuilt replica reads the row');

# Guard rails of the script itself.
open $fh, '<', $script_file or die;
my $text = do { local $/; <$fh> };
close $fh;
(my $unsafe = $text) =~ s/^PGDATA_DIR=.*$/PGDATA_DIR=\//m;
open $fh, '>', "$work/unsafe.sh" or die;
print $fh $unsafe;
close $fh;
$ok = IPC::Run::run([ 'bash', "$work/unsafe.sh" ], init => sub { $ENV{PGPASSFILE} = $pgpass; },
	'>', \$stdout, '2>', \$stderr, IPC::Run::timeout(60));
ok(!$ok && $stderr =~ /refusing to empty \//, 'a data directory of / is refused') or diag($stderr);
$ok = IPC::Run::run([ 'bash', $script_file ], init => sub { $ENV{PGPASSFILE} = "$work/no_such_pgpass"; },
	'>', \$stdout, '2>', \$stderr, IPC::Run::timeout(60));
ok(!$ok && $stderr =~ /no password file at/, 'a missing pgpass file stops the script before anything') or diag($stderr);
is(replica_sql('SELECT pg_is_in_recovery()'), 't', 'and the replica still runs');

IPC::Run::run([ 'pg_ctl', '-D', $replica_dir, '-m', 'fast', '-w', 'stop' ], '>', \$stdout, '2>', \$stderr,
	IPC::Run::timeout(60));
$primary->stop;
done_testing();
