# The replica side's source over libpq (issue 12), driven through
# test/tools/hf_fetch_cli --upstream: a primary with a cache publishes its
# manifest and serves pgml_repl.hf_blob_read() to a role that
# create_replication_user() allowed (this pg_hba.conf has no catch-all host
# line); the CLI fetches every blob, in chunks and parallel ranges, into an
# empty cache that then equals the primary's. A blob corrupted on the primary
# after publishing (same size) is refused with a checksum mismatch and not
# installed; an upstream restarted mid-transfer is resumed at the offset
# reached; a role without the grant fails, naming the upstream and the fix.
# Needs PGML_REPL_FETCH_CLI (test/run builds it): fails, never skips, without it.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplPrefetch;
use PgmlReplTest;
use IPC::Run ();

my $cli = fetch_cli();

my $password = 'pw-065-fetcher';
my $cache = PostgreSQL::Test::Utils::tempdir('primary_hf') . '/hub';
mkdir $cache;
my $rev = '5' x 40;
srand(65);
my $random = pack('N*', map { int(rand(2**32)) } 1 .. (5 << 20));  # 20 MiB
add_cache_file($cache, 'models--org--upstream', $rev, 'config.json', qq({"model": "upstream"}\n), 0);
my $big = add_cache_file($cache, 'models--org--upstream', $rev, 'model.safetensors', $random, 1);
add_cache_file($cache, 'models--org--upstream', $rev, 'sub/dir/tokenizer.json', "{\"t\": 1}\n" x 1000, 0);
my $sparse = add_sparse_file($cache, 'models--org--sparse', '6' x 40, 'weights.bin', 24 << 20);
my $victim = add_cache_file($cache, 'datasets--org--victim', '7' x 40, 'data.bin', 'v' x 300_000, 1);

my $primary = PostgreSQL::Test::Cluster->new('primary_065');
$primary->init;
$primary->append_conf('postgresql.conf',
	"listen_addresses = '127.0.0.1'\npgml_replication.hf_cache_dir = '$cache'\n"
	  . "log_connections = on\nlog_statement = 'all'\n");
local_only_hba($primary);
my $fh;
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION pgml_replication');
is($primary->safe_psql('postgres', 'SELECT added FROM pgml_repl.publish_hf_manifest()'), 5,
	'the primary publishes its five files');
$primary->safe_psql('postgres',
	"SELECT * FROM pgml_repl.create_replication_user('fetcher', '$password', '127.0.0.1')");
$primary->safe_psql('postgres', "CREATE ROLE plain065 LOGIN PASSWORD '$password'");
$primary->safe_psql('postgres', "SELECT * FROM pgml_repl.allow_blob_fetch('127.0.0.1', 'plain065')");
$primary->safe_psql('postgres', 'REVOKE EXECUTE ON FUNCTION pgml_repl.hf_blob_read_rows(text, bigint, integer) FROM plain065');
$primary->reload;

sub conninfo { "host=127.0.0.1 port=" . $primary->port . " user=$_[0] password=$password dbname=postgres" }

# The postmaster reads pg_hba.conf after the reload COMMIT asked for: wait
# (bounded) until both roles may log in over TCP.
wait_tcp_login($primary, conninfo($_), $_) for ('fetcher', 'plain065');

# The manifest as the CLI reads it: one line per ref.
my @rows = cli_manifest_rows($primary);
is(scalar(@rows), 5, 'five manifest rows');
my ($victim_row) = grep { /\t$victim\t/ } @rows;
my @good_rows = grep { !/\t$victim\t/ } @rows;

# Runs the CLI into $dest with @rows on stdin; returns (exit code, stdout, stderr).
sub fetch
{
	my ($dest, $user, @lines) = @_;
	my ($in, $out, $err) = (join("\n", @lines) . "\n", '', '');
	IPC::Run::run([ $cli, '--cache', $dest, '--upstream', conninfo($user), '--parallel', '2',
		'--streams', '2', '--range-size', 12 << 20, '--upstream-chunk', 8 << 20, '--retries', '2', '--quiet' ],
		\$in, \$out, \$err, IPC::Run::timeout(120));
	return ($? >> 8, $out, $err);
}

# Everything but the victim: the 20 and 24 MiB files in 12 MiB ranges over
# two connections each, a range in 8 MiB queries (--upstream-chunk) of 256 KiB rows.
my $dest = PostgreSQL::Test::Utils::tempdir('replica_hf') . '/hub';
mkdir $dest;
my $log_offset = -s $primary->logfile;
my ($rc, $out, $err) = fetch($dest, 'fetcher', @good_rows);
is($rc, 0, 'the CLI fetches every file from the upstream') or diag($err);
like($out, qr/files_done=4 files_failed=0/, 'four blobs fetched, none failed');
unlike($err, qr/\Q$password\E/, 'the password is never printed');
is(join(',', bad_blobs($dest)), '', 'every blob hashes to its name');
is(-s "$dest/models--org--upstream/blobs/$big", 20 << 20, 'the 20 MiB blob has its size');
my $log = slurp_file($primary->logfile, $log_offset);
my $conns = () = $log =~ /connection authorized: user=fetcher database=postgres application_name=pgml_replication fetch/g;
cmp_ok($conns, '>', 1, "several connections ($conns), named pgml_replication fetch");
like($log, qr/parameters: \$1 = '[0-9a-f]+', \$2 = '0', \$3 = '8388608'/, 'a transfer asks 8 MiB chunks');
like($log, qr/parameters: \$1 = '[0-9a-f]+', \$2 = '8388608', \$3 = '\d+'/, 'and then the next one');
my %servers = map { $_ => 1 } $log =~ /\[(\d+)\] pgml_replication fetch DETAIL:  parameters: \$1 = '$sparse'/g;
cmp_ok(scalar(keys %servers), '>', 1, 'the 24 MiB file came over several connections in ranges');
ok($primary->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'pgml_replication fetch'"),
	'the CLI\'s connections are gone after it exits');

