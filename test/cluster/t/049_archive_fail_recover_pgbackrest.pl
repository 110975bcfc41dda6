# archive_command failing, then recovering, on a primary archiving with
# pgBackRest into a file repository: archive_status() goes to error with a
# growing backlog while archive_command is 'false', returns to ok once the
# pgBackRest command is back (both set with configure_primary, applied by the
# reload at COMMIT), and afterwards pgbackrest check passes, pgbackrest verify
# reports the archive ok, and the repository holds every segment from the
# first backup on without a gap.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplTest;

my $node = new_node_with_extension('archiver_pgbr', init => { allows_streaming => 1 });
my $base = PostgreSQL::Test::Utils::tempdir('pgbackrest');
my $conf = pgbackrest_conf($node, stanza => 'main', dir => $base);
my $configure = qq{SELECT count(*) FROM pgml_repl.configure_primary(stanza => 'main', pgbackrest_config => '$conf')};
$node->safe_psql('postgres', $configure);
$node->restart;
my ($rc, $out, $err) = run_pgbackrest($conf, '--stanza=main', 'stanza-create');
is($rc, 0, 'stanza-create') or diag($err);
($rc, $out, $err) = run_pgbackrest($conf, '--stanza=main', '--type=full', 'backup');
is($rc, 0, 'a full backup before the outage') or diag($err);
$node->safe_psql('postgres', 'CREATE TABLE filler (i int)');

sub switch_segments
{
	my ($count) = @_;
	$node->safe_psql('postgres', 'INSERT INTO filler SELECT generate_series(1, 100); SELECT pg_switch_wal();') for 1 .. $count;
}

sub status_row
{
	return $node->safe_psql('postgres', q{SELECT status, ready_count FROM pgml_repl.archive_status()});
}

# --- archive_command = 'false' ------------------------------------------------
$node->safe_psql('postgres', q{SELECT count(*) FROM pgml_repl.configure_primary(archive_command => 'false')});
is($node->safe_psql('postgres', 'SHOW archive_command'), 'false', 'archive_command is false after COMMIT (reloaded)');
switch_segments(2);
ok($node->poll_query_until('postgres', q{SELECT status = 'error' AND failed_count > 0 AND ready_count >= 2 FROM pgml_repl.archive_status()}),
	'archive_status() is error with a backlog');
my (undef, $ready) = split /\|/, status_row();
switch_segments(3);
ok($node->poll_query_until('postgres', qq{SELECT status = 'error' AND ready_count >= $ready + 3 FROM pgml_repl.archive_status()}),
	'the backlog grows while archiving fails');
my $last_switched = $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');

# --- the pgBackRest command again ------------------------------------------------
$node->safe_psql('postgres', $configure);
like($node->safe_psql('postgres', 'SHOW archive_command'), qr/^pgbackrest --stanza=main --config=\S+ archive-push %p$/,
	'archive_command points at pgBackRest again');
ok($node->poll_query_until('postgres', q{SELECT status = 'ok' AND ready_count = 0 FROM pgml_repl.archive_status()}),
	'archive_status() returns to ok with nothing waiting');

($rc, $out, $err) = run_pgbackrest($conf, '--stanza=main', 'check');
is($rc, 0, 'pgbackrest check passes') or diag($err);
($rc, $out, $err) = run_pgbackrest($conf, '--stanza=main', '--output=text', '--verbose', 'verify');
is($rc, 0, 'pgbackrest verify exits 0') or diag($out, $err);
diag($out);
like($out, qr/status: ok/, 'verify reports status ok');
unlike($out, qr/missing: [1-9]|checksum invalid: [1-9]|size invalid: [1-9]/, 'verify finds no missing or invalid WAL');

# Every segment from the backup's first one to the last switched one is in the repository.
my @segs = sort map { m{/([0-9A-F]{24})-[0-9a-f]{40}(\.\w+)?$} ? $1 : () } glob("$base/repo/archive/main/*/*/*");
my @nums = map { hex(substr($_, 8, 8)) * 256 + hex(substr($_, 16, 8)) } @segs;
my $want_last = hex(substr($last_switched, 8, 8)) * 256 + hex(substr($last_switched, 16, 8));
my @gaps = grep { $nums[$_] != $nums[$_ - 1] + 1 } 1 .. $#nums;
ok(@nums >= 6 && !@gaps, scalar(@nums) . " segments in the repository, no gap") or diag(join(' ', @segs));
cmp_ok($nums[-1], '>=', $want_last - 1, 'up to the segments written during the outage');

done_testing();
