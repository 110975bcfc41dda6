# Gated models stay gated at the Hub, and the token stays on the primary
# (issue 12): a standby with no Hub token, hf_sources = 'hub, upstream'
# (the Hub asked first), gets the public repo from the Hub, is refused the
# gated repo there (401, held by the quarantine), and takes the gated
# repo's files from its upstream in the same cycle. Its queue shows the
# Hub's reason while it waits; its cache ends equal to the primary's.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplHub;
use PgmlReplPrefetch;

my $cache = PostgreSQL::Test::Utils::tempdir('gated_primary') . '/hub';
mkdir $cache;
my $rev = 'c0' x 20;
add_cache_file($cache, 'models--org--public', $rev, 'config.json', qq({"public": true}\n), 0);
my $public = add_cache_file($cache, 'models--org--public', $rev, 'weights.bin', 'p' x 400_000, 1);
my $gated = add_cache_file($cache, 'models--org--gated', $rev, 'weights.bin', 'g' x 400_000, 1);
my $hub = PgmlReplHub->start(cache => $cache, gated => ['org/gated'], token => 'hf_070_secret');

# The primary holds the gated files (it had the token when they were
# fetched); the standby has none.
my ($primary, $standby, $standby_cache) = prefetch_pair(prefix => 'gated', primary_cache => $cache, hub => $hub,
	sources => 'hub, upstream');
$primary->safe_psql('postgres', 'SELECT * FROM pgml_repl.publish_hf_manifest()');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SHOW pgml_replication.hf_token'), '********', 'the standby\'s token setting is masked');
is($standby->safe_psql('postgres', "SELECT current_setting('pgml_replication.hf_sources')"), 'hub, upstream',
	'the standby asks the Hub first');

my $st = wait_prefetch_until($standby, "state || '|' || queued_files", 'idle|0', 180);
is($st, 'idle|0', 'the standby completes');
same_cache($standby_cache, $cache, 'its cache equals the primary\'s, the gated repo included');

my @log = @{ $hub->log };
my @public_gets = grep { $_->{method} eq 'GET' && $_->{path} =~ m{org(/|--)public} } @log;
my @gated_answers = grep { $_->{path} =~ m{org(/|--)gated} } @log;
cmp_ok(scalar(@public_gets), '>=', 1, 'the public repo came from the Hub');
ok(@gated_answers && !(grep { $_->{status} == 200 || $_->{status} == 302 } @gated_answers),
	'the Hub refused every request for the gated repo') or diag(join("\n", map { "$_->{status} $_->{path}" } @gated_answers));
is(scalar(grep { $_->{auth} } @log), 0, 'no request carried a token');
my ($from_upstream, $from_hub) = split /\|/, prefetch_status($standby, "bytes_from_upstream || '|' || bytes_from_hub");
cmp_ok($from_upstream, '>=', 400_000, "the gated file's bytes came from the upstream ($from_upstream)");
cmp_ok($from_hub, '>=', 400_000, "the public file's bytes came from the Hub ($from_hub)");
is(join(',', bad_blobs($standby_cache)), '', 'every blob hashes to its name');

done_testing();
