# Helpers for the prefetch tests: nodes, cache comparison, bounded waits.
package PgmlReplPrefetch;

use strict;
use warnings;

use Digest::SHA;
use Exporter 'import';
use File::Find;
use File::Path ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

our @EXPORT = qw(fixture_cache prefetch_pair cache_listing same_cache wait_prefetch_complete
  prefetch_status add_cache_file add_sparse_file bad_blobs read_ref wait_standby_idle partial_files
  wait_prefetch_until cli_manifest_rows wait_tcp_login write_file fetch_cli);

# Builds the fixture caches (test/fixtures/build_hf_cache.py) in a temp folder;
# returns that folder (the healthy cache is <folder>/hub).
sub fixture_cache
{
	my $top = $ENV{PGML_REPL_TOP} or die "PGML_REPL_TOP is not set";
	my $dir = PostgreSQL::Test::Utils::tempdir('hf');
	system('python3', "$top/test/fixtures/build_hf_cache.py", $dir) == 0
	  or die "building the fixture cache failed";
	chmod 0755, "$dir/unreadable-hub";
	return $dir;
}

# A preloaded primary over $primary_cache and a streaming standby over an
# empty cache folder, fetching from $hub. Returns ($primary, $standby, $standby_cache).
# The standby's pgml_replication.hf_sources is 'hub' unless sources => says
# otherwise: these tests are about the Hub path, and the primary, which holds
# the cache, would otherwise serve it (067 and 068 test the upstream).
# standby_conf => lines for the standby alone before its first start, e.g.
# "pgml_replication.prefetch = off\n" when a test times a fetch it starts
# itself: set after the start, the first cycle may already have fetched.
use PgmlReplHub;

