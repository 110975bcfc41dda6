# Helpers shared by the cluster tests: nodes with the extension, pgBackRest
# configuration per node, bounded command runs.
package PgmlReplTest;

use strict;
use warnings;

use Exporter 'import';
use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(new_node_with_extension pgbackrest_conf run_pgbackrest
  archiving_primary write_pgpass basebackup_standby scalar_query local_only_hba);

# A node listening on loopback TCP as well as its unix socket, with the
# extension created in the postgres database.
sub new_node_with_extension
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%{ $opts{init} // {} });
	$node->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'\n");
	$node->append_conf('postgresql.conf', $opts{conf}) if $opts{conf};
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION pgml_replication');
	return $node;
}

# Writes a pgBackRest configuration for one node (one file per node, same
# repository) and returns its path. Log, lock and spool paths are explicit so
# nothing lands under /var/log or /tmp/pgbackrest.
sub pgbackrest_conf
{
	my ($node, %opts) = @_;
	my $stanza = $opts{stanza} // 'main';
	my $base = $opts{dir} // PostgreSQL::Test::Utils::tempdir('pgbackrest');
	my $repo = $opts{repo} // "$base/repo";
	make_path($repo, "$base/log", "$base/lock", "$base/spool");
	my $conf = "$base/" . $node->name . '.conf';
	my $repo_lines = $opts{repo_lines} // "repo1-path=$repo\n";
	open my $fh, '>', $conf or die "cannot write $conf: $!";
	print $fh "[global]\n"
	  . $repo_lines
	  . "repo1-retention-full=2\n"
	  . "log-path=$base/log\n"
	  . "lock-path=$base/lock\n"
	  . "spool-path=$base/spool\n"
	  . "log-level-console=warn\n"
	  . "log-level-file=info\n"
	  . "archive-timeout=30\n"
	  . "start-fast=y\n"
	  . "\n[$stanza]\n"
	  . "pg1-path=" . $node->data_dir . "\n"
	  . "pg1-port=" . $node->port . "\n"
	  . "pg1-socket-path=" . $node->host . "\n";
	close $fh;
	return $conf;
}

# Runs pgbackrest with a bounded time; returns (exit code, stdout, stderr).
sub run_pgbackrest
{
	my ($conf, @args) = @_;
	my ($out, $err) = ('', '');
	my $timer = IPC::Run::timeout(120);
	my $h = IPC::Run::start([ 'pgbackrest', "--config=$conf", @args ],
		'>', \$out, '2>', \$err, $timer);
	eval { $h->finish; };
	if ($@) { $h->kill_kill; return (-1, $out, "timeout: $@\n$err"); }
	return ($h->result(0), $out, $err);
}

# Archives node to a pgBackRest file repository the way a DBA would:
# configure_primary(), the restart it asks for, stanza-create (asserted).
# Returns the pgBackRest configuration file.
sub archiving_primary
{
	my ($node, %opts) = @_;
	my $stanza = $opts{stanza} // 'main';
	my $conf = pgbackrest_conf($node, %opts, stanza => $stanza);
	$node->safe_psql('postgres',
		"SELECT * FROM pgml_repl.configure_primary(stanza => '$stanza', pgbackrest_config => '$conf')");
	$node->restart;
	my ($rc, $out, $err) = run_pgbackrest($conf, "--stanza=$stanza", 'stanza-create');
	is($rc, 0, 'pgbackrest stanza-create') or diag($err);
	return $conf;
}

# A .pgpass file (mode 0600) for one entry; returns its path.
sub write_pgpass
{
	my ($dir, $host, $port, $user, $password) = @_;
	my $path = "$dir/pgpass";
	open my $fh, '>', $path or die "cannot write $path: $!";
	(my $escaped = $password) =~ s/([\\:])/\\$1/g;
	print $fh "$host:$port:*:$user:$escaped\n";
	close $fh;
	chmod 0600, $path;
	return $path;
}

# Replaces the node's pg_hba.conf with unix-socket lines only (the harness's
# way in): every TCP connection then needs a line that the code under test
# wrote; initdb's catch-all host lines would hide a missing one. Returns its path.
sub local_only_hba
{
	my ($node) = @_;
	my $path = $node->data_dir . '/pg_hba.conf';
	open my $fh, '>', $path or die "cannot write $path: $!";
	print $fh "local all all trust\nlocal replication all trust\n";
	close $fh;
	return $path;
}

sub scalar_query
{
	my ($node, $sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

1;
