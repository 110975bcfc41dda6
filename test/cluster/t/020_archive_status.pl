# archive_status() on a primary whose archiving fails, recovers, and falls
# behind: error with a growing backlog, ok after the fix, then warning and
# error from the backlog thresholds alone.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('archiver');
$node->init(allows_streaming => 1);
$node->append_conf(
	'postgresql.conf', q{
archive_mode = on
archive_command = 'false'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgml_replication');
$node->safe_psql('postgres', 'CREATE TABLE filler (i int)');

# A segment switch needs new WAL since the last one, so write first.
sub switch_segments
{
	my ($count) = @_;
	for my $i (1 .. $count)
	{
		$node->safe_psql('postgres',
			"INSERT INTO filler SELECT generate_series(1, 100); SELECT pg_switch_wal();");
	}
}

sub archive_row
{
	my $row = $node->safe_psql('postgres',
		q{SELECT status, ready_count, failed_count, archived_count, detail FROM pgml_repl.archive_status()});
	note("archive_status(): $row");
	return split /\|/, $row, 5;
}

# --- archive_command = 'false': failures, backlog grows --------------------
switch_segments(2);
ok( $node->poll_query_until(
		'postgres',
		q{SELECT status = 'error' AND failed_count > 0 AND ready_count >= 2 FROM pgml_repl.archive_status()}),
	'failing archive_command: status error with failures and a backlog');
my ($status, $ready_before, $failed, $archived, $detail) = archive_row();
is($archived, 0, 'nothing archived yet');
like($detail, qr/^The last archive attempt failed: \d+ WAL segments waiting, oldest [0-9A-F]{24} for \d\d:\d\d:\d\d; .*last failure [0-9A-F]{24} at /,
	'detail names the backlog, its oldest segment and the last failure');

switch_segments(3);
ok( $node->poll_query_until(
		'postgres',
		qq{SELECT status = 'error' AND ready_count >= $ready_before + 3 FROM pgml_repl.archive_status()}),
	'backlog grows while archiving fails');
is( $node->safe_psql('postgres', q{SELECT current_wal = pg_walfile_name(pg_current_wal_lsn()) AND oldest_ready_age >= interval '0' FROM pgml_repl.archive_status()}),
	't', 'current_wal and oldest_ready_age are filled in on a primary');

# --- a working archive_command: back to ok, backlog drained ---------------
my $archive_dir = PostgreSQL::Test::Utils::tempdir('archive');
$node->safe_psql('postgres', qq{ALTER SYSTEM SET archive_command = 'cp "%p" "$archive_dir/%f"'});
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
ok( $node->poll_query_until(
		'postgres',
		q{SELECT status = 'ok' AND ready_count = 0 AND archived_count > 0 FROM pgml_repl.archive_status()}),
	'working archive_command: status ok, nothing waiting');
($status, my $ready, $failed, $archived, $detail) = archive_row();
cmp_ok($failed, '>', 0, 'earlier failures are still counted');
like($detail, qr/^Archiving is keeping up: no WAL segment waiting; last archived [0-9A-F]{24} at .*; last failure /,
	'detail of a healthy archiver');
my $archived_files = () = glob("$archive_dir/0*");
cmp_ok($archived_files, '>=', 5, 'segments arrived in the archive folder');

# --- backlog thresholds without failures ----------------------------------
# An empty archive_command keeps segments waiting without counting failures.
$node->safe_psql('postgres', q{ALTER SYSTEM SET archive_command = ''});
$node->append_conf(
	'postgresql.conf', q{
pgml_replication.archive_ready_warning = 2
pgml_replication.archive_ready_error = 4
});
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
ok($node->poll_query_until('postgres', q{SELECT current_setting('archive_command') = ''}), 'archive_command cleared');

switch_segments(2);
ok( $node->poll_query_until(
		'postgres', q{SELECT status = 'warning' AND ready_count IN (2, 3) FROM pgml_repl.archive_status()}),
	'backlog at the warning threshold: status warning');
($status, $ready, $failed, $archived, $detail) = archive_row();
like($detail, qr/^The archive backlog reached the warning threshold of 2: $ready WAL segments waiting/,
	'warning detail names the threshold and the backlog');

switch_segments(2);
ok( $node->poll_query_until(
		'postgres', q{SELECT status = 'error' AND ready_count >= 4 FROM pgml_repl.archive_status()}),
	'backlog at the error threshold: status error');
like((archive_row())[4], qr/^The archive backlog reached the error threshold of 4: /, 'error detail names the threshold');

# An error threshold below the warning threshold is raised and explained.
$node->append_conf('postgresql.conf', "pgml_replication.archive_ready_error = 1\n");
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
ok( $node->poll_query_until(
		'postgres', q{SELECT detail LIKE '%archive_ready_error (1) is below%' FROM pgml_repl.archive_status()}),
	'misordered thresholds are reported in the detail');

$node->stop;
done_testing();
