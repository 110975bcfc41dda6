# The prefetch worker end to end: a preloaded primary over a fixture cache
# (three repos, a blob shared by two revisions, nested paths, tags, refs/pr/1)
# publishes its manifest; a standby over an empty cache downloads from the
# test Hub until its cache is byte-identical. Also: status and queue columns,
# a second cycle sends no request, SIGHUP reload, crash restart.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Digest::SHA;
use Time::HiRes qw(time sleep);
use PgmlReplHub;
use PgmlReplPrefetch;

my $fixtures = fixture_cache();
my $hub = PgmlReplHub->start(cache => "$fixtures/hub");
my ($primary, $standby, $standby_cache) = prefetch_pair(primary_cache => "$fixtures/hub", hub => $hub,
	conf => "restart_after_crash = on\n");

# --- both workers run, each in its role -----------------------------------
ok($primary->poll_query_until('postgres',
		"SELECT role = 'primary' AND state = 'idle' FROM pgml_repl.prefetch_status()"),
	'the primary\'s worker publishes');
is($primary->safe_psql('postgres', 'SELECT count(*) FROM pgml_repl.hf_manifest'), '9',
	'the worker published the nine files of the primary\'s cache');
ok($standby->poll_query_until('postgres',
		"SELECT role = 'standby' FROM pgml_repl.prefetch_status() WHERE worker_pid IS NOT NULL"),
	'the standby\'s worker runs on the hot standby');
$primary->wait_for_catchup($standby);

# --- the standby's cache becomes the primary's ----------------------------
my $st = wait_prefetch_complete($standby, "state || '|' || files_failed || '|' || queued_files || '|' || coalesce(last_error, '')");
is($st, 'idle|0|0|', 'prefetch_status() reports done, nothing failed or queued, no error');
same_cache($standby_cache, "$fixtures/hub",
	'same tree, same symlink targets, same blob contents, same refs');
my $refs_ok = 1;
for my $ref (glob("$standby_cache/*/refs/* $standby_cache/*/refs/refs/pr/*"))
{
	next if -d $ref;
	open my $fh, '<', $ref or die;
	local $/;
	my $c = <$fh>;
	$refs_ok = 0 unless $c =~ /\A[0-9a-f]{40}\z/;
}
ok($refs_ok, 'refs files hold 40 hex digits and no newline');
ok(-l "$standby_cache/models--sentence-transformers--all-MiniLM-L6-v2/snapshots/"
	  . readlink_ref("$standby_cache/models--sentence-transformers--all-MiniLM-L6-v2/refs/refs/pr/1")
	  . '/1_Pooling/config.json', 'nested snapshot entry of refs/pr/1 is a symlink');

my $log = $hub->log;
my $weights_gets = grep { $_->{listener} eq 'cdn' && $_->{method} eq 'GET' && $_->{path} =~ /model\.safetensors/ } @$log;
is($weights_gets, 1, 'the blob shared by two revisions is downloaded once');

is(wait_prefetch_complete($standby, q{files_done || '|' || files_wanted || '|' || bytes_wanted || '|' || bytes_failed}),
	'0|0|0|0', 'a cycle over a complete cache wants nothing');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM pgml_repl.prefetch_queue()'), '0', 'the queue is empty');

# --- a second cycle leaves everything alone and sends nothing -------------
$hub->reset;
my @mtimes_before = map { (lstat $_)[9] } glob("$standby_cache/*/blobs/*");
wait_prefetch_complete($standby, 'state');
is(scalar(@{ $hub->log }), 0, 'a complete cache sends no request to the Hub');
is(join(',', map { (lstat $_)[9] } glob("$standby_cache/*/blobs/*")), join(',', @mtimes_before),
	'files already present are left alone');

my $log_offset;

# --- a new file on the primary arrives; progress is visible --------------
my $repo = "$fixtures/hub/models--gpt2";
my $rev = readlink_ref("$repo/refs/main");
my $big = "\x01" x (8 << 20);
my $blob = Digest::SHA::sha256_hex($big);
open my $fh, '>', "$repo/blobs/$blob" or die;
print $fh $big;
close $fh;
symlink("../../blobs/$blob", "$repo/snapshots/$rev/pytorch_model.bin") or die;
$hub->faults([ { match => 'pytorch_model.bin', kind => 'stall', seconds => 2, times => 1 } ]);
wait_prefetch_complete($primary, 'state');
$primary->wait_for_catchup($standby);
$standby->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
ok($standby->poll_query_until('postgres',
		"SELECT state = 'downloading' AND current_path = 'pytorch_model.bin' AND current_total = 8388608 FROM pgml_repl.prefetch_status()"),
	'prefetch_status() shows the current file and its size while it downloads');
is($standby->safe_psql('postgres', 'SELECT repo, path, size FROM pgml_repl.prefetch_queue()'),
	'model:gpt2|pytorch_model.bin|8388608', 'prefetch_queue() lists the file not yet present');
