# Load: pgbench on the primary (-i -s 5, then -c 4 -j 2 -T 60) while the
# standby streams the WAL and prefetches a 512 MiB model from the test Hub
# (throttled to ~20 MB/s so the download spans the run). Afterwards every
# pgbench table is the same on both nodes (row count and an md5 over the
# rows), the pgBackRest archive holds every segment (check, verify, no gap),
# and the model is complete. The replica's read-only pgbench throughput is
# printed idle and during the prefetch; only its sanity is asserted.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time sleep);
use PgmlReplHub;
use PgmlReplPrefetch;
use PgmlReplTest;

my $cache = PostgreSQL::Test::Utils::tempdir('primary_hf') . '/hub';
mkdir $cache;
my $hub = PgmlReplHub->start(cache => $cache);
my ($primary, $standby, $standby_cache) = prefetch_pair(primary_cache => $cache, hub => $hub, prefix => 'pfl',
	conf => "max_connections = 30\n");

# pgBackRest archiving on the primary, through the extension.
my $base = PostgreSQL::Test::Utils::tempdir('pgbackrest');
my $conf = pgbackrest_conf($primary, stanza => 'main', dir => $base);
$primary->safe_psql('postgres', qq{SELECT count(*) FROM pgml_repl.configure_primary(stanza => 'main', pgbackrest_config => '$conf')});
$primary->restart;
my ($rc, $out, $err) = run_pgbackrest($conf, '--stanza=main', 'stanza-create');
is($rc, 0, 'stanza-create') or diag($err);
my $first_wal = $primary->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');

sub pgbench
{
	my ($node, @args) = @_;
	my ($o, $e) = ('', '');
	my $h = IPC::Run::start([ 'pgbench', '-h', $node->host, '-p', $node->port, @args, 'postgres' ],
		'>', \$o, '2>', \$e, IPC::Run::timeout(150));
	return ($h, \$o, \$e);
}

sub tps
{
	my ($text) = @_;
	return $text =~ /^tps = ([\d.]+)/m ? $1 : undef;
}

my ($h, $o, $e) = pgbench($primary, '-i', '-s', '5', '-q');
$h->finish;
is($h->result(0), 0, 'pgbench -i -s 5') or diag($$e);
$primary->wait_for_catchup($standby);

# --- idle read-only figure on the replica --------------------------------
($h, $o, $e) = pgbench($standby, '-S', '-c', '2', '-j', '2', '-T', '10', '-n');
$h->finish;
my $idle = tps($$o);
ok(defined $idle && $idle > 0, 'read-only pgbench on the idle replica') or diag($$o, $$e);

# --- the model appears on the primary; the standby fetches it under load ---
my $size = 512 << 20;
my $blob = add_sparse_file($cache, 'models--org--load', '9' x 40, 'model.safetensors', $size);
$hub->faults([ { match => '/cdn/models--org--load/', kind => 'throttle', bps => 20e6 } ]);
my ($load, $load_out, $load_err) = pgbench($primary, '-c', '4', '-j', '2', '-T', '60', '-n');
wait_prefetch_complete($primary, 'state') // die 'the primary did not publish';
ok($standby->poll_query_until('postgres',
		"SELECT state = 'downloading' AND current_repo = 'org/load' FROM pgml_repl.prefetch_status()"),
	'the standby prefetches while pgbench writes on the primary');
($h, $o, $e) = pgbench($standby, '-S', '-c', '2', '-j', '2', '-T', '20', '-n');
$h->finish;
my $during = tps($$o);
my $still = prefetch_status($standby, "state || ' ' || current_bytes");
ok(defined $during && $during > 0, 'read-only pgbench on the replica during the prefetch') or diag($$o, $$e);
diag(sprintf('replica read-only pgbench (-S, 2 clients): idle %.0f tps, during prefetch %.0f tps (prefetch at end: %s)',
	$idle // 0, $during // 0, $still));

$load->finish;
is($load->result(0), 0, 'pgbench -c 4 -j 2 -T 60 on the primary finished') or diag($$load_err);
my $primary_tps = tps($$load_out);
diag("primary pgbench -c 4 -j 2 -T 60: $primary_tps tps");
like($$load_out, qr/number of failed transactions: 0 /, 'no failed transaction on the primary');

ok(wait_standby_idle($standby), 'the prefetch completes');
is(-s "$standby_cache/models--org--load/blobs/$blob", $size, 'the model has its full size');
is(join(',', bad_blobs($standby_cache)), '', 'and the right content');

# --- the tables are the same on both nodes ----------------------------------
$primary->wait_for_catchup($standby);
for my $t ([ 'pgbench_accounts', 'aid' ], [ 'pgbench_branches', 'bid' ], [ 'pgbench_tellers', 'tid' ],
	[ 'pgbench_history', 'tid, bid, aid, delta, mtime' ])
{
	my ($table, $order) = @$t;
	my $sql = "SELECT count(*) || ' ' || md5(string_agg(t::text, ',' ORDER BY $order)) FROM $table t";
	my $p = $primary->safe_psql('postgres', $sql);
	is($standby->safe_psql('postgres', $sql), $p, "$table: same row count and checksum on both nodes ($p)");
}

# --- the archive holds every segment -----------------------------------------
($rc, $out, $err) = run_pgbackrest($conf, '--stanza=main', 'check');
is($rc, 0, 'pgbackrest check passes') or diag($err);
($rc, $out, $err) = run_pgbackrest($conf, '--stanza=main', '--output=text', '--verbose', 'verify');
is($rc, 0, 'pgbackrest verify exits 0') or diag($out, $err);
unlike($out, qr/missing: [1-9]|checksum invalid: [1-9]|size invalid: [1-9]/, 'verify finds no missing or invalid WAL');
my $last = $primary->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
my $seg = sub { hex(substr($_[0], 8, 8)) * 256 + hex(substr($_[0], 16, 8)) };
my %have = map { m{/([0-9A-F]{24})-[0-9a-f]{40}(\.\w+)?$} ? ($seg->($1) => 1) : () } glob("$base/repo/archive/main/*/*/*");
my @missing = grep { !$have{$_} } ($seg->($first_wal) + 1) .. ($seg->($last) - 1);
is(scalar(@missing), 0, sprintf('every segment from %s to the one before %s is archived (%d)', $first_wal, $last, scalar(keys %have)))
  or diag("missing: @missing");

$hub->stop;
done_testing();
