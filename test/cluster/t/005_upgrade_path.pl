# The upgrade path gives the same extension as a fresh install: one database
# gets CREATE EXTENSION at the default version, another the oldest shipped
# version followed by ALTER EXTENSION ... UPDATE; every member object of the
# extension, its definition and its privileges are compared.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

my $default = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'pgml_replication'");
my @versions = split /\n/, $node->safe_psql('postgres',
	"SELECT version FROM pg_available_extension_versions WHERE name = 'pgml_replication' ORDER BY string_to_array(version, '.')::int[]");
ok(scalar(@versions) >= 2, "more than one version is shipped (@versions)");
is($versions[-1], $default, 'the default version is the newest');

# One description per member object: its identity, its definition and its ACL.
my $describe = <<'SQL';
WITH members AS (
  SELECT d.classid, d.objid, d.objsubid
  FROM pg_depend d
  WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
    AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgml_replication')
)
SELECT pg_describe_object(m.classid, m.objid, m.objsubid) || E'\n' ||
  CASE
    WHEN m.classid = 'pg_proc'::regclass THEN
      pg_get_functiondef(m.objid) || E'\nacl: ' || coalesce((SELECT proacl::text FROM pg_proc WHERE oid = m.objid), 'default')
      || E'\ncomment: ' || coalesce(obj_description(m.objid, 'pg_proc'), '')
    WHEN m.classid = 'pg_class'::regclass THEN
      (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                         || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                         || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), ''), E'\n' ORDER BY a.attnum)
       FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
       WHERE a.attrelid = m.objid AND a.attnum > 0 AND NOT a.attisdropped)
      || E'\nconstraints: ' || coalesce((SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), E'\n' ORDER BY conname)
                                        FROM pg_constraint WHERE conrelid = m.objid), '')
      || E'\nindexes: ' || coalesce((SELECT string_agg(pg_get_indexdef(indexrelid), E'\n' ORDER BY 1)
                                    FROM pg_index WHERE indrelid = m.objid), '')
      || E'\nacl: ' || coalesce((SELECT relacl::text FROM pg_class WHERE oid = m.objid), 'default')
      || E'\ncomment: ' || coalesce(obj_description(m.objid, 'pg_class'), '')
    WHEN m.classid = 'pg_type'::regclass THEN
      (SELECT format_type(oid, NULL) FROM pg_type WHERE oid = m.objid)
    ELSE ''
  END AS d
FROM members m
ORDER BY 1
SQL
my $extra = <<'SQL';
SELECT 'config tables: ' || coalesce((SELECT array_to_string(extconfig::regclass[], ',') || ' / ' || array_to_string(extcondition, ',')
                                      FROM pg_extension WHERE extname = 'pgml_replication'), '')
UNION ALL
SELECT 'schema acl: ' || nspacl::text FROM pg_namespace WHERE nspname = 'pgml_repl'
SQL

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('postgres', 'CREATE DATABASE upgraded');
$node->safe_psql('fresh', 'CREATE EXTENSION pgml_replication');
$node->safe_psql('upgraded', "CREATE EXTENSION pgml_replication VERSION '$versions[0]'");
$node->safe_psql('upgraded', 'ALTER EXTENSION pgml_replication UPDATE');
is($node->safe_psql('upgraded', "SELECT extversion FROM pg_extension WHERE extname = 'pgml_replication'"),
	$default, "ALTER EXTENSION UPDATE reaches $default");

my $fresh = $node->safe_psql('fresh', $describe) . "\n" . $node->safe_psql('fresh', $extra);
my $upgraded = $node->safe_psql('upgraded', $describe) . "\n" . $node->safe_psql('upgraded', $extra);
ok(length($fresh) > 1000, 'the description covers the extension\'s objects');
is($upgraded, $fresh, "$versions[0] + UPDATE gives the same objects as a fresh $default");

# Each intermediate version upgrades to the default too.
for my $v (@versions[1 .. $#versions - 1])
{
	my $db = "from_" . ($v =~ s/\W/_/gr);
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, "CREATE EXTENSION pgml_replication VERSION '$v'");
	$node->safe_psql($db, 'ALTER EXTENSION pgml_replication UPDATE');
	is($node->safe_psql($db, $describe) . "\n" . $node->safe_psql($db, $extra), $fresh,
		"$v + UPDATE gives the same objects as a fresh $default");
}

# Rows an older version accepted but the Hub's rules refuse: the upgrade
# deletes them, names each in a WARNING, keeps the others and ends with
# validated constraints, so no DBA is left with a failing ALTER EXTENSION.
$node->safe_psql('postgres', 'CREATE DATABASE bad_rows');
$node->safe_psql('bad_rows', "CREATE EXTENSION pgml_replication VERSION '$versions[0]'");
my $rev = '2' x 40;
my $blob = 'b' x 40;
$node->safe_psql('bad_rows', qq{
INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, refs, path, blob, size) VALUES
  ('model', 'org/good', '$rev', '{main,refs/pr/1}', '1_Pooling/config.json', '$blob', 1),
  ('model', 'orgbars-/m1', '$rev', '{}', 'x.txt', '$blob', 1),
  ('model', 'org..bars/m6', '$rev', '{}', 'x.txt', '$blob', 1),
  ('model', 'org/bad-ref', '$rev', '{"bad ref"}', 'x.txt', '$blob', 1),
  ('model', 'org/bad-path', '$rev', '{}', 'a//b.txt', '$blob', 1)});
# A grant a DBA made on a function the upgrade recreates.
$node->safe_psql('bad_rows', 'CREATE ROLE upgrade_watcher; GRANT EXECUTE ON FUNCTION pgml_repl.prefetch_queue() TO upgrade_watcher');
my ($rc, $out, $err) = $node->psql('bad_rows', 'ALTER EXTENSION pgml_replication UPDATE');
is($rc, 0, 'ALTER EXTENSION UPDATE succeeds over rows that break the new rules');
like($err, qr/WARNING:  pgml_replication 0\.2\.0: deleted manifest row model 'orgbars-\/m1' revision '$rev' path 'x\.txt': repo_id has a namespace or name that starts or ends with "-" or "\."/,
	'a WARNING names each deleted row and its reason');
like($err, qr/deleted manifest row model 'org\/bad-ref' .*: ref contains a character git forbids/, 'the bad ref too');
like($err, qr/WARNING:  pgml_replication 0\.2\.0: deleted 4 manifest rows whose names break the Hub's rules\nHINT:  /,
	'and one WARNING counts them, with a hint');
is($node->safe_psql('bad_rows', 'SELECT repo_id FROM pgml_repl.hf_manifest'), 'org/good', 'the valid row stays');
like($err, qr/WARNING:  pgml_replication 0\.2\.0 recreates pgml_repl\.prefetch_queue\(\): its EXECUTE grant to upgrade_watcher is dropped\nHINT:  After the upgrade: GRANT EXECUTE ON FUNCTION pgml_repl\.prefetch_queue\(\) TO upgrade_watcher;/,
	'a grant on a recreated function is named, with the GRANT to run again');
$node->safe_psql('postgres', 'DROP ROLE upgrade_watcher');
is($node->safe_psql('bad_rows',
		"SELECT count(*) FROM pg_constraint WHERE conrelid = 'pgml_repl.hf_manifest'::regclass AND contype = 'c' AND convalidated"),
	'7', 'every CHECK constraint is in place and validated');

$node->stop;
done_testing();
