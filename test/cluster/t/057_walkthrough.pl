# docs/walkthrough.md runs as written. Its code blocks are read in order
# and each is executed on the node its section names ("On the primary",
# "On the replica", "Back on the primary"): shell commands with bash,
# "postgres=#" statements with psql, whose output must have the documented
# columns, row count and (for check_name/name columns) first column; "$"
# commands with their documented output lines, a refusal expected to fail.
#
# Both nodes share this host, as in the walkthrough's section "Trying a pair
# on one host": the replica gets its own port and cache folder through
# PG_CTL_START_OPTIONS. What differs between the walkthrough's two machines
# and this host is substituted, and only that: addresses (10.0.0.11,
# 10.0.0.12 -> 127.0.0.1), the Debian paths (/etc/pgbackrest/..., the data
# and configuration folders, /tmp of each host, the postgres user's home),
# "sudo -u postgres" (the test already runs as postgres), "systemctl
# restart" (pg_ctl restart of the node), scp (cp from one host's /tmp to the
# other's), the primary's port 5432 (password file line, script output), the generated password
# shown in the walkthrough (the real one). The ini block is replaced by the
# test's own pgBackRest configuration (a file repository instead of S3).
# Every shell command runs from a folder the postgres user cannot write,
# like root's home under sudo.
use strict;
use warnings;

use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplTest;

my $top = $ENV{PGML_REPL_TOP} or die 'PGML_REPL_TOP is not set (test/run sets it)';
my $walkthrough = slurp_file("$top/docs/walkthrough.md");

my $work = PostgreSQL::Test::Utils::tempdir('walkthrough');
make_path(map { "$work/$_" } qw(primary_tmp replica_tmp primary_home replica_home hf_primary hf_replica));
my $unwritable = "$work/unwritable_cwd";
mkdir $unwritable or die;
chmod 0100, $unwritable;    # enter, but neither list nor write

# The primary: a plain cluster, as after apt-get install; the walkthrough
# itself loads the library and creates the extension. Its cache folder and
# Hub are the test's (nothing leaves loopback).
my $primary = PostgreSQL::Test::Cluster->new('walk_primary');
$primary->init;
$primary->append_conf('postgresql.conf',
	"pgml_replication.hf_cache_dir = '$work/hf_primary'\npgml_replication.hf_endpoint = 'http://127.0.0.1:9'\n");
$primary->start;
my $pgbr_conf = pgbackrest_conf($primary);

# The replica host as Debian leaves it: the package's own (empty) cluster
# runs in the data directory.
my $replica_dir = "$work/replica_main";
my $replica_port = PostgreSQL::Test::Cluster::get_free_port();
my $socket_dir = $primary->host;
my ($out, $err) = ('', '');
IPC::Run::run([ 'initdb', '-D', $replica_dir, '-N', '-U', 'postgres' ], '>', \$out, '2>', \$err) or die "initdb: $err";
IPC::Run::run([ 'pg_ctl', '-D', $replica_dir, '-l', "$work/debian_cluster.log", '-w', '-o',
		"-p $replica_port -c listen_addresses='' -c unix_socket_directories=$socket_dir", 'start' ],
	'>', \$out, '2>', \$err) or die "pg_ctl start: $err";
my $replica_start_options = "-p $replica_port -c pgml_replication.hf_cache_dir=$work/hf_replica";

my %node = (
	primary => { port => $primary->port, tmp => "$work/primary_tmp", home => "$work/primary_home" },
	replica => { port => $replica_port, tmp => "$work/replica_tmp", home => "$work/replica_home" },
);
my %password;    # the walkthrough's password => the generated one