# Now the victim, corrupted on the primary after publishing (same size).
my $victim_file = "$cache/datasets--org--victim/blobs/$victim";
open $fh, '>:raw', $victim_file or die $!;
print $fh 'w' x 300_000;
close $fh;
($rc, $out, $err) = fetch($dest, 'fetcher', $victim_row);
is($rc, 1, 'the corrupted blob fails');
like($err, qr/checksum mismatch: content from upstream 127\.0\.0\.1:\d+ hashes to /,
	'with a checksum mismatch naming the upstream') or diag($err);
ok(!-e "$dest/datasets--org--victim/blobs/$victim", 'and is not installed');
ok(!-e "$dest/datasets--org--victim/snapshots/" . ('7' x 40) . '/data.bin', 'nor linked');

# The original bytes back: the caches are then equal.
open $fh, '>:raw', $victim_file or die $!;
print $fh 'v' x 300_000;
close $fh;
($rc, $out, $err) = fetch($dest, 'fetcher', @rows);
is($rc, 0, 'with the right bytes back the victim is fetched') or diag($err);
same_cache($dest, $cache, 'the fetched cache equals the primary\'s');

# A role with a line and USAGE but no EXECUTE on hf_blob_read_rows (what the client calls).
my $other = PostgreSQL::Test::Utils::tempdir('plain_hf') . '/hub';
mkdir $other;
($rc, $out, $err) = fetch($other, 'plain065', $victim_row);
is($rc, 1, 'a role without the grant fails');
like($err, qr/upstream 127\.0\.0\.1:\d+: not allowed to fetch blobs: .*permission denied for function hf_blob_read.*allow_blob_fetch/,
	'naming the upstream, the refusal and allow_blob_fetch()') or diag($err);

# A role with no pg_hba.conf line at all: the login is refused.
$primary->safe_psql('postgres', "CREATE ROLE noline065 LOGIN PASSWORD '$password'");
($rc, $out, $err) = fetch($other, 'noline065', $victim_row);
is($rc, 1, 'a role without a line fails');
like($err, qr/upstream 127\.0\.0\.1:\d+: login refused: .*no pg_hba\.conf entry.*pg_hba\.conf line/,
	'naming the upstream and the missing line') or diag($err);
unlike($err, qr/\Q$password\E/, 'without printing the password');

# The upstream restarted in the middle of a transfer: the CLI (one stream,
# slowed to 4 MB/s) retries and resumes at the offset it had reached.
my $resumed = PostgreSQL::Test::Utils::tempdir('resume_hf') . '/hub';
mkdir $resumed;
my ($big_row) = grep { /\t$big\t/ } @rows;
# Files, not scalars: IPC::Run feeds a scalar only while it is pumped.
my $io = PostgreSQL::Test::Utils::tempdir('resume_io');
open $fh, '>', "$io/rows.tsv" or die $!;
print $fh "$big_row\n";
close $fh;
my $h = IPC::Run::start([ $cli, '--cache', $resumed, '--upstream', conninfo('fetcher'), '--streams', '1',
	'--max-rate', '4000000', '--retries', '10', '--quiet' ], '<', "$io/rows.tsv", '>', "$io/out", '2>', "$io/err",
	IPC::Run::timeout(120));
my $partial = "$resumed/models--org--upstream/blobs/$big.pgml.incomplete";
my $reached = 0;
for (1 .. 600)
{
	$reached = -s $partial // 0;
	last if $reached >= 6 << 20;
	select(undef, undef, undef, 0.05);
}
cmp_ok($reached, '>=', 6 << 20, "the transfer is under way ($reached bytes)");
$log_offset = -s $primary->logfile;
$primary->restart;
$h->finish;
is($h->result(0), 0, 'after the upstream\'s restart the CLI completes the file') or diag(slurp_file("$io/err"));
is(join(',', bad_blobs($resumed)), '', 'the blob hashes to its name');
# What the restarted server was asked.
$log = (split /database system is ready to accept connections/, slurp_file($primary->logfile, $log_offset))[-1];
my @offsets = $log =~ /parameters: \$1 = '$big', \$2 = '(\d+)'/g;
ok(@offsets && $offsets[0] > 0, 'the first query after the restart asks from the offset reached (' . ($offsets[0] // 'none') . ')');

# A conninfo libpq rejects is a usage error with a hint.
my ($in, $o2, $e2) = ("", '', '');
IPC::Run::run([ $cli, '--cache', $other, '--upstream', "host=127.0.0.1 password=$password bogus=1" ],
	\$in, \$o2, \$e2, IPC::Run::timeout(30));
is($? >> 8, 2, 'a conninfo libpq rejects is a usage error');
like($e2, qr/invalid upstream conninfo.*bogus/s, 'saying which keyword');
unlike($e2, qr/\Q$password\E/, 'without quoting the password');

done_testing();
