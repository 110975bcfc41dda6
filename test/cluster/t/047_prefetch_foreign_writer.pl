# A huggingface_hub-style writer in the same cache, on the same blob: it holds
# <cache>/.locks/<repo_folder>/<blob>.lock with flock (Python fcntl.flock, as
# huggingface_hub's FileLock does) while it writes blobs/<blob>.incomplete
# slowly, then renames it to blobs/<blob>.
#  1. The writer goes first: the worker waits for the lock, then finds the
#     blob written and only links it (no download; the blob is written once).
#  2. The worker goes first (its transfer is stalled): the writer waits for
#     the lock, then finds the worker's blob and leaves it alone.
# Either way the blob is correct and the cache equals the primary's.
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
my $rev = '7' x 40;
my $hub = PgmlReplHub->start(cache => $cache);
my ($primary, $standby, $standby_cache) = prefetch_pair(primary_cache => $cache, hub => $hub, prefix => 'pfw');

# The writer: waits for the lock (bounded), then writes the content in 8
# pieces over ~$secs seconds unless the blob already exists. Prints what it did.
my $writer = PostgreSQL::Test::Utils::tempdir('writer') . '/writer.py';
open my $fh, '>', $writer or die $!;
print $fh <<'PY';
import fcntl, os, sys, time
cache, folder, blob, src, secs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
os.makedirs(os.path.join(cache, ".locks", folder), exist_ok=True)
os.makedirs(os.path.join(cache, folder, "blobs"), exist_ok=True)
lock = open(os.path.join(cache, ".locks", folder, blob + ".lock"), "a")
t0 = time.monotonic()
while True:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        break
    except BlockingIOError:
        if time.monotonic() - t0 > 60:
            print("lock timeout", flush=True)
            sys.exit(1)
        time.sleep(0.05)
waited = time.monotonic() - t0
print("locked after %.1f s" % waited, flush=True)
final = os.path.join(cache, folder, "blobs", blob)
if os.path.exists(final):
    print("blob exists, not written", flush=True)
else:
    data = open(src, "rb").read()
    tmp = final + ".incomplete"
    with open(tmp, "wb") as f:
        step = len(data) // 8 + 1
        for i in range(0, len(data), step):
            f.write(data[i:i + step])
            f.flush()
            time.sleep(secs / 8)
        os.fsync(f.fileno())
    os.replace(tmp, final)
    print("blob written", flush=True)
fcntl.flock(lock, fcntl.LOCK_UN)
PY
close $fh;

sub start_writer
{
	my ($folder, $blob, $secs) = @_;
	my $out = '';
	my $h = IPC::Run::start([ 'python3', $writer, $standby_cache, $folder, $blob, "$cache/$folder/blobs/$blob", $secs ],
		'>', \$out, '2>&1', IPC::Run::timeout(90));
	return ($h, \$out);
}

sub cdn_gets
{
	my ($folder) = @_;
	return scalar grep { $_->{listener} eq 'cdn' && $_->{method} eq 'GET' && $_->{path} =~ m{/cdn/$folder/} } @{ $hub->log };
}

# --- 1. the foreign writer holds the lock first -----------------------------
my $content = join('', map { chr(($_ * 31) % 251) } 1 .. 4096) x 512;    # 2 MiB
my $blob = add_cache_file($cache, 'models--org--shared-a', $rev, 'weights.bin', $content, 1);
$hub->reset;
# The writer takes the lock before the standby even hears of the file.
my ($h, $out) = start_writer('models--org--shared-a', $blob, 6);
my $deadline = time() + 20;
$h->pump_nb while $$out !~ /locked/ && time() < $deadline && sleep 0.05;
like($$out, qr/locked after/, 'the writer holds the blob lock');
$primary->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
ok($primary->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pgml_repl.hf_manifest WHERE repo_id = 'org/shared-a'}),
	'published');
$primary->wait_for_catchup($standby);
$standby->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
ok($standby->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pgml_repl.prefetch_queue() WHERE repo = 'model:org/shared-a'}),
	'the worker wants the file while the writer still holds the lock');
ok(!-e "$standby_cache/models--org--shared-a/blobs/$blob", 'the blob is not written yet');
ok(wait_standby_idle($standby), 'the worker completes its cycle');
$h->finish;
like($$out, qr/blob written/, 'the foreign writer wrote the blob');
is(cdn_gets('models--org--shared-a'), 0, 'the worker waited and downloaded nothing: the blob was written once');
ok(-l "$standby_cache/models--org--shared-a/snapshots/$rev/weights.bin", 'the worker linked the foreign blob');

# --- 2. the worker holds the lock first --------------------------------------
$content = join('', map { chr(($_ * 17) % 253) } 1 .. 4096) x 1024;    # 4 MiB
$blob = add_cache_file($cache, 'models--org--shared-b', $rev, 'weights.bin', $content, 1);
$hub->faults([ { match => '/cdn/models--org--shared-b/', kind => 'stall', seconds => 3, after => 1 << 20, times => 1 } ]);
$primary->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
ok($primary->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pgml_repl.hf_manifest WHERE repo_id = 'org/shared-b'}),
	'published');
$primary->wait_for_catchup($standby);
$standby->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
ok($standby->poll_query_until('postgres',
		"SELECT state = 'downloading' AND current_repo = 'org/shared-b' AND current_bytes >= 1048576 FROM pgml_repl.prefetch_status()"),
	'the worker is downloading (stalled)');
($h, $out) = start_writer('models--org--shared-b', $blob, 1);
$h->finish;
like($$out, qr/locked after ([1-9]|0\.[5-9])/, 'the foreign writer had to wait for the worker\'s lock') or diag($$out);
like($$out, qr/blob exists, not written/, 'and then found the worker\'s blob in place');
ok(wait_standby_idle($standby), 'the worker\'s cycle completes');

is(join(',', bad_blobs($standby_cache)), '', 'every blob matches its name');
is(join(',', partial_files($standby_cache)), '', 'no partial or temp file');
same_cache($standby_cache, $cache, 'the standby\'s cache equals the primary\'s');

$hub->stop;
done_testing();
