# standby_setup() end to end: the script it returns, run verbatim with bash
# as the postgres OS user, turns an empty folder into a streaming replica
# that authenticates with the pgpass file the script asks for and reads
# what the primary writes; run again it rebuilds the replica next to the
# running one and swaps the two. Every refusal is run for real: a wrong
# password, the primary's own data directory, a cluster that is not a
# standby of this primary, a folder of other files, a leftover copy, a new
# copy that does not start. Each leaves the folder and any running server
# exactly as they were.
use strict;
use warnings;

use File::Path qw(make_path);
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

sub write_file
{
	my ($path, $text) = @_;
	open my $out, '>', $path or die "cannot write $path: $!";
	print $out $text;
	close $out;
	return $path;
}

sub slurp
{
	my ($path) = @_;
	open my $in, '<', $path or die "cannot read $path: $!";
	local $/;
	return scalar <$in>;
}

# A script for data_directory $dir, written to $work/$name.sh.
sub script_for
{
	my ($name, $dir, $application_name) = @_;
	$application_name //= 'replica_050';
	my $sql = "SELECT pgml_repl.standby_setup('127.0.0.1', data_directory => '$dir', "
	  . "pgbackrest_config => '$pgbr_conf', application_name => '$application_name')";
	return write_file("$work/$name.sh", $primary->safe_psql('postgres', $sql) . "\n");
}