ok($standby->poll_query_until('postgres',
		"SELECT state = 'idle' AND queued_files = 0 AND last_cycle_finished_at >= last_cycle_started_at FROM pgml_repl.prefetch_status()"),
	'the download finishes');
same_cache($standby_cache, "$fixtures/hub", 'the new file is in the standby\'s cache');

# --- a partial file of a blob that left the manifest is removed ----------
# A download stops half way (prefetch turned off while the Hub stalls), the
# file leaves the primary's cache and so the manifest: the next cycle removes
# the kept partial file, and only that (huggingface_hub's own .incomplete
# files and a partial of a blob still wanted stay).
my $gone_content = "\x02" x (4 << 20);
my $gone = Digest::SHA::sha256_hex($gone_content);
open $fh, '>', "$repo/blobs/$gone" or die;
print $fh $gone_content;
close $fh;
symlink("../../blobs/$gone", "$repo/snapshots/$rev/leaving.bin") or die;
$hub->faults([ { match => 'leaving.bin', kind => 'stall', seconds => 20, after => 1 << 20, times => 1 } ]);
wait_prefetch_complete($primary, 'state');
$primary->wait_for_catchup($standby);
$standby->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
ok($standby->poll_query_until('postgres',
		"SELECT current_path = 'leaving.bin' AND current_bytes >= 1048576 FROM pgml_repl.prefetch_status()"),
	'the download of leaving.bin is half way');
$standby->append_conf('postgresql.conf', "pgml_replication.prefetch = off\n");
$standby->reload;
ok($standby->poll_query_until('postgres', "SELECT state = 'disabled' FROM pgml_repl.prefetch_status()"),
	'prefetch off stops it');
my $partial = "$standby_cache/models--gpt2/blobs/$gone.pgml.incomplete";
ok(-s $partial >= 1 << 20, 'its partial file is kept for resuming');
my $hub_own = "$standby_cache/models--gpt2/blobs/" . ('e' x 64) . '.incomplete';
open $fh, '>', $hub_own or die;
print $fh 'huggingface_hub writes this one';
close $fh;
unlink "$repo/snapshots/$rev/leaving.bin", "$repo/blobs/$gone" or die;
$primary->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
ok($primary->poll_query_until('postgres', "SELECT count(*) = 0 FROM pgml_repl.hf_manifest WHERE path = 'leaving.bin'"),
	'the file left the manifest');
$primary->wait_for_catchup($standby);
$log_offset = -s $standby->logfile;
$standby->append_conf('postgresql.conf', "pgml_replication.prefetch = on\n");
$standby->reload;
ok(wait_standby_idle($standby), 'the next cycle completes');
ok(!-e $partial, 'the partial file of the blob no longer in the manifest is gone');
ok(-e $hub_own, 'huggingface_hub\'s own partial file stays');
ok($standby->wait_for_log(qr/removed 1 partial downloads of blobs no longer in the manifest/, $log_offset),
	'the server log says so');
unlink $hub_own;
same_cache($standby_cache, "$fixtures/hub", 'the cache still equals the primary\'s');

# --- SIGHUP: a reload reaches the worker ----------------------------------
$standby->append_conf('postgresql.conf', "pgml_replication.prefetch = off\n");
$standby->reload;
ok($standby->poll_query_until('postgres', "SELECT state = 'disabled' FROM pgml_repl.prefetch_status()"),
	'prefetch = off after a reload disables the worker');
$standby->append_conf('postgresql.conf', "pgml_replication.prefetch = on\n");
$standby->reload;
ok($standby->poll_query_until('postgres', "SELECT state <> 'disabled' FROM pgml_repl.prefetch_status()"),
	'and on again');

# --- an invalid value in the configuration is refused at reload -----------
my $endpoint = $standby->safe_psql('postgres', 'SHOW pgml_replication.hf_endpoint');
$log_offset = -s $standby->logfile;
$standby->append_conf('postgresql.conf', "pgml_replication.hf_endpoint = 'ftp://mirror.example'\n");
$standby->reload;
ok($standby->wait_for_log(qr/invalid value for parameter "pgml_replication\.hf_endpoint": "ftp:\/\/mirror\.example"/, $log_offset),
	'a reload with a bad hf_endpoint is refused in the log');
is($standby->safe_psql('postgres', 'SHOW pgml_replication.hf_endpoint'), $endpoint, 'and the old value stays');
$standby->append_conf('postgresql.conf', "pgml_replication.hf_endpoint = '$endpoint'\n");
$standby->reload;

# --- a crashed worker is restarted by the postmaster ----------------------
my $pid = prefetch_status($standby, 'worker_pid');
kill 'KILL', $pid;
# SIGKILL of a backend restarts the whole server; the worker comes back with it.
ok($standby->poll_query_until('postgres',
		"SELECT worker_pid IS NOT NULL AND worker_pid <> $pid FROM pgml_repl.prefetch_status()"),
	'a killed worker comes back');

$hub->stop;
done_testing();

sub readlink_ref
{
	open my $fh, '<', $_[0] or die "$_[0]: $!";
	local $/;
	return scalar <$fh>;
}
