# Faults between the standby and the Hub: each ends with a correct cache or a
# reported error, never with a wrong file under its final name.
#   drop after N bytes -> resumed with Range; 500 twice / 429 once -> retried;
#   wrong bytes -> refused, reported and held back, right after a restart;
#   stall -> waits; gated repo -> 401 reported and held until
#   pgml_replication.hf_token is set (another token releases it), and the
#   token never reaches the CDN.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use PgmlReplHub;
use PgmlReplPrefetch;

my $cache = PostgreSQL::Test::Utils::tempdir('primary_hf') . '/hub';
mkdir $cache;
my $rev = '1' x 40;
my $hub = PgmlReplHub->start(cache => $cache, gated => ['org/gated'], token => 'hf_tap_secret');
my ($primary, $standby, $standby_cache) = prefetch_pair(primary_cache => $cache, hub => $hub, prefix => 'pff');

my $n = 0;
# Adds a 1 MiB LFS file to a new repo on the primary, sets the fault, publishes
# and lets the standby run one complete cycle. Returns (folder, blob).
sub scenario
{
	my ($fault, $repo) = @_;
	$n++;
	$repo //= "org/fault-$n";
	(my $folder = "models--$repo") =~ s{/}{--}g;
	my $content = join('', map { chr(($_ * 7 + $n) % 256) } 1 .. 4096) x 256;
	my $blob = add_cache_file($cache, $folder, $rev, 'weights.bin', $content, 1);
	$hub->reset;
	# Body faults act on the CDN (path /cdn/<folder>/<blob>), status faults on the Hub.
	my $match = ($fault && $fault->{kind} ne 'status') ? "/cdn/$folder/" : "/$repo/";
	$hub->faults([ { match => $match, %$fault } ]) if $fault;
	wait_prefetch_complete($primary, 'state') // die 'the primary did not publish';
	$primary->wait_for_catchup($standby);
	wait_prefetch_complete($standby, 'state') // die 'the standby did not finish a cycle';
	return ($folder, $blob);
}

sub present { -f "$standby_cache/$_[0]/blobs/$_[1]" && -l "$standby_cache/$_[0]/snapshots/$rev/weights.bin" }

# --- connection dropped after 300,000 bytes -------------------------------
my ($f, $b) = scenario({ kind => 'drop_after', n => 300000, times => 1 });
ok(present($f, $b), 'a dropped connection: the file arrives');
ok((grep { ($_->{range} // '') =~ /^bytes=[1-9]\d*-$/ } @{ $hub->log }), 'and the retry resumed with a Range request');

# --- 500 twice, then 429 with Retry-After ---------------------------------
($f, $b) = scenario({ kind => 'status', code => 500, times => 2 });
ok(present($f, $b), '500 twice: the file arrives after retries');
($f, $b) = scenario({ kind => 'status', code => 429, retry_after => 1, times => 1 });
ok(present($f, $b), '429 with Retry-After: the file arrives');

# --- wrong bytes: refused, reported, then right ---------------------------
($f, $b) = scenario({ kind => 'wrong_bytes' });
ok(!-e "$standby_cache/$f/blobs/$b", 'wrong bytes: no blob under its name');
is(join(',', bad_blobs($standby_cache)), '', 'no wrong file anywhere');
like($standby->safe_psql('postgres', q{SELECT state || ' ' || last_error FROM pgml_repl.prefetch_status()}),
	qr/^error .*fault-$n.*weights\.bin/, 'the failure is reported in prefetch_status()');
like($standby->safe_psql('postgres', 'SELECT status || \' \' || last_error FROM pgml_repl.prefetch_queue()'),
	qr/^held checksum mismatch/, 'and in prefetch_queue(): held back, not downloaded again every cycle');
# The quarantine lives in the worker (062 tests it); a restart forgets it.
$hub->reset;
$standby->restart;
ok($standby->poll_query_until('postgres', "SELECT queued_files = 0 AND state = 'idle' FROM pgml_repl.prefetch_status()"),
	'once the Hub sends the right bytes, a new worker succeeds');
ok(present($f, $b), 'and the right file is in place');

# --- a 3 s stall mid-body -------------------------------------------------
($f, $b) = scenario({ kind => 'stall', seconds => 3, times => 1 });
ok(present($f, $b), 'a stalled transfer completes');

# --- a gated repo ---------------------------------------------------------
($f, $b) = scenario(undef, 'org/gated');
ok(!present($f, $b), 'gated repo without a token: nothing written');
like($standby->safe_psql('postgres', q{SELECT string_agg(path || ': ' || last_error, ',') FROM pgml_repl.prefetch_queue()}),
	qr/weights\.bin: .*401/, 'prefetch_queue() shows the 401');
is($standby->safe_psql('postgres', q{SELECT state, files_failed > 0 FROM pgml_repl.prefetch_status()}),
	'error|t', 'prefetch_status() reports the error');
$hub->reset;
$standby->safe_psql('postgres', q{ALTER SYSTEM SET pgml_replication.hf_token = 'hf_tap_secret'});
$standby->reload;
ok($standby->poll_query_until('postgres', "SELECT queued_files = 0 AND state = 'idle' FROM pgml_repl.prefetch_status()"),
	'with the token set on the standby the cycle completes');
ok(present($f, $b), 'the gated file arrives');
my @log = @{ $hub->log };
ok((grep { $_->{listener} eq 'hub' && $_->{auth} } @log), 'the Hub got the token');
ok((grep { $_->{listener} eq 'cdn' } @log), 'the gated file came through the CDN');
is(scalar(grep { $_->{auth} } grep { $_->{listener} eq 'cdn' } @log), 0, 'the CDN never got the token');
is($standby->safe_psql('postgres', 'SHOW pgml_replication.hf_token'), '********', 'SHOW prints the mask');
# The test framework logs every statement, our ALTER SYSTEM included; the
# server's own messages (reload, errors) must not carry the token.
my @leaks = grep { /hf_tap_secret/ && !/LOG:  statement: / } split /\n/, slurp_file($standby->logfile);
is(join("\n", @leaks), '', 'the token is not in the server\'s own log messages');

is(join(',', bad_blobs($standby_cache)), '', 'every blob on the standby matches its name');
same_cache($standby_cache, $cache, 'the standby\'s cache equals the primary\'s');

$hub->stop;
done_testing();