my $script = slurp(script_for('standby_setup', $replica_dir));
like($script, qr/\A#!\/usr\/bin\/env bash\n(?:#.*\n)*set -euo pipefail\n/, 'a bash script with strict mode');
unlike($script, qr/\Q$password\E/, 'the password is not in the script');
my $primary_port = $primary->port;
like($script, qr/^PRIMARY_PORT='$primary_port'$/m, 'primary_port defaults to the server\'s own port');
my $script_file = "$work/standby_setup.sh";

# The pgpass line, made as the script says (PASSWORD replaced, ':' and '\'
# escaped as the comment explains).
my ($pgpass_line) = $script =~ /^#   \(umask 077; echo '([^']*)' >> "\$PGPASSFILE"\)$/m;
ok(defined $pgpass_line, 'the script shows the pgpass line to create');
(my $escaped = $password) =~ s/([\\:])/\\$1/g;
$pgpass_line =~ s/PASSWORD$/$escaped/;
my $pgpass = "$work/pgpass";
{
	my $old = umask 077;
	write_file($pgpass, "$pgpass_line\n");
	umask $old;
}
my $bad_pgpass = "$work/pgpass_wrong";
{
	my $old = umask 077;
	(my $wrong = $pgpass_line) =~ s/:[^:]*$/:not-the-password/;
	write_file($bad_pgpass, "$wrong\n");
	umask $old;
}

# A replica port of its own: the copied postgresql.conf names the primary's.
my $replica_port = PostgreSQL::Test::Cluster::get_free_port();

# Runs a script; returns (ok, stdout, stderr).
sub run_script
{
	my ($file, %opt) = @_;
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run([ 'bash', $file, @{ $opt{args} // [] } ],
		init => sub {
			delete $ENV{PGBIN};
			$ENV{PGPASSFILE} = $opt{pgpass} // $pgpass;
			$ENV{PG_CTL_START_OPTIONS} = "-p " . ($opt{port} // $replica_port);
			$ENV{$_} = $opt{env}{$_} for keys %{ $opt{env} // {} };
		},
		'>', \$out, '2>', \$err, IPC::Run::timeout(300));
	return ($ok, $out, $err);
}

sub sql_on_port
{
	my ($port, $sql) = @_;
	my ($o, $e) = ('', '');
	IPC::Run::run([ 'psql', '-X', '-A', '-t', '-h', '127.0.0.1', '-p', $port, '-d', 'postgres', '-c', $sql ],
		'>', \$o, '2>', \$e, IPC::Run::timeout(60));
	chomp $o;
	return $e ? "ERROR: $e" : $o;
}
sub replica_sql { return sql_on_port($replica_port, @_); }

# The sibling folders a run may create; none may be left behind.
sub leftovers
{
	my ($dir) = @_;
	return join(' ', grep { -e $_ } map { "$dir$_" } '.pgml_new', '.pgml_old');
}

sub postmaster_pid
{
	my ($dir) = @_;
	return -f "$dir/postmaster.pid" ? (split /\n/, slurp("$dir/postmaster.pid"))[0] : '';
}

sub system_identifier
{
	my ($dir) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_controldata', '-D', $dir ], '>', \$out, '2>', \$err, init => sub { $ENV{LC_ALL} = 'C' });
	return $out =~ /^Database system identifier:\s*(\d+)/m ? $1 : "none ($err)";
}

my $primary_sysid = system_identifier($primary->data_dir);

# --- --check on a missing folder: the checks pass, nothing is created.
my ($ok, $stdout, $stderr) = run_script(script_for('standby_setup', $replica_dir), args => ['--check']);
ok($ok, '--check passes on a missing folder') or diag($stderr);
like($stdout, qr/\Qok: replication_user may replicate from 127.0.0.1:$primary_port (system identifier $primary_sysid)\E/,
	'it proved the replication login and read the primary\'s system identifier');
like($stdout, qr/nothing was changed \(--check\)/, 'and says nothing was changed');
ok(!-e $replica_dir, 'the folder was not created');

# --- The first run: the copy goes straight into the new folder.
($ok, $stdout, $stderr) = run_script($script_file);
ok($ok, 'the script ran to the end') or diag("stdout:\n$stdout\nstderr:\n$stderr");
like($stdout, qr/pgml_repl\.replication_status\(\)/, 'it ends with how to verify');
ok(-e "$replica_dir/standby.signal", 'standby.signal is there');
is(leftovers($replica_dir), '', 'no copy or old folder next to the data directory');

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

# --- A wrong password: refused before anything changes; the serving
# replica is neither stopped nor touched.
write_file("$replica_dir/pgmlr_marker", "kept\n");
my $pid_before = postmaster_pid($replica_dir);
($ok, $stdout, $stderr) = run_script($script_file, pgpass => $bad_pgpass);
ok(!$ok, 'a wrong password fails the script');
like($stderr, qr/cannot replicate from 127\.0\.0\.1:$primary_port as replication_user\. Nothing was changed\./,
	'it says it cannot replicate and changed nothing');
like($stderr, qr/password authentication failed/, 'with the server\'s reason');
is(postmaster_pid($replica_dir), $pid_before, 'the replica was not stopped');
ok(-e "$replica_dir/pgmlr_marker", 'nothing was deleted');
is(replica_sql('SELECT msg FROM from_primary'), 'written on the primary', 'the old replica still serves');
is(leftovers($replica_dir), '', 'no copy was started');

# --- Run again over the running replica: the copy is made next to it and
# swapped in; a library the primary's configuration lists stays and
# pgml_replication is appended. (ALTER SYSTEM on the primary only edits the
# file the base backup copies; the primary needs no restart for this.)
$primary->safe_psql('postgres', "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'");
($ok, $stdout, $stderr) = run_script($script_file);
ok($ok, 'the script runs again over a running replica') or diag("stderr:\n$stderr");
like($stdout, qr/holds a standby of this primary \(in archive recovery\)/, 'it recognised its own standby');
like($stdout, qr/the copy goes to \Q$replica_dir\E\.pgml_new/, 'the copy went next to the data directory');
ok(!-e "$replica_dir/pgmlr_marker", 'the data directory is the new copy');
isnt(postmaster_pid($replica_dir), $pid_before, 'the replica was restarted from the new copy');
is(leftovers($replica_dir), '', 'the old copy was removed after the start');
is(replica_sql("SELECT current_setting('shared_preload_libraries')"), 'pg_stat_statements,pgml_replication',
	'the copied list is kept and pgml_replication appended');
is(replica_sql('SELECT msg FROM from_primary'), 'written on the primary', 'the rebuilt replica reads the row');

# --- A new copy that does not start (a library the primary lists but this
# host lacks): the old data directory is put back and started again.
$primary->safe_psql('postgres', "ALTER SYSTEM SET shared_preload_libraries = 'pgmlr_no_such_library'");
write_file("$replica_dir/pgmlr_marker", "old copy\n");
$pid_before = postmaster_pid($replica_dir);
($ok, $stdout, $stderr) = run_script($script_file);
ok(!$ok, 'a copy that does not start fails the script');
like($stderr, qr/the start of the new replica failed; putting the old data directory back/, 'it says so');
like($stderr, qr/pgmlr_no_such_library/, 'with the start log\'s reason');
is(slurp("$replica_dir/pgmlr_marker"), "old copy\n", 'the old data directory is back in place');
is(leftovers($replica_dir), '', 'no half state: neither the failed copy nor a moved folder is left');
is(replica_sql('SELECT msg FROM from_primary'), 'written on the primary', 'the old replica serves again');
is(replica_sql("SELECT current_setting('shared_preload_libraries')"), 'pg_stat_statements,pgml_replication',
	'with its old settings');
$primary->safe_psql('postgres', 'ALTER SYSTEM RESET shared_preload_libraries');

# --- A leftover copy from an interrupted run is refused, not deleted.
mkdir "$replica_dir.pgml_new" or die;
($ok, $stdout, $stderr) = run_script($script_file);
ok(!$ok && $stderr =~ /\Q$replica_dir\E\.pgml_new exists, left by an interrupted run\?/,
	'a leftover copy stops the script') or diag($stderr);
ok(-d "$replica_dir.pgml_new", 'and is left for the DBA to look at');
rmdir "$replica_dir.pgml_new";
is(replica_sql('SELECT pg_is_in_recovery()'), 't', 'the replica kept running');

# --- The primary's own data directory: refused even with --force, whether
# the script copies from the primary itself or from its standby (then the
# folder holds a running server that is not a standby).
my $primary_file = script_for('on_primary', $primary->data_dir);
for my $args ([], ['--force'])
{
	($ok, $stdout, $stderr) = run_script($primary_file, args => $args);
	ok(!$ok, "the primary's data directory is refused (@$args)");
	like($stderr, qr/refusing to touch .*it is the server to copy from\. Nothing was changed\./,
		'because the primary runs from it');
}
{
	my $old = umask 077;
	(my $cascade_line = $pgpass_line) =~ s/^127\.0\.0\.1:\d+:/127.0.0.1:$replica_port:/;
	write_file("$work/pgpass_cascade", "$cascade_line\n");
	umask $old;
}
my $cascade_file = write_file("$work/cascade.sh",
	$primary->safe_psql('postgres',
		"SELECT pgml_repl.standby_setup('127.0.0.1', $replica_port, data_directory => '" . $primary->data_dir . "')")
	  . "\n");
($ok, $stdout, $stderr) = run_script($cascade_file, pgpass => "$work/pgpass_cascade", args => ['--force']);
ok(!$ok, 'the primary\'s folder is refused when copying from its standby, even with --force');
like($stderr, qr/a server runs from it that is not a standby and has the primary's system identifier/,
	'because it holds the running primary');
is($primary->safe_psql('postgres', 'SELECT msg FROM from_primary'), 'written on the primary', 'the primary is untouched');
is(system_identifier($primary->data_dir), $primary_sysid, 'its control file too');
is(leftovers($primary->data_dir), '', 'and nothing was created next to it');

# --- A cluster of its own (another system identifier) in the folder:
# refused; --force replaces it. This run also uses a Debian-style layout:
# postgresql.conf in a folder of its own (PGCONF_DIR) naming data_directory.
my $foreign_dir = "$work/foreign";
my $confdir = "$work/foreign_conf";
make_path($confdir);
my ($iout, $ierr) = ('', '');
IPC::Run::run([ 'initdb', '-D', $foreign_dir, '-N', '-U', 'postgres' ], '>', \$iout, '2>', \$ierr)
  or die "initdb: $ierr";
my $foreign_sysid = system_identifier($foreign_dir);
my $foreign_port = PostgreSQL::Test::Cluster::get_free_port();
write_file("$confdir/postgresql.conf",
	"data_directory = '$foreign_dir'\nhba_file = '$confdir/pg_hba.conf'\nport = $foreign_port\n"
	  . "listen_addresses = '127.0.0.1'\nunix_socket_directories = '" . $primary->host . "'\n");
write_file("$confdir/pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n");
my $foreign_file = script_for('foreign', $foreign_dir, 'replica_foreign');
($ok, $stdout, $stderr) = run_script($foreign_file, env => { PGCONF_DIR => $confdir });
ok(!$ok, 'a folder holding another cluster is refused');
like($stderr, qr/it holds another cluster \(system identifier $foreign_sysid; the primary's is $primary_sysid\)\. Nothing was changed; --force replaces it anyway\./,
	'naming both system identifiers');
is(system_identifier($foreign_dir), $foreign_sysid, 'the other cluster is untouched');
($ok, $stdout, $stderr) = run_script($foreign_file, args => ['--force'], env => { PGCONF_DIR => $confdir },
	port => $foreign_port);
ok($ok, '--force replaces it') or diag("stdout:\n$stdout\nstderr:\n$stderr");
like($stdout, qr/--force: replacing/, 'and says so');
is(system_identifier($foreign_dir), $primary_sysid, 'the folder now holds a copy of the primary');
is(sql_on_port($foreign_port, 'SELECT msg FROM from_primary'), 'written on the primary',
	'a replica started from the separate configuration folder');
like(sql_on_port($foreign_port, "SELECT current_setting('shared_preload_libraries')"), qr/(^|,)pgml_replication$/,
	'shared_preload_libraries read through the configuration folder');
is(leftovers($foreign_dir), '', 'and the other cluster was removed after the start');

# --- A stopped copy of the primary that is no standby (a promoted replica,
# or the primary itself when stopped): refused; --force rebuilds it.
my ($sout, $serr) = ('', '');
IPC::Run::run([ 'pg_ctl', '-D', $foreign_dir, '-m', 'fast', '-w', 'stop' ], '>', \$sout, '2>', \$serr);
unlink "$foreign_dir/standby.signal" or die;
($ok, $stdout, $stderr) = run_script($foreign_file, env => { PGCONF_DIR => $confdir }, port => $foreign_port);
ok(!$ok, 'a stopped cluster of the primary that is no standby is refused');
like($stderr, qr/it holds the primary's cluster but no standby \(no standby\.signal; state: shut down in recovery\)/,
	'as possibly the primary itself');
ok(!-e "$foreign_dir/standby.signal", 'and left as it was');
($ok, $stdout, $stderr) = run_script($foreign_file, args => ['--force'], env => { PGCONF_DIR => $confdir },
	port => $foreign_port);
ok($ok, '--force rebuilds it as a replica') or diag($stderr);
is(sql_on_port($foreign_port, 'SELECT pg_is_in_recovery()'), 't', 'which runs as a standby');
IPC::Run::run([ 'pg_ctl', '-D', $foreign_dir, '-m', 'fast', '-w', 'stop' ], '>', \$sout, '2>', \$serr);

# --- A folder of other files: refused, the files kept.
my $files_dir = "$work/not a cluster";
make_path($files_dir);
write_file("$files_dir/notes.txt", "keep me\n");
($ok, $stdout, $stderr) = run_script(script_for('files', $files_dir));
ok(!$ok && $stderr =~ /it is not empty and holds no PostgreSQL cluster/, 'a folder of other files is refused')
  or diag($stderr);
is(slurp("$files_dir/notes.txt"), "keep me\n", 'its files are kept');

# --- Guard rails of the script itself.
(my $unsafe = slurp($script_file)) =~ s/^PGDATA_DIR=.*$/PGDATA_DIR=\//m;
write_file("$work/unsafe.sh", $unsafe);
($ok, $stdout, $stderr) = run_script("$work/unsafe.sh");
ok(!$ok && $stderr =~ /refusing to use \/ as the data directory/, 'a data directory of / is refused') or diag($stderr);
($ok, $stdout, $stderr) = run_script($script_file, pgpass => "$work/no_such_pgpass");
ok(!$ok && $stderr =~ /no password file at/, 'a missing pgpass file stops the script before anything') or diag($stderr);
is(replica_sql('SELECT pg_is_in_recovery()'), 't', 'and the replica still runs');

IPC::Run::run([ 'pg_ctl', '-D', $replica_dir, '-m', 'fast', '-w', 'stop' ], '>', \$stdout, '2>', \$stderr,
	IPC::Run::timeout(60));
$primary->stop;
done_testing();
