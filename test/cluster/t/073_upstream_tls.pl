# The upstream path over TLS (issue 12): primary_conninfo usually says
# sslmode=require, and hf_blob_read_rows() writes its 256 KiB rows past
# PostgreSQL 15's send buffer (src/shim/hf_cache/large_send.c, through
# secure_write). A primary with ssl = on serves a 20 MiB random blob and a
# 24 MiB one in ranges and 8 MiB queries to hf_fetch_cli with
# sslmode=require; every byte arrives (the blobs hash to their names), the
# connections were TLS ones (the server's log_connections lines).
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

my $password = 'pw-073-fetcher';
my $cache = PostgreSQL::Test::Utils::tempdir('tls_primary_hf') . '/hub';
mkdir $cache;
srand(73);
my $random = pack('N*', map { int(rand(2**32)) } 1 .. (5 << 20));    # 20 MiB
add_cache_file($cache, 'models--org--tls', '7' x 40, 'config.json', qq({"tls": true}\n), 0);
add_cache_file($cache, 'models--org--tls', '7' x 40, 'model.safetensors', $random, 1);
add_sparse_file($cache, 'models--org--tls-sparse', '3' x 40, 'weights.bin', 24 << 20);

my $primary = PostgreSQL::Test::Cluster->new('primary_073');
$primary->init;
# A self-signed certificate: the client asks for encryption, not verification.
my $data = $primary->data_dir;
my ($out, $err) = ('', '');
IPC::Run::run([ 'openssl', 'req', '-new', '-x509', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
	'-newkey', 'rsa:2048', '-keyout', "$data/server.key", '-out', "$data/server.crt" ], '<', \undef, '>', \$out,
	'2>', \$err, IPC::Run::timeout(60))
  or die "openssl: $err";
chmod 0600, "$data/server.key";
$primary->append_conf('postgresql.conf',
	"listen_addresses = '127.0.0.1'\nssl = on\nlog_connections = on\npgml_replication.hf_cache_dir = '$cache'\n");
local_only_hba($primary);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION pgml_replication');
is($primary->safe_psql('postgres', 'SELECT added FROM pgml_repl.publish_hf_manifest()'), 3, 'three files published');
$primary->safe_psql('postgres',
	"SELECT * FROM pgml_repl.create_replication_user('fetcher', '$password', '127.0.0.1')");
$primary->reload;
my $conninfo = "host=127.0.0.1 port=" . $primary->port . " user=fetcher password=$password dbname=postgres sslmode=require";
wait_tcp_login($primary, $conninfo, 'fetcher');

my @rows = cli_manifest_rows($primary);
my $dest = PostgreSQL::Test::Utils::tempdir('tls_replica_hf') . '/hub';
mkdir $dest;
my $in = join("\n", @rows) . "\n";
($out, $err) = ('', '');
my $log_offset = -s $primary->logfile;
IPC::Run::run([ $cli, '--cache', $dest, '--upstream', $conninfo, '--parallel', '2', '--streams', '2',
	'--range-size', 12 << 20, '--upstream-chunk', 8 << 20, '--quiet' ], \$in, \$out, \$err, IPC::Run::timeout(180));
is($? >> 8, 0, 'the CLI fetches every file over TLS') or diag($err);
my @logins = slurp_file($primary->logfile, $log_offset) =~ /connection authorized: user=fetcher database=postgres application_name=pgml_replication fetch(.*)/g;
cmp_ok(scalar(@logins), '>', 1, 'over several connections');
is(scalar(grep { !/SSL enabled/ } @logins), 0, 'each of them encrypted') or diag(join("\n", @logins));
like($out, qr/files_done=3 files_failed=0/, 'three blobs fetched, none failed');
is(join(',', bad_blobs($dest)), '', 'every blob hashes to its name');
same_cache($dest, $cache, 'the fetched cache equals the primary\'s');

done_testing();
