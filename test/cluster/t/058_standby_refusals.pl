# On a real standby: every function that only makes sense on a primary
# refuses with SQLSTATE 25006 (as PostgreSQL's writes during recovery), a
# DETAIL and a HINT, before any file is read or written. allow_replica() and
# disallow_replica() keep working there (they edit the standby's own
# pg_hba.conf, which a cascading standby connects through) and say so in a
# NOTICE. On the same pair, sharing one host, pgcat_config() lists the
# standby although it has the primary's address.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmlReplTest;

my $primary = new_node_with_extension('primary', init => { allows_streaming => 1 });
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
# Over TCP from 127.0.0.1, the primary's own address.
$standby->append_conf('postgresql.conf',
	"primary_conninfo = 'host=127.0.0.1 port=" . $primary->port . " user=postgres application_name=standby_058'\n");
$standby->start;
$primary->wait_for_catchup('standby_058');
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

my $auto_conf = $standby->data_dir . '/postgresql.auto.conf';
my $hba_file = $standby->safe_psql('postgres', 'SHOW hba_file');

# Returns (stderr of the call with VERBOSITY verbose, so the SQLSTATE shows).
sub standby_error
{
	my ($sql) = @_;
	my ($rc, $out, $err) = $standby->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	return $rc == 0 ? "succeeded: $out" : $err;
}

my %refusals = (
	'SELECT * FROM pgml_repl.configure_primary()' => [
		qr/ERROR:  25006: configure_primary\(\) cannot run on a standby/,
		qr/DETAIL:  This server is in recovery\. The archiving and WAL settings configure_primary\(\) writes belong to the primary/,
		qr/HINT:  Run it on the primary, where SELECT pg_is_in_recovery\(\); returns false\./
	],
	"SELECT * FROM pgml_repl.configure_primary(stanza => 'other', max_wal_senders => 3)" => [
		qr/ERROR:  25006: configure_primary\(\) cannot run on a standby/
	],
	"SELECT * FROM pgml_repl.create_replication_user('standby_user', allow_from => '10.0.0.9')" => [
		qr/ERROR:  25006: create_replication_user\(\) cannot run on a standby/,
		qr/DETAIL:  This server is in recovery: roles are created on the primary and reach every standby with the WAL\./,
		qr/HINT:  Run it on the primary\. For a cascading standby .* pgml_repl\.allow_replica\(\)/
	],
	'SELECT * FROM pgml_repl.publish_hf_manifest()' => [
		qr/ERROR:  25006: cannot publish the HuggingFace cache manifest on a standby/,
		qr/DETAIL:  pgml_repl\.hf_manifest is read-only during recovery/,
		qr/HINT:  Run pgml_repl\.publish_hf_manifest\(\) on the primary\./
	],
);
for my $sql (sort keys %refusals)
{
	my $conf_before = slurp_file($auto_conf);
	my $hba_before = slurp_file($hba_file);
	my $err = standby_error($sql);
	like($err, $_, "$sql: $_") for @{ $refusals{$sql} };
	is(slurp_file($auto_conf), $conf_before, "$sql: postgresql.auto.conf untouched");
	is(slurp_file($hba_file), $hba_before, "$sql: pg_hba.conf untouched");
	is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', "$sql: the standby is still a standby");
}
is($primary->safe_psql('postgres', "SELECT count(*) FROM pg_roles WHERE rolname = 'standby_user'"), '0',
	'no role was created anywhere');

# allow_replica()/disallow_replica(): this standby's own file, with a NOTICE.
my $primary_hba = slurp_file($primary->safe_psql('postgres', 'SHOW hba_file'));
my ($rc, $out, $err) = $standby->psql('postgres', "SELECT hba_rule FROM pgml_repl.allow_replica('127.0.0.2', 'postgres')");
is($rc, 0, 'allow_replica works on a standby');
like($out, qr/^host\s+replication\s+postgres\s+127\.0\.0\.2\/32\s+scram-sha-256 # pgml_replication$/, 'and returns the rule');
like($err, qr/NOTICE:  allow_replica\(\) edits this standby's own pg_hba\.conf/, 'saying whose file it edits');
like($err, qr/HINT:  To change who may replicate from the primary, run allow_replica\(\) on the primary\./,
	'and where to go for the primary');
like(slurp_file($hba_file), qr/^host\s+replication\s+postgres\s+127\.0\.0\.2\/32\s+scram-sha-256 # pgml_replication$/m,
	'the standby\'s pg_hba.conf has the rule');
ok($standby->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_hba_file_rules WHERE '127.0.0.2' = address AND error IS NULL"),
	'the server reads it');
is(slurp_file($primary->safe_psql('postgres', 'SHOW hba_file')), $primary_hba, 'the primary\'s pg_hba.conf is untouched');
($rc, $out, $err) = $standby->psql('postgres', "SELECT changed FROM pgml_repl.disallow_replica('127.0.0.2', 'postgres')");
is($out, 't', 'disallow_replica removes it on the standby');
like($err, qr/NOTICE:  disallow_replica\(\) edits this standby's own pg_hba\.conf/, 'with the same NOTICE');
unlike(slurp_file($hba_file), qr/127\.0\.0\.2/, 'the rule is gone');

# pgcat_config() on the primary: the standby shares the primary's address
# (one host) and is listed anyway, its unknown port flagged.
($rc, $out, $err) = $primary->psql('postgres', "SELECT pgml_repl.pgcat_config(primary_host => '127.0.0.1')");
is($rc, 0, 'pgcat_config runs on the primary');
my $port = $primary->port;
like($out, qr/^  \["127\.0\.0\.1", $port, "primary"\],$/m, 'the primary on its own port');
like($out,
	qr/^  \["127\.0\.0\.1", $port, "replica"\],  # standby_058: same address as another server; its port is not known here, set it$/m,
	'the standby with the primary\'s address is listed, its port flagged');
like($err, qr/NOTICE:  the port of standby "standby_058" is not known/, 'and a NOTICE says so');
like($err, qr/HINT:  Pass replicas => ARRAY\['host:port', \.\.\.\]/, 'with how to give it');
my $standby_port = $standby->port;
$out = $primary->safe_psql('postgres',
	"SELECT pgml_repl.pgcat_config(ARRAY['127.0.0.1:$standby_port'], primary_host => '127.0.0.1')");
like($out, qr/^  \["127\.0\.0\.1", $standby_port, "replica"\],$/m, 'given with its port, it needs no comment');

$standby->stop;
$primary->stop;
done_testing();
