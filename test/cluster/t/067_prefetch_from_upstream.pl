# The prefetch worker fetches from its upstream server (issue 12): a
# streaming standby whose primary_conninfo names a replication role made by
# create_replication_user() (password in a passfile, a pg_hba.conf with no
# catch-all line) warms its cache from the primary over that connection,
# with the Hub unreachable (a dead port); a cascading standby warms from the
# first. Neither asks the Hub for anything; prefetch_status() counts the
# bytes by source; a warm standby does not log in to its upstream every
# cycle. A blob removed from the primary after publishing is reported in
# prefetch_queue() with the upstream's and the Hub's reasons; once a Hub is
# reachable that blob, and only it, comes from the Hub.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Digest::SHA;
use Time::HiRes qw(time sleep);
use PgmlReplHub;
use PgmlReplPrefetch;
use PgmlReplTest;

my $fixtures = fixture_cache();
my $primary_cache = "$fixtures/hub";
my $dead_hub = 'http://127.0.0.1:' . PostgreSQL::Test::Cluster::get_free_port();
my $password = 'pw-067-replicator';
my $common = "shared_preload_libraries = 'pgml_replication'\n"
  . "pgml_replication.naptime = 1\npgml_replication.min_free_disk = 0\n"
  . "listen_addresses = '127.0.0.1'\nlog_connections = on\n"
  . "pgml_replication.hf_endpoint = '$dead_hub'\n";

# The primary publishes by hand (its worker is off), so a blob can go
# missing between publishing and fetching.
my $primary = PostgreSQL::Test::Cluster->new('primary_067');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf',
	$common . "pgml_replication.prefetch = off\npgml_replication.hf_cache_dir = '$primary_cache'\n");
local_only_hba($primary);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION pgml_replication');
$primary->safe_psql('postgres',
	"SELECT * FROM pgml_repl.create_replication_user('replicator', '$password', '127.0.0.1')");
$primary->reload;
is($primary->safe_psql('postgres', 'SELECT added FROM pgml_repl.publish_hf_manifest()'), '9',
	'the primary publishes the nine files of its cache');
my $pgpass = write_pgpass(PostgreSQL::Test::Utils::tempdir('pgpass'), '127.0.0.1', '*', 'replicator', $password);

# A standby of $upstream over TCP as the replication role, with an empty cache.
sub standby_of
{
	my ($upstream, $name) = @_;
	$upstream->backup("${name}_base");
	my $cache = PostgreSQL::Test::Utils::tempdir("${name}_hf") . '/hub';
	mkdir $cache;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init_from_backup($upstream, "${name}_base", has_streaming => 1);
	$node->append_conf('postgresql.conf',
		$common . "pgml_replication.prefetch = on\npgml_replication.hf_cache_dir = '$cache'\n"
		  . "primary_conninfo = 'host=127.0.0.1 port=" . $upstream->port
		  . " user=replicator passfile=$pgpass application_name=$name'\n");
	$node->start;
	return ($node, $cache);
}

# The trees/<commit>.json files and .no_exist markers of a cache, with
# their content: what huggingface_hub wrote besides blobs, snapshots and refs.
sub extras_listing
{
	my ($root) = @_;
	my @lines;
	for my $f (sort(glob("$root/*/trees/*.json")), sort(split /\n/, `find '$root' -path '*/.no_exist/*' -type f`))
	{
		open my $fh, '<:raw', $f or die "$f: $!";
		local $/;
		my $content = <$fh> // '';
		push @lines, substr($f, length($root) + 1) . ' ' . length($content) . ' ' . Digest::SHA::sha256_hex($content);
	}
	return join("\n", @lines);
}

sub authorized
{
	my ($node, $offset) = @_;
	my $log = slurp_file($node->logfile, $offset);
	return scalar(() = $log =~ /connection authorized: user=replicator database=postgres application_name=pgml_replication prefetch/g);
}

# --- a streaming standby warms from its primary ---------------------------
my $offset = -s $primary->logfile;
my ($standby1, $cache1) = standby_of($primary, 'standby1_067');
$primary->wait_for_catchup($standby1);
my $st = wait_prefetch_complete($standby1, "state || '|' || files_failed || '|' || queued_files || '|' || coalesce(last_error, '')", 120);
is($st, 'idle|0|0|', 'the standby\'s worker completes with nothing failed or queued and no error');
same_cache($cache1, $primary_cache, 'its cache equals the primary\'s');
is(join(',', bad_blobs($cache1)), '', 'every blob hashes to its name');
my $primary_extras = extras_listing($primary_cache);
like($primary_extras, qr{/trees/[0-9a-f]{40}\.json .*\n.*\.no_exist/}s, 'the primary\'s cache has a tree file and a .no_exist marker');
is(extras_listing($cache1), $primary_extras, 'the standby copied its trees and .no_exist markers, byte for byte');
my ($from_upstream, $from_hub) = split /\|/, prefetch_status($standby1, "bytes_from_upstream || '|' || bytes_from_hub");
is($from_hub, '0', 'no byte came from the Hub');
my $blob_bytes = 0;
$blob_bytes += -s $_ for glob("$primary_cache/*/blobs/*");
cmp_ok($from_upstream, '>=', $blob_bytes, "every blob's bytes came from the upstream ($from_upstream >= $blob_bytes)");
cmp_ok(authorized($primary, $offset), '>=', 1,
	'the worker logged in to the primary as the replication role, to the extension\'s database');

