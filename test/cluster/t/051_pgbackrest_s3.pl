# pgBackRest with an S3 repository on loopback (s3rver over TLS): the
# primary archives to S3, pgbackrest_info() reports it (system-id exact, the
# archive max advancing), and a replica restored from S3 replays archived
# WAL fetched from S3.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use PgmlReplTest;
use PgmlReplS3;

my $s3 = PgmlReplS3->start;
plan skip_all => "no S3 endpoint: $PgmlReplS3::skip_reason" unless $s3;

my $primary = new_node_with_extension('primary', init => { allows_streaming => 1 });
my $pgbr_dir = PostgreSQL::Test::Utils::tempdir('pgbackrest');
my $conf = pgbackrest_conf($primary, dir => $pgbr_dir, repo_lines => $s3->repo_lines);

$primary->safe_psql('postgres', "ALTER SYSTEM SET archive_mode = on");
$primary->safe_psql('postgres',
	"ALTER SYSTEM SET archive_command = 'pgbackrest --config=$conf --stanza=main archive-push %p'");
$primary->restart;

my ($rc, $out, $err) = run_pgbackrest($conf, '--stanza=main', 'stanza-create');
is($rc, 0, 'stanza-create on S3') or diag($err);
($rc, $out, $err) = run_pgbackrest($conf, '--stanza=main', 'check');
is($rc, 0, 'pgbackrest check: archive-push to S3 works') or diag($err);
($rc, $out, $err) = run_pgbackrest($conf, '--stanza=main', '--type=full', 'backup');
is($rc, 0, 'full backup to S3') or diag($err);

my $info_sql = "pgml_repl.pgbackrest_info('main', '$conf')";
is( $primary->safe_psql('postgres',
		"SELECT $info_sql -> 0 ->> 'name', $info_sql -> 0 -> 'status' ->> 'code', jsonb_array_length($info_sql -> 0 -> 'backup')"),
	'main|0|1',
	'pgbackrest_info(): stanza ok with one backup');
my ($info_sysid, $control_sysid) = split /\|/, $primary->safe_psql('postgres',
	"SELECT $info_sql -> 0 -> 'db' -> 0 ->> 'system-id', system_identifier::text FROM pg_control_system()");
like($info_sysid, qr/^\d{19}$/, 'system-id is a 19-digit number (beyond 2^53)');
is($info_sysid, $control_sysid, 'system-id from pgbackrest_info() is exactly pg_control_system().system_identifier');

my $max_before = $primary->safe_psql('postgres', "SELECT pgml_repl.pgbackrest_archive_max('main', '$conf')");
like($max_before, qr/^[0-9A-F]{24}$/, "archive max is a WAL file name ($max_before)");

# New WAL archived through S3: the archive max follows last_archived_wal.
$primary->safe_psql('postgres', 'CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g');
my $switched = $primary->safe_psql('postgres', 'SELECT pg_walfile_name(pg_switch_wal())');
ok( $primary->poll_query_until('postgres',
		"SELECT last_archived_wal >= '$switched' FROM pg_stat_archiver"),
	"segment $switched archived");
my $max_after = $primary->safe_psql('postgres', "SELECT pgml_repl.pgbackrest_archive_max('main', '$conf')");
ok($max_after ge $switched && $max_after gt $max_before, "archive max advanced ($max_before -> $max_after)");
is($max_after, $primary->safe_psql('postgres', 'SELECT last_archived_wal FROM pg_stat_archiver'),
	'archive max equals pg_stat_archiver.last_archived_wal');

# A replica restored from S3, with no streaming: everything it has after
# the backup comes through archive-get from S3.
my $replica = PostgreSQL::Test::Cluster->new('replica');
mkdir $replica->data_dir, 0700 or die "mkdir: $!";
my $rconf = pgbackrest_conf($replica, dir => $pgbr_dir, repo_lines => $s3->repo_lines);
($rc, $out, $err) = run_pgbackrest($rconf, '--stanza=main', '--type=standby', 'restore');
is($rc, 0, 'pgbackrest restore --type=standby from S3') or diag($err);
like(slurp_file($replica->data_dir . '/postgresql.auto.conf'),
	qr/^restore_command = '\S*pgbackrest --config=\Q$rconf\E --stanza=main archive-get %f "%p"'$/m,
	'restore writes a restore_command that reads S3');
$replica->append_conf('postgresql.conf',
	"port = " . $replica->port . "\nunix_socket_directories = '" . $replica->host . "'\n"
	  . "listen_addresses = '127.0.0.1'\n");
$replica->start;

$primary->safe_psql('postgres', 'INSERT INTO t SELECT g FROM generate_series(1001, 1500) g');
my $last = $primary->safe_psql('postgres', 'SELECT pg_walfile_name(pg_switch_wal())');
ok($primary->poll_query_until('postgres', "SELECT last_archived_wal >= '$last' FROM pg_stat_archiver"),
	"segment $last archived");
ok($replica->poll_query_until('postgres', 'SELECT count(*) = 1500 FROM t'),
	'replica replayed the archived WAL from S3 and has every row');
is($replica->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'replica is a standby');
is($replica->safe_psql('postgres', "SELECT count(*) FROM pg_stat_wal_receiver"), '0',
	'no streaming involved: WAL came from the archive');

$replica->stop;
$primary->stop;
$s3->stop;
done_testing();
