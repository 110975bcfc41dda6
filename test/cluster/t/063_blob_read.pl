# Serving blobs (issue 12): a hot standby serves pgml_repl.hf_blob_read() to
# the replication role over a TCP connection that only the database line of
# create_replication_user() allows (this test's pg_hba.conf has no catch-all
# host line), the bytes hash to the blob's name, and
# pgml_replication.max_blob_readers refuses a reader over the limit until the
# holder's transaction ends (by COMMIT or by an ERROR).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplTest;
use PgmlReplPrefetch;
use Digest::SHA;

my $cache = fixture_cache() . '/hub';
# The healthy fixture's LFS weights: sha256 of bytes 0..255 repeated 64 times.
my $weights = 'a1f259d4365ed4320c377ce26f5c8c56dcdc9a89e7b641bfd8eabfbbeac86654';
my $password = 'pw-063-fetcher';

my $primary = PostgreSQL::Test::Cluster->new('primary_063');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf',
	"listen_addresses = '127.0.0.1'\npgml_replication.hf_cache_dir = '$cache'\n");
# Only the unix socket for the harness: every TCP connection needs a line of ours.
my $hba_file = local_only_hba($primary);
my $fh;
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION pgml_replication');
ok($primary->safe_psql('postgres', 'SELECT added FROM pgml_repl.publish_hf_manifest()') > 0,
	'the primary publishes its cache');
$primary->safe_psql('postgres',
	"SELECT * FROM pgml_repl.create_replication_user('fetcher', '$password', '127.0.0.1')");
my $hba = slurp_file($hba_file);
like($hba, qr/^host\s+postgres\s+fetcher\s+127\.0\.0\.1\/32\s+scram-sha-256 # pgml_replication$/m,
	'create_replication_user() adds the database line');
like($hba, qr/^host\s+replication\s+fetcher\s+127\.0\.0\.1\/32\s+scram-sha-256 # pgml_replication$/m,
	'beside the replication line');
unlike($hba, qr/^host\s+all\s/m, 'and there is no catch-all host line');

$primary->backup('base_063');
my $standby = PostgreSQL::Test::Cluster->new('standby_063');
$standby->init_from_backup($primary, 'base_063', has_streaming => 1);
$standby->append_conf('postgresql.conf', "pgml_replication.max_blob_readers = 1\n");
$standby->start;
$primary->wait_for_catchup('standby_063');
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

my $fetcher_conn = 'host=127.0.0.1 port=' . $standby->port . " dbname=postgres user=fetcher password=$password";
my $read_sql = "SELECT encode(sha256(pgml_repl.hf_blob_read('$weights', 0, 16384)), 'hex')";

sub fetch_as_fetcher
{
	my ($rc, $out, $err) = $standby->psql('postgres', "\\set VERBOSITY verbose\n$read_sql",
		connstr => $fetcher_conn, extra_params => ['-w']);
	return ($rc, $out, $err);
}

# A pg_hba.conf edit is read by the postmaster after the reload that COMMIT
# asks for: poll (bounded) until the fetch's outcome matches.
sub fetch_until
{
	my ($want) = @_;
	my ($rc, $out, $err);
	for (1 .. 300)
	{
		($rc, $out, $err) = fetch_as_fetcher();
		last if $want->($rc, $out, $err);
		select(undef, undef, undef, 0.1);
	}
	return ($rc, $out, $err);
}

my ($rc, $out, $err) = fetch_as_fetcher();
is($rc, 0, 'the replication role reads a blob from the hot standby over TCP') or diag($err);
is($out, $weights, 'the bytes hash to the blob\'s name');
# Refusals as the replication role, on the standby: a blob the manifest does
# not list, one it lists but this cache does not hold yet, and links planted
# in the cache (never followed). The rows come from the primary with the WAL.
my $outside = PostgreSQL::Test::Utils::tempdir('outside');
open $fh, '>', "$outside/secret" or die $!;
print $fh "secret\n";
close $fh;
my $secret = Digest::SHA::sha256_hex("secret\n");
my $secret2 = Digest::SHA::sha256_hex("secret2\n");
my $absent = 'c' x 64;
my $minilm = "$cache/models--sentence-transformers--all-MiniLM-L6-v2";
symlink("$outside/secret", "$minilm/blobs/$secret") or die "symlink: $!";
mkdir "$outside/blobs";
open $fh, '>', "$outside/blobs/$secret2" or die $!;
print $fh "secret2\n";
close $fh;
symlink($outside, "$cache/models--org--linked") or die "symlink: $!";
$primary->safe_psql('postgres', qq{INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, path, blob, size) VALUES
  ('model', 'sentence-transformers/all-MiniLM-L6-v2', repeat('1', 40), 'absent.bin', '$absent', 10),
  ('model', 'sentence-transformers/all-MiniLM-L6-v2', repeat('1', 40), 'secret.txt', '$secret', 7),
  ('model', 'org/linked', repeat('2', 40), 'secret.txt', '$secret2', 8)});
