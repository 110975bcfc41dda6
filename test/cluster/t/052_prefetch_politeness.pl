# The prefetch worker shares the replica with queries: prefetch_nice sets
# the worker's nice value (and its I/O priority) before each job, so the
# threads the fetch core starts inherit it; max_download_rate caps all
# transfers of a job together. Asserted from outside: /proc/<pid>/stat,
# ionice, the server log, and how long a rate-limited fetch takes at least.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgmlReplHub;
use PgmlReplPrefetch;

# Field 19 of /proc/<pid>/stat (or of a thread's task/<tid>/stat). The
# command name in field 2 may hold spaces, so count from its closing ')'.
sub nice_of
{
	my ($stat_file) = @_;
	open my $fh, '<', $stat_file or return undef;
	my $line = <$fh>;
	close $fh;
	return undef unless defined $line && $line =~ /\)\s+(.*)$/s;
	my @f = split ' ', $1;    # starts at field 3
	return $f[19 - 3];
}

# Polls (bounded) until the worker's main thread has the nice value wanted.
sub wait_nice
{
	my ($pid, $want) = @_;
	my $deadline = time() + 30;
	my $have;
	while (time() < $deadline)
	{
		$have = nice_of("/proc/$pid/stat");
		return $have if defined $have && $have == $want;
		sleep 0.1;
	}
	return $have;
}

# Whether this OS user may lower a nice value it raised (CAP_SYS_NICE or
# RLIMIT_NICE): decides what the worker can do when the setting goes down.
sub can_lower_nice
{
	my $child = fork() // die "fork: $!";
	if ($child == 0)
	{
		setpriority(0, 0, 15) or POSIX::_exit(2);
		POSIX::_exit(setpriority(0, 0, 12) ? 0 : 1);
	}
	waitpid($child, 0);
	return ($? >> 8) == 0;
}

sub ionice_of
{
	my ($pid) = @_;
	my $out = `ionice -p $pid 2>&1`;
	chomp $out;
	return $out;
}

sub set_and_reload
{
	my ($node, $setting, $value) = @_;
	$node->safe_psql('postgres', "ALTER SYSTEM SET pgml_replication.$setting = '$value'");
	$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
}

use POSIX ();

# --- a primary cache of three 2 MiB files -----------------------------------
my $cache = PostgreSQL::Test::Utils::tempdir('primary_hf') . '/hub';
mkdir $cache;
my $rev = '5' x 40;
my $file_size = 2 << 20;
my @blobs = map { add_cache_file($cache, 'models--org--polite', $rev, "part$_.bin", chr($_) x $file_size, 1) } 1 .. 3;
my $total = 3 * $file_size;

my $hub = PgmlReplHub->start(cache => $cache);
# The standby waits (prefetch off) while its priority is checked; a long
# naptime so that the only cycles are the ones a reload or prefetch_now() starts.
my $rate_kb = 1536;
my ($primary, $standby, $standby_cache) = prefetch_pair(primary_cache => $cache, hub => $hub, prefix => 'pfn',
	standby_conf => "pgml_replication.prefetch = off\n");
$standby->append_conf('postgresql.conf',
	"pgml_replication.prefetch = off\npgml_replication.naptime = 60\n"
	  . "pgml_replication.max_download_rate = ${rate_kb}kB\npgml_replication.max_parallel_downloads = 4\n");
$standby->restart;

ok($standby->poll_query_until('postgres',
		"SELECT state = 'disabled' AND worker_pid IS NOT NULL FROM pgml_repl.prefetch_status()"),
	'the standby\'s worker runs, prefetch off');
is($standby->safe_psql('postgres', 'SHOW pgml_replication.prefetch_nice'), '10', 'prefetch_nice defaults to 10');
is($standby->safe_psql('postgres', 'SHOW pgml_replication.max_download_rate'), '1536kB',
	'max_download_rate is shown in kB');
my $pid = prefetch_status($standby, 'worker_pid');

# --- the default nice, then a higher one after a reload ---------------------
is(wait_nice($pid, 10), 10, 'the worker runs at nice 10 (field 19 of /proc/<pid>/stat)');
my $have_ionice = -x '/usr/bin/ionice';
SKIP:
{
	skip 'ionice is not installed', 1 unless $have_ionice;
	is(ionice_of($pid), 'best-effort: prio 6', 'its I/O priority is best-effort level (10 + 20) / 5 = 6');
}

