# replication_status() on a primary and its streaming standby; archive_status()
# on the standby.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1, has_archiving => 1);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION pgml_replication');
$primary->backup('base');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
# Report replay progress promptly, so the primary sees lag 0 soon.
$standby->append_conf('postgresql.conf', "wal_receiver_status_interval = 1\n");
$standby->start;

$primary->safe_psql('postgres', 'CREATE TABLE t AS SELECT generate_series(1, 10000) AS i');
$primary->wait_for_catchup($standby, 'replay');

# --- the primary's view --------------------------------------------------
ok( $primary->poll_query_until(
		'postgres',
		q{SELECT count(*) = 1 AND bool_and(lag_bytes = 0 AND status = 'ok') FROM pgml_repl.replication_status()}),
	'primary: one standby row, lag_bytes 0 after catch-up, status ok');
# Background WAL (hint bits, running-xacts records) may move the primary on
# between the two queries, so only the shape of the lag is fixed here.
like( $primary->safe_psql(
		'postgres',
		q{SELECT role, application_name, state, sync_state, sender_host IS NULL, replay_delay IS NULL,
		         replay_lsn IS NOT NULL, detail
		  FROM pgml_repl.replication_status()}),
	qr/^primary\|standby\|streaming\|async\|t\|t\|t\|Standby "standby" is streaming; replay is [0-9.]+ (bytes|kB) behind the primary\.$/,
	'primary row: standby name, state, sync state and detail');

# --- the standby's view --------------------------------------------------
ok( $standby->poll_query_until(
		'postgres',
		q{SELECT count(*) = 1 AND bool_and(status = 'ok' AND lag_bytes = 0 AND replay_delay = interval '0')
		  FROM pgml_repl.replication_status()}),
	'standby: receiver row ok, replay_delay 0 with nothing pending');
is( $standby->safe_psql(
		'postgres',
		q{SELECT role, state, sender_port, application_name IS NULL, replay_lsn <= pg_last_wal_replay_lsn(),
		         flush_lsn >= replay_lsn
		  FROM pgml_repl.replication_status()}),
	'standby|streaming|' . $primary->port . '|t|t|t',
	'standby row: receiver state, sender port and positions');

# archive_mode = on came with the base backup: the primary archives.
is( $standby->safe_psql(
		'postgres',
		q{SELECT archive_mode, current_wal IS NULL, status FROM pgml_repl.archive_status()}),
	'on|t|disabled',
	'standby: archive_status() has no current_wal and leaves archiving to the primary');
like($standby->safe_psql('postgres', q{SELECT detail FROM pgml_repl.archive_status()}),
	qr/standby with archive_mode = on: the primary archives/, 'standby archive detail says why');
is($primary->safe_psql('postgres', q{SELECT current_wal IS NOT NULL FROM pgml_repl.archive_status()}),
	't', 'primary: archive_status() has a current_wal');

# --- the standby goes away -----------------------------------------------
$standby->stop;
ok( $primary->poll_query_until('postgres', q{SELECT count(*) = 0 FROM pgml_repl.replication_status()}),
	'primary: the stopped standby\'s row disappears');

# --- the primary goes away: the standby's receiver is not streaming --------
$standby->start;
$primary->wait_for_catchup($standby, 'replay');
$primary->stop;
ok( $standby->poll_query_until(
		'postgres', q{SELECT status = 'error' FROM pgml_repl.replication_status()}),
	'standby without a primary: status error');
like($standby->safe_psql('postgres', q{SELECT detail FROM pgml_repl.replication_status()}),
	qr/^(No WAL receiver is running|The WAL receiver is \w+, not streaming)/, 'standby error detail says the receiver is not streaming');

$standby->stop;
done_testing();
