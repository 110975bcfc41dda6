# archive_status() and check() reuse a "pgbackrest info" answer for
# pgml_replication.pgbackrest_info_ttl seconds instead of running pgbackrest
# on every call. The server finds pgbackrest through its PATH, where a
# wrapper counts each "info" run before handing over to the real program.
# The TTL is set far above the test's duration (or to 0), so no timing
# decides the outcome.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplTest;

my ($real) = grep { -x } map { "$_/pgbackrest" } split /:/, $ENV{PATH};
ok(defined $real, 'pgbackrest is installed (' . ($real // 'not on PATH') . ')') or die 'pgbackrest is missing';
my $bin = PostgreSQL::Test::Utils::tempdir('wrapper');
my $count_file = "$bin/info_runs";
open my $fh, '>', "$bin/pgbackrest" or die $!;
print $fh qq{#!/bin/sh
case " \$* " in *" info "*) echo "\$*" >> '$count_file' ;; esac
exec '$real' "\$@"
};
close $fh;
chmod 0755, "$bin/pgbackrest" or die $!;
$ENV{PATH} = "$bin:$ENV{PATH}";    # the server started below inherits it

my $node = new_node_with_extension('pgbr_cache', init => { allows_streaming => 1 });
my $conf = archiving_primary($node);
$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
ok($node->poll_query_until('postgres', 'SELECT archived_count > 0 FROM pgml_repl.archive_status()'),
	'the node archives through pgbackrest');

sub info_runs
{
	return 0 unless -e $count_file;
	open my $in, '<', $count_file or die $!;
	my @lines = <$in>;
	return scalar @lines;
}

# One session per psql run: the cache belongs to the backend.
sub in_one_session
{
	my (@statements) = @_;
	my $before = info_runs();
	my $out = $node->safe_psql('postgres', join(";\n", @statements));
	return (info_runs() - $before, $out);
}

my $status = q{SELECT pgbackrest_in_sync IS NOT NULL FROM pgml_repl.archive_status()};
my $check = q{SELECT count(*) > 0 FROM pgml_repl.check()};

my ($runs, $out) = in_one_session("SET pgml_replication.pgbackrest_info_ttl = '1h'", $status, $status);
is($runs, 1, 'two archive_status() calls within the TTL run pgbackrest info once');
is($out, "t\nt", 'and both answer the pgBackRest columns');

($runs) = in_one_session("SET pgml_replication.pgbackrest_info_ttl = '1h'", $status, $check, $check);
is($runs, 1, 'archive_status() and two check() calls within the TTL run it once');

($runs) = in_one_session("SET pgml_replication.pgbackrest_info_ttl = 0", $status, $status);
is($runs, 2, 'with a TTL of 0 every call runs it');

($runs) = in_one_session("SET pgml_replication.pgbackrest_info_ttl = '1h'",
	("SELECT pgml_repl.pgbackrest_info('main', '$conf') IS NOT NULL") x 2);
is($runs, 2, 'pgbackrest_info() itself always runs pgbackrest');

is($node->safe_psql('postgres', "LOAD 'pgml_replication'; SHOW pgml_replication.pgbackrest_info_ttl"), '5s',
	'the default TTL is 5 seconds');

$node->stop;
done_testing();
