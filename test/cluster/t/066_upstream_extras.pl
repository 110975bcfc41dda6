# The replica side's copy of the cache extras (issue 12, "the whole cache as
# the client sees it"), driven through test/tools/hf_fetch_cli --upstream
# --extras: a primary whose cache holds trees/<commit>.json files and
# .no_exist markers (huggingface_hub >= 1.22 writes both) publishes its
# manifest and serves pgml_repl.hf_cache_extras() to a role that
# create_replication_user() allowed (no catch-all pg_hba.conf line). After
# the fetch, the replica's cache holds the same trees (byte for byte) and
# markers; a second run changes nothing; a tree planted as a link on the
# primary is not served; a role without EXECUTE on hf_cache_extras fails,
# naming the upstream and allow_blob_fetch(), never the password.
# Needs PGML_REPL_FETCH_CLI (test/run builds it): fails, never skips, without it.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Find;
use File::Path ();
use Digest::SHA;
use PgmlReplPrefetch;
use PgmlReplTest;
use IPC::Run ();

my $cli = fetch_cli();

my $password = 'pw-066-fetcher';
my $cache = PostgreSQL::Test::Utils::tempdir('primary_hf') . '/hub';
mkdir $cache;
my ($rev1, $rev2, $drev) = ('1' x 40, '2' x 40, '3' x 40);
add_cache_file($cache, 'models--org--extras', $rev1, 'config.json', qq({"model": "extras"}\n), 0);
add_cache_file($cache, 'models--org--extras', $rev2, 'config.json', qq({"model": "extras", "v": 2}\n), 0);
add_cache_file($cache, 'datasets--org--data', $drev, 'train.csv', "a,b\n1,2\n", 0);

sub put
{
	my ($path, $content) = @_;
	(my $dir = $path) =~ s{/[^/]+$}{};
	File::Path::make_path($dir);
	open my $fh, '>:raw', $path or die "$path: $!";
	print $fh $content;
	close $fh;
}
my $m = "$cache/models--org--extras";
put("$m/trees/$rev1.json", qq([{"path": "config.json", "size": 21, "oid": "x"}]\n));
put("$m/trees/$rev2.json", '[' . join(',', map {qq({"path": "f$_.bin"})} 1 .. 5000) . "]\n");
put("$m/.no_exist/$rev1/tokenizer.json", '');
put("$m/.no_exist/$rev1/1_Pooling/config.json", '');
put("$m/.no_exist/$rev2/sub/dir/adapter_config.json", '');
put("$cache/datasets--org--data/.no_exist/$drev/README.md", '');
# Not served: a tree that is a link to a file outside the cache.
my $outside = PostgreSQL::Test::Utils::tempdir('outside');
put("$outside/secret.json", 'secret');
symlink("$outside/secret.json", "$m/trees/" . ('4' x 40) . '.json') or die "symlink: $!";

my $primary = PostgreSQL::Test::Cluster->new('primary_066');
$primary->init;
$primary->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'\npgml_replication.hf_cache_dir = '$cache'\n");
local_only_hba($primary);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION pgml_replication');
is($primary->safe_psql('postgres', 'SELECT added FROM pgml_repl.publish_hf_manifest()'), 3,
	'the primary publishes its three files');
$primary->safe_psql('postgres',
	"SELECT * FROM pgml_repl.create_replication_user('fetcher', '$password', '127.0.0.1')");
$primary->safe_psql('postgres', "CREATE ROLE plain066 LOGIN PASSWORD '$password'");
$primary->safe_psql('postgres', "SELECT * FROM pgml_repl.allow_blob_fetch('127.0.0.1', 'plain066')");
$primary->safe_psql('postgres', 'REVOKE EXECUTE ON FUNCTION pgml_repl.hf_cache_extras() FROM plain066');
$primary->reload;

sub conninfo { "host=127.0.0.1 port=" . $primary->port . " user=$_[0] password=$password dbname=postgres" }

wait_tcp_login($primary, conninfo($_), $_) for ('fetcher', 'plain066');