sub prefetch_pair
{
	my (%o) = @_;
	my $prefix = $o{prefix} // 'pf';
	my $common = "shared_preload_libraries = 'pgml_replication'\n"
	  . "pgml_replication.naptime = " . ($o{naptime} // 1) . "\n"
	  . "pgml_replication.min_free_disk = 0\n"
	  . "pgml_replication.hf_sources = '" . ($o{sources} // 'hub') . "'\n"
	  . ($o{conf} // '');
	my $primary = PostgreSQL::Test::Cluster->new("${prefix}_primary");
	$primary->init(allows_streaming => 1);
	$primary->append_conf('postgresql.conf',
		$common . "pgml_replication.hf_cache_dir = '$o{primary_cache}'\n"
		  . "pgml_replication.hf_endpoint = '" . $o{hub}->url . "'\n");
	$primary->start;
	$primary->safe_psql('postgres', 'CREATE EXTENSION pgml_replication');
	$primary->backup("${prefix}_base");

	my $standby_cache = $o{standby_cache} // PostgreSQL::Test::Utils::tempdir('standby_hf') . '/hub';
	mkdir $standby_cache;
	my $standby = PostgreSQL::Test::Cluster->new("${prefix}_standby");
	$standby->init_from_backup($primary, "${prefix}_base", has_streaming => 1);
	$standby->append_conf('postgresql.conf',
		"pgml_replication.hf_cache_dir = '$standby_cache'\n" . ($o{standby_conf} // ''));
	$standby->start;
	return ($primary, $standby, $standby_cache);
}

# "type path [target|sha256]" lines for the parts of a cache a replica
# reproduces (each repo's blobs/, snapshots/, refs/), sorted.
sub cache_listing
{
	my ($root) = @_;
	my @lines;
	find(
		{
			no_chdir => 1,
			wanted => sub {
				return if length($File::Find::name) <= length($root);
				my $rel = substr($File::Find::name, length($root) + 1);
				return if $rel !~ m{^[^/]+--[^/]+/(blobs|snapshots|refs)(/|$)};
				if (-l $File::Find::name) { push @lines, "l $rel -> " . readlink($File::Find::name); }
				elsif (-d _) { push @lines, "d $rel"; }
				else
				{
					my $sha = Digest::SHA->new(256);
					$sha->addfile($File::Find::name);
					push @lines, "f $rel " . $sha->hexdigest;
				}
			}
		},
		$root);
	return join("\n", sort @lines) . "\n";
}

# ok() when both caches list the same; on a difference, diag() only the lines that differ.
sub same_cache
{
	my ($got_root, $want_root, $name) = @_;
	my ($got, $want) = (cache_listing($got_root), cache_listing($want_root));
	my %g = map { $_ => 1 } split /\n/, $got;
	my %w = map { $_ => 1 } split /\n/, $want;
	my @missing = grep { !$g{$_} } sort keys %w;
	my @extra = grep { !$w{$_} } sort keys %g;
	ok($got eq $want, $name) or diag(join("\n", (map {"missing: $_"} @missing), (map {"extra: $_"} @extra)));
	return $got eq $want;
}

# test/tools/hf_fetch_cli as test/run builds it (PGML_REPL_FETCH_CLI). Without
# it the test fails, never skips: one failed assertion, then it ends (not a
# BAIL_OUT, which would stop the other tests).
sub fetch_cli
{
	my $cli = $ENV{PGML_REPL_FETCH_CLI} // '';
	return $cli if ok($cli ne '' && -x $cli, "hf_fetch_cli is built ($cli)");
	diag('PGML_REPL_FETCH_CLI does not name an executable hf_fetch_cli: run this test through test/run');
	done_testing();
	exit 1;
}

# Writes $content to $path, raw bytes, no newline added.
sub write_file
{
	my ($path, $content) = @_;
	open my $fh, '>:raw', $path or die "$path: $!";
	print $fh $content;
	close $fh or die "$path: $!";
}

sub read_ref
{
	open my $fh, '<', $_[0] or die "$_[0]: $!";
	local $/;
	return scalar <$fh>;
}

# Adds one file to a cache the way huggingface_hub lays it out: the blob
# named by its checksum (sha256 when $lfs, else git's blob sha1), a relative
# snapshot link, refs/main. Returns the blob name.
sub add_cache_file
{
	my ($root, $folder, $rev, $path, $content, $lfs) = @_;
	my $blob = $lfs ? Digest::SHA::sha256_hex($content)
	  : Digest::SHA::sha1_hex('blob ' . length($content) . "\0" . $content);
	my $repo = "$root/$folder";
	my $dir = "$repo/snapshots/$rev/$path";
	$dir =~ s{/[^/]+$}{};
	File::Path::make_path("$repo/blobs", "$repo/refs", $dir);
	open my $fh, '>:raw', "$repo/blobs/$blob" or die $!;
	print $fh $content;
	close $fh;
	my $up = '../../' . ('../' x (() = $path =~ m{/}g));
	symlink("${up}blobs/$blob", "$repo/snapshots/$rev/$path") or die "symlink: $!";
	open $fh, '>', "$repo/refs/main" or die $!;
	print $fh $rev;
	close $fh;
	return $blob;
}

# Adds a large file of zeros (sparse on disk) as an LFS blob; distinct sizes
# give distinct blobs. Returns the blob name.
sub add_sparse_file
{
	my ($root, $folder, $rev, $path, $size) = @_;
	my $repo = "$root/$folder";
	File::Path::make_path("$repo/blobs", "$repo/refs", "$repo/snapshots/$rev");
	system('truncate', '-s', $size, "$repo/blobs/tmp") == 0 or die 'truncate failed';
	my ($blob) = split / /, `sha256sum '$repo/blobs/tmp'`;
	rename "$repo/blobs/tmp", "$repo/blobs/$blob" or die $!;
	symlink("../../blobs/$blob", "$repo/snapshots/$rev/$path") or die "symlink: $!";
	open my $fh, '>', "$repo/refs/main" or die $!;
	print $fh $rev;
	close $fh;
	return $blob;
}

# Wakes the worker and waits (bounded) until a cycle that started after the
# call has finished with nothing queued or failed; true on success.
sub wait_standby_idle
{
	my ($node) = @_;
	my $before = prefetch_status($node, 'cycles');
	$node->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
	my $ok = $node->poll_query_until('postgres',
		"SELECT cycles > $before AND state = 'idle' AND queued_files = 0 AND files_failed = 0 "
		  . "AND last_cycle_finished_at >= last_cycle_started_at FROM pgml_repl.prefetch_status()");
	diag('prefetch_status: ' . prefetch_status($node, '*')) unless $ok;
	return $ok;
}

# Every *.incomplete / *.tmp file under $root, relative to it.
sub partial_files
{
	my ($root) = @_;
	my @found;
	find({ no_chdir => 1, wanted => sub { push @found, substr($File::Find::name, length($root) + 1) if /\.(incomplete|tmp)$/ } }, $root);
	return sort @found;
}

# Blobs under $root whose content does not match their name.
sub bad_blobs
{
	my ($root) = @_;
	my @bad;
	for my $f (glob("$root/*/blobs/*"))
	{
		my ($name) = $f =~ m{/([^/]+)$};
		next if $name =~ /incomplete$/;
		my $d = length($name) == 64 ? Digest::SHA->new(256) : Digest::SHA->new(1)->add('blob ' . (-s $f) . "\0");
		$d->addfile($f, 'b');
		my $sum = $d->hexdigest;
		push @bad, $f if $sum ne $name;
	}
	return @bad;
}

sub prefetch_status
{
	my ($node, $cols) = @_;
	return $node->safe_psql('postgres', "SELECT $cols FROM pgml_repl.prefetch_status()");
}

# Wakes the node's worker and waits (bounded) until a cycle that started after
# the wake-up has finished. Returns the status columns asked for.
sub wait_prefetch_complete
{
	my ($node, $cols, $timeout) = @_;
	$timeout //= 60;
	my $before = prefetch_status($node, 'cycles');
	$node->safe_psql('postgres', 'SELECT pgml_repl.prefetch_now()');
	my $deadline = time() + $timeout;
	while (time() < $deadline)
	{
		my $done = prefetch_status($node,
			"cycles > $before + 1 OR (cycles > $before AND last_cycle_finished_at >= last_cycle_started_at)");
		return prefetch_status($node, $cols) if $done eq 't';
		sleep 0.1;
	}
	diag('prefetch_status: ' . prefetch_status($node, '*'));
	return undef;
}

# Runs wait_prefetch_complete cycles until $cols reads $want, at most
# $timeout seconds in all (a cycle may end before the source above has the
# files). Returns the last value read ('' when none).
sub wait_prefetch_until
{
	my ($node, $cols, $want, $timeout) = @_;
	my $deadline = time() + ($timeout // 180);
	my $got = '';
	while (time() < $deadline)
	{
		$got = wait_prefetch_complete($node, $cols, 60) // '';
		last if $got eq $want;
	}
	return $got;
}

# The node's manifest as test/tools/hf_fetch_cli reads it on stdin: one
# tab-separated line per ref, "-" for none.
sub cli_manifest_rows
{
	my ($node) = @_;
	my $rows = $node->safe_psql('postgres', q{
		SELECT concat_ws(E'\t', repo_type, repo_id, revision, coalesce(r, '-'), path, blob, size)
		FROM pgml_repl.hf_manifest LEFT JOIN LATERAL unnest(refs) r ON true ORDER BY repo_id, path});
	return grep { length } split /\n/, $rows;
}

# The postmaster reads pg_hba.conf after the reload a COMMIT asked for: waits
# (bounded, 30 s) until $connstr may log in; ok() names $role.
sub wait_tcp_login
{
	my ($node, $connstr, $role) = @_;
	my $in = 0;
	for (1 .. 300)
	{
		my ($prc) = $node->psql('postgres', 'SELECT 1', connstr => $connstr, extra_params => ['-w']);
		$in = $prc == 0 and last;
		sleep 0.1;
	}
	return ok($in, "$role may log in over TCP");
}

1;