$primary->wait_for_catchup('standby_063');
my %refusals = (
	'd' x 64 => qr/ERROR:  42704: blob d{64} is not in pgml_repl\.hf_manifest/,
	$absent => qr/ERROR:  58P01: blob c{64} is not in the cache.*HINT:  The blob is not \(yet\) in this server's cache: retry later/s,
	$secret => qr/ERROR:  42501: refusing to read blob $secret through a symbolic link/,
	$secret2 => qr/ERROR:  42501: refusing to read through "models--org--linked"/,
	'../../etc/passwd' => qr/ERROR:  22023: invalid blob name/,
);
for my $blob (sort keys %refusals)
{
	my ($frc, $fout, $ferr) = $standby->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT pgml_repl.hf_blob_read('$blob', 0, 7)",
		connstr => $fetcher_conn, extra_params => ['-w']);
	like($ferr, $refusals{$blob}, "refused on the standby: $blob");
}

# A role that may connect (a line of ours on the standby) and use the schema,
# but was never granted the function: PUBLIC has no EXECUTE.
$primary->safe_psql('postgres',
	"CREATE ROLE plain063 LOGIN PASSWORD '$password'; GRANT USAGE ON SCHEMA pgml_repl TO plain063");
$primary->wait_for_catchup('standby_063');
my ($prc, $pout, $perr) = $standby->psql('postgres', "SELECT changed FROM pgml_repl.allow_blob_fetch('127.0.0.1', 'plain063')");
like($perr, qr/NOTICE:  role "plain063" cannot yet fetch blobs here: privileges come from the primary/,
	'allow_blob_fetch() on a standby says the grant is the primary\'s');
my $plain_conn = 'host=127.0.0.1 port=' . $standby->port . " dbname=postgres user=plain063 password=$password";
for (1 .. 300)
{
	($prc, $pout, $perr) = $standby->psql('postgres', "\\set VERBOSITY verbose\n$read_sql",
		connstr => $plain_conn, extra_params => ['-w']);
	last unless $perr =~ /no pg_hba\.conf entry/;
	select(undef, undef, undef, 0.1);
}
like($perr, qr/ERROR:  42501: permission denied for function hf_blob_read/, 'a role without the grant is denied');

$standby->connect_fails('host=127.0.0.1 port=' . $standby->port . ' dbname=postgres user=postgres',
	'a role without a line of ours cannot connect over TCP',
	expected_stderr => qr/no pg_hba\.conf entry/);

# One reader slot: a transaction that has read holds it until it ends.
my $holder = $standby->background_psql('postgres', on_error_stop => 0);
$holder->query_safe('BEGIN');
$holder->query_safe("SELECT length(pgml_repl.hf_blob_read('$weights', 0, 100))");
($rc, $out, $err) = fetch_as_fetcher();
isnt($rc, 0, 'a second reader is refused while the first transaction is open');
like($err, qr/ERROR:  53300: too many blob readers on this server/, 'with SQLSTATE 53300');
like($err, qr/HINT:  Retry later, or raise pgml_replication\.max_blob_readers on this server\./,
	'and a HINT');
$holder->query_safe('COMMIT');
($rc, $out, $err) = fetch_as_fetcher();
is($out, $weights, 'after COMMIT the slot is free again') or diag($err);

# An ERROR in the holder's transaction releases the slot too.
$holder->query_safe('BEGIN');
$holder->query_safe("SELECT length(pgml_repl.hf_blob_read('$weights', 0, 100))");
($rc, $out, $err) = fetch_as_fetcher();
isnt($rc, 0, 'held again');
$holder->query('SELECT 1/0');
($rc, $out, $err) = fetch_as_fetcher();
is($out, $weights, 'after an ERROR in the holder\'s transaction the slot is free') or diag($err);
$holder->query('ROLLBACK');
$holder->quit;

# disallow_blob_fetch() on the standby: its own pg_hba.conf loses the line
# (privileges come from the primary and stay), so the role cannot connect.
my ($drc, $dout, $derr) = $standby->psql('postgres',
	"SELECT changed FROM pgml_repl.disallow_blob_fetch('127.0.0.1', 'fetcher')");
is($dout, 't', 'disallow_blob_fetch() on the standby removes its line');
like($derr, qr/NOTICE:  role "fetcher" can still fetch blobs here: privileges come from the primary/,
	'and says the privileges are the primary\'s');
($rc, $out, $err) = fetch_until(sub { $_[2] =~ /no pg_hba\.conf entry/ });
like($err, qr/no pg_hba\.conf entry for host "127\.0\.0\.1", user "fetcher", database "postgres"/,
	'without the line the role cannot connect to fetch');
$standby->safe_psql('postgres', "SELECT * FROM pgml_repl.allow_blob_fetch('127.0.0.1', 'fetcher')");
($rc, $out, $err) = fetch_until(sub { $_[0] == 0 });
is($out, $weights, 'allow_blob_fetch() on the standby lets it in again') or diag($err);

done_testing();