my ($stdout, $stderr) = ('', '');
$primary->psql('postgres', 'SELECT count(*) FROM pgml_repl.hf_cache_extras()', stdout => \$stdout, stderr => \$stderr);
is($stdout, 6, 'the primary serves two trees and four markers (the linked tree is left out)');
like($stderr, qr/WARNING:  hf_cache_extras: models--org--extras: skipped 1 tree, e\.g\. "trees\/4{40}\.json", which is a link or not a regular file/,
	'with a WARNING naming the linked tree');

my @rows = cli_manifest_rows($primary);

sub fetch
{
	my ($dest, $user) = @_;
	my ($in, $out, $err) = (join("\n", @rows) . "\n", '', '');
	IPC::Run::run([ $cli, '--cache', $dest, '--upstream', conninfo($user), '--extras', '--quiet' ],
		\$in, \$out, \$err, IPC::Run::timeout(120));
	return ($? >> 8, $out, $err);
}

# "f rel sha256" for every tree file and marker under a cache, sorted.
sub extras_listing
{
	my ($root) = @_;
	my @lines;
	find({ no_chdir => 1, wanted => sub {
		return if length($File::Find::name) <= length($root);
		my $rel = substr($File::Find::name, length($root) + 1);
		return unless $rel =~ m{^[^/]+--[^/]+/(trees|\.no_exist)/.+};
		if (-l $File::Find::name) { push @lines, "l $rel"; return; }
		return if -d _;
		push @lines, "f $rel " . Digest::SHA->new(256)->addfile($File::Find::name)->hexdigest;
	} }, $root);
	return join("\n", sort @lines) . "\n";
}

my $dest = PostgreSQL::Test::Utils::tempdir('replica_hf') . '/hub';
mkdir $dest;
my ($rc, $out, $err) = fetch($dest, 'fetcher');
is($rc, 0, 'the CLI fetches the blobs and the extras from the upstream') or diag($err);
like($out, qr/files_done=3 files_failed=0/, 'three blobs fetched');
like($out, qr/extras: trees_written=2 markers_written=4 unchanged=0 refused=0/, 'two trees and four markers written');
unlike($err, qr/\Q$password\E/, 'the password is never printed');
(my $want = extras_listing($cache)) =~ s/^l [^\n]*\n//mg;  # the linked tree is not served
is(extras_listing($dest), $want, 'the replica\'s trees and markers equal the primary\'s');
ok(-f "$dest/models--org--extras/.no_exist/$rev2/sub/dir/adapter_config.json" &&
	-z _, 'a nested marker is an empty file');
ok(!-e "$dest/models--org--extras/trees/" . ('4' x 40) . '.json', 'the linked tree is not copied');
same_cache($dest, $cache, 'and the blobs, snapshots and refs equal the primary\'s');

($rc, $out, $err) = fetch($dest, 'fetcher');
is($rc, 0, 'a second run succeeds') or diag($err);
like($out, qr/extras: trees_written=0 markers_written=0 unchanged=6 refused=0/, 'and changes nothing');

# A tree that changed on the primary is replaced.
put("$m/trees/$rev1.json", qq([{"path": "config.json", "size": 21, "oid": "y"}]\n));
($rc, $out, $err) = fetch($dest, 'fetcher');
like($out, qr/extras: trees_written=1 markers_written=0 unchanged=5 refused=0/, 'a changed tree is written again')
  or diag($err);
($want = extras_listing($cache)) =~ s/^l [^\n]*\n//mg;
is(extras_listing($dest), $want, 'and the caches are equal again');

# A role with the line, USAGE and hf_blob_read but no EXECUTE on hf_cache_extras.
my $other = PostgreSQL::Test::Utils::tempdir('plain_hf') . '/hub';
mkdir $other;
($rc, $out, $err) = fetch($other, 'plain066');
is($rc, 1, 'a role without the grant fails');
like($err, qr/upstream 127\.0\.0\.1:\d+: not allowed to read the cache extras: permission denied for function hf_cache_extras.*allow_blob_fetch/s,
	'naming the upstream, the refusal and allow_blob_fetch()') or diag($err);
unlike($err, qr/\Q$password\E/, 'without printing the password');
is(extras_listing($other), "\n", 'and writes no extras');

done_testing();