set_and_reload($standby, 'prefetch_nice', 15);
is(wait_nice($pid, 15), 15, 'after ALTER SYSTEM and a reload the next cycle runs at nice 15');
SKIP:
{
	skip 'ionice is not installed', 1 unless $have_ionice;
	my $io;
	for (1 .. 100) { $io = ionice_of($pid); last if $io eq 'best-effort: prio 7'; sleep 0.1; }
	is($io, 'best-effort: prio 7', 'and the I/O priority follows: level 7');
}
is(prefetch_status($standby, 'worker_pid'), $pid, 'the same worker, not a restarted one');

# --- a lower value needs CAP_SYS_NICE: one WARNING with a HINT, or applied ---
my $log_offset = -s $standby->logfile;
set_and_reload($standby, 'prefetch_nice', 12);
if (can_lower_nice())
{
	is(wait_nice($pid, 12), 12, 'this OS user may lower nice: the worker goes to 12 at once');
}
else
{
	ok($standby->wait_for_log(
			qr/WARNING:  pgml_replication prefetch could not lower its nice value from 15 to 12: Permission denied\n(?:.*\n)*?.*HINT:  Restart the server to apply a lower value/,
			$log_offset),
		'lowering nice without CAP_SYS_NICE logs a WARNING with a restart HINT');
	# Two more cycles: the refusal is not logged again.
	wait_prefetch_complete($standby, 'state');
	wait_prefetch_complete($standby, 'state');
	my $log = slurp_file($standby->logfile, $log_offset);
	is(scalar(() = $log =~ /could not lower its nice value/g), 1, 'the WARNING is logged once, not every cycle');
	is(nice_of("/proc/$pid/stat"), 15, 'and the worker keeps nice 15');
	is(prefetch_status($standby, 'state'), 'disabled', 'the worker goes on working');
}
$standby->restart;
ok($standby->poll_query_until('postgres',
		"SELECT worker_pid IS NOT NULL AND worker_pid <> $pid FROM pgml_repl.prefetch_status()"),
	'after a restart a new worker runs');
$pid = prefetch_status($standby, 'worker_pid');
is(wait_nice($pid, 12), 12, 'a restart applies the lower value: the worker starts from the server\'s nice');

# --- max_download_rate: every transfer together stays under the rate --------
ok($primary->poll_query_until('postgres', 'SELECT count(*) = 3 FROM pgml_repl.hf_manifest'),
	'the primary published the three files');
$primary->wait_for_catchup($standby);
my $cycles = prefetch_status($standby, 'cycles');
set_and_reload($standby, 'prefetch', 'on');

# While it downloads, every thread of the worker (the core starts one per
# transfer) runs at the worker's nice.
my ($threads_seen, @wrong, $done) = (0);
my $deadline = time() + 60;
while (time() < $deadline)
{
	my @tasks = glob("/proc/$pid/task/*");
	$threads_seen = @tasks if @tasks > $threads_seen;
	for my $t (@tasks)
	{
		my $n = nice_of("$t/stat");
		push @wrong, "$t=$n" if defined $n && $n != 12;
	}
	$done = prefetch_status($standby,
		"cycles > $cycles AND state = 'idle' AND queued_files = 0 AND files_failed = 0 "
		  . "AND last_cycle_finished_at >= last_cycle_started_at");
	last if $done eq 't';
	sleep 0.05;
}
ok($done eq 't', 'the rate-limited fetch completes')
  or diag('prefetch_status: ' . prefetch_status($standby, '*'));
my $seconds = prefetch_status($standby,
	'extract(epoch FROM last_cycle_finished_at - last_cycle_started_at)');
my $floor = $total / ($rate_kb * 1024) * 0.8;
diag(sprintf('%d bytes in 3 parallel transfers at %d kB/s: %.2f s (at least %.2f s expected)',
		$total, $rate_kb, $seconds, $floor));
cmp_ok($seconds, '>=', $floor, 'the three parallel transfers together take at least bytes / rate * 0.8');
is(prefetch_status($standby, 'files_done || \'|\' || bytes_done'), "3|$total", 'all three files arrived');
same_cache($standby_cache, $cache, 'the standby\'s cache equals the primary\'s');
is(join(',', bad_blobs($standby_cache)), '', 'every blob has the right content');
ok($threads_seen > 1, "the worker ran more than one thread during the fetch ($threads_seen seen)");
is(join(',', @wrong), '', 'every thread of the worker ran at nice 12');

$hub->stop;
done_testing();
