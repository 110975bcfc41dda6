# The prefetch worker yields to the replica's queries (yield_to_queries,
# default on): while client backends keep the node's CPU busy, the worker
# falls to yield_download_rate and prefetch_status().detail says so; with
# yield_to_queries off (a reload, mid-download) it stops yielding; once the
# queries stop it speeds up again and the fetch completes. The readers are
# busy loops in plpgsql (no pg_sleep: they must use CPU), one more than the
# node has CPUs, each bounded to 120 s and canceled by the test. Every wait
# polls; nothing asserts how fast.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time sleep);
use PgmlReplHub;
use PgmlReplPrefetch;

my $cache = PostgreSQL::Test::Utils::tempdir('primary_hf') . '/hub';
mkdir $cache;
my $rev = '6' x 40;
my $mib = 1 << 20;
# Three 8 MiB files of zeros (sparse; distinct sizes give distinct blobs).
my @sizes = (8 * $mib, 8 * $mib + 1, 8 * $mib + 2);
add_sparse_file($cache, 'models--org--yield', $rev, "part$_.bin", $sizes[$_]) for 0 .. 2;
my $total = 0;
$total += $_ for @sizes;

my $hub = PgmlReplHub->start(cache => $cache);
my ($primary, $standby, $standby_cache) = prefetch_pair(primary_cache => $cache, hub => $hub, prefix => 'yield',
	standby_conf => "pgml_replication.prefetch = off\n");
# A cap low enough that the download outlasts the test's steps, a floor far
# below it; prefetch off until the readers run.
$standby->append_conf('postgresql.conf',
	"pgml_replication.prefetch = off\npgml_replication.naptime = 60\n"
	  . "pgml_replication.max_download_rate = '1MB'\npgml_replication.yield_download_rate = '64kB'\n"
	  . "pgml_replication.max_parallel_downloads = 2\n");
$standby->restart;

is($standby->safe_psql('postgres', 'SHOW pgml_replication.yield_to_queries'), 'on', 'yield_to_queries defaults to on');
ok($primary->poll_query_until('postgres', 'SELECT count(*) = 3 FROM pgml_repl.hf_manifest'),
	'the primary published the three files');
$primary->wait_for_catchup($standby);
ok($standby->poll_query_until('postgres', "SELECT state = 'disabled' FROM pgml_repl.prefetch_status()"),
	'the standby\'s worker waits, prefetch off');

sub set_and_reload
{
	my ($setting, $value) = @_;
	$standby->safe_psql('postgres', "ALTER SYSTEM SET pgml_replication.$setting = '$value'");
	$standby->safe_psql('postgres', 'SELECT pg_reload_conf()');
}

# --- readers: one more busy loop than the node has CPUs ----------------------
my $cpus = 0;
if (open my $fh, '<', '/proc/cpuinfo')
{
	$cpus = grep { /^processor\s*:/ } <$fh>;
	close $fh;
}
my $readers = ($cpus || 2) + 1;
$readers = 16 if $readers > 16;
my $busy_sql = q{DO $$
DECLARE
	stop timestamptz := clock_timestamp() + interval '120 s';
	n bigint := 0;
BEGIN
	WHILE clock_timestamp() < stop LOOP
		n := n + 1;
	END LOOP;
END
$$};
my @sessions;
for (1 .. $readers)
{
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-q', '-d', $standby->connstr('postgres') . ' application_name=busy_reader', '-c', $busy_sql ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(180));
	push @sessions, [ $h, \$out, \$err ];
}
ok($standby->poll_query_until('postgres',
		"SELECT count(*) = $readers FROM pg_stat_activity WHERE application_name = 'busy_reader' AND state = 'active'"),
	"$readers busy readers run on the standby ($cpus CPUs)");

# --- the worker starts under load and yields ---------------------------------
set_and_reload('prefetch', 'on');
my $yielding = "state = 'downloading' AND detail LIKE 'yielding to queries (%'";
ok($standby->poll_query_until('postgres', "SELECT $yielding FROM pgml_repl.prefetch_status()"),
	'while the readers are busy the worker says it yields')
  or diag('prefetch_status: ' . prefetch_status($standby, '*'));
my $detail = prefetch_status($standby, 'detail');
like($detail, qr/^yielding to queries \(client backends using [0-9.]+ CPUs, node CPU \d+% busy\): download rate limited to 64 kB\/s; /,
	'at yield_download_rate, and why');
cmp_ok(prefetch_status($standby, 'bytes_done'), '<', $total, 'the download is still running');

# --- yield_to_queries off, mid-download: back to the cap at once -------------
set_and_reload('yield_to_queries', 'off');
ok($standby->poll_query_until('postgres',
		"SELECT state = 'downloading' AND detail NOT LIKE 'yielding%' FROM pgml_repl.prefetch_status()"),
	'with yield_to_queries off the worker stops yielding during the same download');
is($standby->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'busy_reader' AND state = 'active'"),
	$readers, 'while the readers are still busy');
set_and_reload('yield_to_queries', 'on');
ok($standby->poll_query_until('postgres', "SELECT $yielding FROM pgml_repl.prefetch_status()"),
	'on again: it yields again');

# --- the readers stop: the worker comes back and finishes --------------------
my $canceled = $standby->safe_psql('postgres',
	"SELECT count(*) FILTER (WHERE pg_cancel_backend(pid)) FROM pg_stat_activity WHERE application_name = 'busy_reader'");
is($canceled, $readers, 'the readers are canceled');
for my $s (@sessions)
{
	eval { $s->[0]->finish; };
}
ok($standby->poll_query_until('postgres',
		"SELECT detail NOT LIKE 'yielding%' AND (state = 'downloading' OR (state = 'idle' AND queued_files = 0)) "
		  . "FROM pgml_repl.prefetch_status()"),
	'once the readers stop the worker stops yielding')
  or diag('prefetch_status: ' . prefetch_status($standby, '*'));
diag('after the readers: ' . prefetch_status($standby, "state || ' | ' || detail"));
# A reload wakes the worker, so a later (empty) cycle may have reset the
# counters by now: done is idle with nothing queued or failed, all blobs there.
ok($standby->poll_query_until('postgres',
		"SELECT state = 'idle' AND queued_files = 0 AND files_failed = 0 "
		  . "AND last_cycle_finished_at >= last_cycle_started_at FROM pgml_repl.prefetch_status()"),
	'and the fetch completes')
  or diag('prefetch_status: ' . prefetch_status($standby, '*'));
same_cache($standby_cache, $cache, 'the standby\'s cache equals the primary\'s');
is(join(',', bad_blobs($standby_cache)), '', 'every blob has the right content');

$_->[0]->kill_kill for grep { $_->[0]->pumpable } @sessions;
$hub->stop;
done_testing();