# A warm standby's cycles ask the upstream nothing.
$offset = -s $primary->logfile;
wait_prefetch_complete($standby1, 'cycles');
wait_prefetch_complete($standby1, 'cycles');
is(authorized($primary, $offset), 0, 'two cycles over a warm cache open no connection to the upstream');

# --- a cascading standby warms from the first ------------------------------
$offset = -s $standby1->logfile;
my ($standby2, $cache2) = standby_of($standby1, 'standby2_067');
$standby1->wait_for_catchup($standby2, 'replay', $primary->lsn('insert'));
$st = wait_prefetch_complete($standby2, "state || '|' || files_failed || '|' || queued_files", 120);
is($st, 'idle|0|0', 'the cascading standby completes');
same_cache($cache2, $primary_cache, 'its cache equals the primary\'s too');
is(extras_listing($cache2), $primary_extras, 'trees and markers included, served by the standby above');
is(prefetch_status($standby2, 'bytes_from_hub'), '0', 'nothing from the Hub');
cmp_ok(authorized($standby1, $offset), '>=', 1, 'it fetched from the first standby, which serves its own cache');

# --- a blob removed from the primary after publishing ---------------------
my $rev = 'e' x 40;
my $gone_content = join('', map { chr(65 + $_ % 26) } 1 .. 200_000);
my $gone = add_cache_file($primary_cache, 'models--org--gone', $rev, 'weights.bin', $gone_content, 1);
is($primary->safe_psql('postgres', 'SELECT added FROM pgml_repl.publish_hf_manifest()'), '1', 'a new file is published');
unlink "$primary_cache/models--org--gone/blobs/$gone" or die $!;
$primary->wait_for_catchup($standby1);

my $row = '';
my $deadline = time() + 180;
while (time() < $deadline)
{
	$row = $standby1->safe_psql('postgres',
		"SELECT status || '|' || source || '|' || last_error FROM pgml_repl.prefetch_queue() WHERE blob = '$gone'");
	last if $row =~ /^failed\|hub\|/;
	sleep 0.5;
}
like($row, qr/^failed\|hub\|/, 'the missing blob fails, the Hub being the last source asked') or diag($row);
like($row, qr/127\.0\.0\.1:\d+/, 'the reason names where it was asked');
like($row, qr/upstream 127\.0\.0\.1:\d+: blob $gone is not \(yet\) in its cache/,
	'and keeps the upstream\'s reason: the primary does not hold it');
like(prefetch_status($standby1, 'state'), qr/^(error|scanning|connecting|downloading)$/,
	'the standby is not reported complete');

# A Hub that holds the file becomes reachable: that blob, and only it, comes from there.
my $hub_cache = PostgreSQL::Test::Utils::tempdir('hub_067') . '/hub';
mkdir $hub_cache;
add_cache_file($hub_cache, 'models--org--gone', $rev, 'weights.bin', $gone_content, 1);
my $hub = PgmlReplHub->start(cache => $hub_cache);
$standby1->append_conf('postgresql.conf', "pgml_replication.hf_endpoint = '" . $hub->url . "'\n");
$standby1->reload;
$st = wait_prefetch_until($standby1, "state || '|' || queued_files", 'idle|0', 180);
is($st, 'idle|0', 'the standby completes once the Hub answers');
ok(-f "$cache1/models--org--gone/blobs/$gone", 'the blob is installed');
is(join(',', bad_blobs($cache1)), '', 'and hashes to its name');
my @gets = grep { $_->{method} eq 'GET' } @{ $hub->log };
my @other = grep { $_->{path} !~ m{org(/|--)gone} } @gets;
cmp_ok(scalar(@gets), '>=', 1, 'the Hub was asked');
is(scalar(@other), 0, 'only for that file') or diag(join("\n", map { $_->{path} } @other));
cmp_ok(prefetch_status($standby1, 'bytes_from_hub'), '>=', length($gone_content), 'prefetch_status() counts its bytes from the Hub');

$hub->stop;
done_testing();