sub substitute
{
	my ($host, $text) = @_;
	my $n = $node{$host};
	# /tmp first: the test's own folders are under /tmp too.
	$text =~ s{/tmp\b}{$n->{tmp}}g;
	$text =~ s/\b10\.0\.0\.1[12]\b/127.0.0.1/g;
	$text =~ s/\Q$_\E/$password{$_}/g for keys %password;
	$text =~ s/^sudo -u postgres //;
	$text =~ s{/etc/pgbackrest/pgbackrest\.conf}{$pgbr_conf}g;
	$text =~ s{/etc/postgresql/15/main|/var/lib/postgresql/15/main}{$replica_dir}g;
	$text =~ s/127\.0\.0\.1:5432\b/127.0.0.1:$node{primary}{port}/g;
	return $text;
}

# One documented command as this host runs it.
sub host_command
{
	my ($host, $command) = @_;
	return "cp " . substitute('primary', $1) . " " . substitute('replica', $2)
	  if $command =~ m{^scp (\S+) 10\.0\.0\.12:(\S+)$};
	return substitute($host, $command);
}

# Runs documented shell commands on $host in one bash (so a cd carries
# over), stopping at the first failure; returns (ok, stdout+stderr).
sub run_shell
{
	my ($host, @commands) = @_;
	my $script = join("\n", 'set -e', map { host_command($host, $_) } @commands) . "\n";
	my $output = '';
	my $ok = IPC::Run::run([ 'bash', '-c', $script ],
		init => sub {
			chdir $unwritable or die "chdir: $!";
			$ENV{HOME} = $node{$host}{home};
			$ENV{PGHOST} = $socket_dir;
			$ENV{PGPORT} = $node{$host}{port};
			$ENV{PGUSER} = 'postgres';
			delete $ENV{PGPASSFILE};
			$ENV{PG_CTL_START_OPTIONS} = $replica_start_options if $host eq 'replica';
		},
		'>&', \$output, IPC::Run::timeout(300));
	note("[$host]\n$script$output");
	return ($ok, $output);
}

sub run_sql
{
	my ($host, $sql) = @_;
	my ($o, $e) = ('', '');
	my $ok = IPC::Run::run([ 'psql', '-X', '-P', 'pager=off', '-h', $socket_dir, '-p', $node{$host}{port},
			'-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', substitute($host, $sql) ],
		'>', \$o, '2>', \$e, IPC::Run::timeout(120));
	note("[$host] postgres=# $sql\n$e$o");
	return ($ok, $o, $e);
}

