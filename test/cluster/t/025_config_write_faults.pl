# Server configuration files are written at COMMIT through a temp file,
# fsync and rename. When that write cannot happen (a read-only folder, a full
# file system) the COMMIT fails with an error naming the file and the cause,
# the file in use stays byte-identical, no temp file is left, and the same
# call succeeds once the cause is gone. Covers postgresql.auto.conf
# (configure_primary) and pg_hba.conf (allow_replica); the full file system
# needs the small tmpfs test/run mounts as root (PGML_REPL_SMALL_FS).
use strict;
use warnings;
use File::Copy qw(copy);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('conf_faults');
$node->init;
my $hba_dir = PostgreSQL::Test::Utils::tempdir('hba');
copy($node->data_dir . '/pg_hba.conf', "$hba_dir/pg_hba.conf") or die "copy: $!";
$node->append_conf('postgresql.conf', "hba_file = '$hba_dir/pg_hba.conf'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgml_replication');
$node->safe_psql('postgres', "ALTER SYSTEM SET work_mem = '5MB'");    # an auto.conf with content

# Runs sql as one transaction; returns psql's stderr (empty when it committed).
sub commit_error
{
	my ($sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', "SET client_min_messages = warning; BEGIN; $sql; COMMIT;");
	return $err;
}

sub leftovers
{
	my ($dir, $re) = @_;
	opendir my $dh, $dir or die "$dir: $!";
	my @found = grep { /$re/ } readdir $dh;
	closedir $dh;
	return join(',', sort @found);
}

my $configure = q{SELECT count(*) FROM pgml_repl.configure_primary(archive_command => 'test -d /nowhere')};
my $allow = q{SELECT count(*) FROM pgml_repl.allow_replica('10.9.8.7/32')};

# --- postgresql.auto.conf in a read-only data directory ---------------------
my $auto = $node->data_dir . '/postgresql.auto.conf';
my $auto_before = slurp_file($auto);
chmod 0500, $node->data_dir or die "chmod: $!";
my $err = commit_error($configure);
chmod 0700, $node->data_dir or die "chmod: $!";
like($err, qr/ERROR:  could not open file "postgresql\.auto\.conf\.tmp": Permission denied/,
	'configure_primary: COMMIT fails, naming the temp file and the cause');
like($err, qr/HINT:  .*unchanged/, 'and says the file in use is unchanged');
is(slurp_file($auto), $auto_before, 'postgresql.auto.conf is byte-identical');
is(leftovers($node->data_dir, qr/^postgresql\.auto\.conf\./), '', 'no temp file is left');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_file_settings WHERE name = 'archive_command'"), '0',
	'nothing of the call reached the configuration');
is(commit_error($configure), '', 'with the folder writable again the same call commits');
like(slurp_file($auto), qr/archive_command = 'test -d \/nowhere'/, 'and writes the file');

# --- pg_hba.conf in a read-only folder --------------------------------------
my $hba = "$hba_dir/pg_hba.conf";
my $hba_before = slurp_file($hba);
chmod 0500, $hba_dir or die "chmod: $!";
$err = commit_error($allow);
chmod 0700, $hba_dir or die "chmod: $!";
like($err, qr/ERROR:  could not create file ".*pg_hba\.conf\.pgml_repl\.tmp": Permission denied/,
	'allow_replica: COMMIT fails in a read-only folder, naming the temp file and the cause');
is(slurp_file($hba), $hba_before, 'pg_hba.conf is byte-identical');
is(leftovers($hba_dir, qr/pgml_repl\.tmp/), '', 'no temp file is left');

# --- pg_hba.conf on a full file system --------------------------------------
SKIP:
{
	my $small = $ENV{PGML_REPL_SMALL_FS};
	skip 'PGML_REPL_SMALL_FS is not set (test/run mounts it only as root)', 6 unless $small && -d $small && -w $small;
	my $full_dir = "$small/hba_fault";
	mkdir $full_dir or die "mkdir: $!";
	copy($hba, "$full_dir/pg_hba.conf") or die "copy: $!";
	$node->append_conf('postgresql.conf', "hba_file = '$full_dir/pg_hba.conf'\n");
	$node->restart;
	$hba = "$full_dir/pg_hba.conf";
	$hba_before = slurp_file($hba);

	# Fill the file system: large blocks, then page by page for the rest.
	open my $fh, '>:raw', "$full_dir/filler" or die $!;
	for my $chunk ("\0" x (1 << 20), "\0" x 4096, "\0" x 64)
	{
		while (1) { last unless print $fh $chunk; last unless $fh->flush; }
		$fh->clearerr;
	}
	close $fh;
	diag(sprintf('filler: %.1f MiB', (-s "$full_dir/filler") / 1048576));

	$err = commit_error($allow);
	like($err, qr/ERROR:  could not write file ".*pg_hba\.conf\.pgml_repl\.tmp": No space left on device/,
		'allow_replica: COMMIT fails on a full file system, naming the temp file and the cause');
	like($err, qr/HINT:  Free space on that file system/, 'with a hint');
	is(slurp_file($hba), $hba_before, 'pg_hba.conf is byte-identical');
	is(leftovers($full_dir, qr/pgml_repl\.tmp/), '', 'no temp file is left');
	unlink "$full_dir/filler" or die "unlink: $!";
	is(commit_error($allow), '', 'with space again the same call commits');
	like(slurp_file($hba), qr/10\.9\.8\.7\/32/, 'and writes the rule');
	$node->stop;
	# The tmpfs is shared with later tests.
	unlink glob("$full_dir/*");
	rmdir $full_dir;
}

done_testing();