# Header columns, row count and rows of psql's aligned output.
sub table_of
{
	my ($text) = @_;
	my @lines = grep { !/^(NOTICE|DETAIL|HINT|WARNING):/ } split /\n/, $text;
	my $header = shift @lines // '';
	shift @lines;    # ----+----
	my @rows;
	my $count;
	for my $l (@lines)
	{
		if ($l =~ /^\((\d+) rows?\)$/) { $count = $1; last; }
		push @rows, $l;
	}
	my @columns = map { s/^\s+|\s+$//gr } split /\|/, $header;
	return { columns => \@columns, count => $count, first => [ map { (split /\|/)[0] =~ s/^\s+|\s+$//gr } @rows ],
		rows => \@rows };
}

# Output lines compared without what varies from run to run: system
# identifiers, pg_ctl's progress dots, trailing blanks.
sub normalised
{
	my ($line) = @_;
	$line =~ s/\d{10,}/<id>/g;
	$line =~ s/\.{2,}/.../g;
	$line =~ s/\s+$//;
	return $line;
}

# --- Walk the document ---------------------------------------------------
my $host;
my $blocks = 0;
my @lines = split /\n/, $walkthrough;
for (my $i = 0; $i < @lines; $i++)
{
	my $line = $lines[$i];
	if ($line =~ /^## (.*)/)
	{
		my $title = $1;
		$host = $title =~ /^On the primary|^Back on the primary/ ? 'primary'
		  : $title =~ /^On the replica/ ? 'replica' : undef;
		next;
	}
	next unless defined $host && $line =~ /^```(\w*)\s*$/;
	my $kind = $1;
	my @block;
	for ($i++; $i < @lines && $lines[$i] !~ /^```\s*$/; $i++) { push @block, $lines[$i]; }
	$blocks++;
	my $text = join("\n", @block) . "\n";

	if ($kind eq 'ini')
	{
		note('pgBackRest configuration: the test uses its own file repository instead: ' . $pgbr_conf);
	}
	elsif ($kind eq 'sh')
	{
		$text =~ s/\\\n\s*/ /g;    # continuation lines
		my @pending;
		for my $command ((grep { /\S/ && !/^\s*#/ } split /\n/, $text), undef)
		{
			# "systemctl restart" is the node's restart; the rest runs in bash.
			if (defined $command && $command !~ /^sudo systemctl restart postgresql\@15-main$/)
			{
				push @pending, $command;
				next;
			}
			if (@pending)
			{
				my ($ok, $output) = run_shell($host, @pending);
				ok($ok, "[$host] " . join(' && ', @pending)) or diag($output);
				@pending = ();
			}
			next unless defined $command;
			die 'only the primary is restarted with systemctl here' unless $host eq 'primary';
			$primary->restart;
			pass("[$host] $command");
		}
	}
	elsif ($text =~ /^shared_preload_libraries/m)
	{
		$primary->append_conf('postgresql.conf', substitute('primary', $text));
		pass('[primary] postgresql.conf lines appended');
	}
	elsif ($text =~ /^postgres=# /m)
	{
		my @parts = split /^postgres=# /m, $text;
		shift @parts;
		for my $part (@parts)
		{
			my ($sql, $shown) = split /\n/, $part, 2;
			my ($ok, $o, $e) = run_sql($host, $sql);
			ok($ok, "[$host] $sql") or diag($e);
			my ($want, $got) = (table_of($shown), table_of($o));
			is_deeply($got->{columns}, $want->{columns}, "[$host] $sql: the documented columns");
			is($got->{count}, $want->{count}, "[$host] $sql: the documented number of rows");
			if (($want->{columns}[0] // '') =~ /^(check_name|name)$/)
			{
				is_deeply($got->{first}, $want->{first}, "[$host] $sql: the documented $want->{columns}[0] values");
			}
			# The generated password replaces the shown one from here on.
			if ($sql =~ /create_replication_user/ && ($want->{columns}[1] // '') eq 'password')
			{
				my $shown_pw = (split /\|/, $want->{rows}[0])[1] =~ s/^\s+|\s+$//gr;
				my $real_pw = (split /\|/, $got->{rows}[0] // '')[1] // '';
				$password{$shown_pw} = $real_pw =~ s/^\s+|\s+$//gr;
			}
		}
	}
	elsif ($text =~ /^\$ /m)
	{
		my @parts = split /^\$ /m, $text;
		shift @parts;
		for my $part (@parts)
		{
			my ($command, $shown) = split /\n/, $part, 2;
			my ($ok, $output) = run_shell($host, $command);
			my $refusal = ($shown // '') =~ /^standby_setup: refusing/m;
			ok($refusal ? !$ok : $ok, "[$host] \$ $command " . ($refusal ? 'is refused' : 'succeeds')) or diag($output);
			my %have = map { normalised($_) => 1 } split /\n/, $output;
			for my $want (grep { /\S/ } split /\n/, substitute($host, $shown // ''))
			{
				ok($have{ normalised($want) }, "[$host] \$ $command prints: $want") or diag($output);
			}
		}
	}
	else
	{
		fail("[$host] a code block the test does not know how to run:\n$text");
	}
}
cmp_ok($blocks, '>=', 15, 'the walkthrough\'s blocks were found and run');

# The result the walkthrough promises: the replica streams from the primary.
ok( $primary->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_replication WHERE application_name = 'replica1' AND state = 'streaming'"),
	'replica1 streams from the primary');

IPC::Run::run([ 'pg_ctl', '-D', $replica_dir, '-m', 'fast', '-w', 'stop' ], '>', \$out, '2>', \$err);
$primary->stop;
chmod 0700, $unwritable;
done_testing();
