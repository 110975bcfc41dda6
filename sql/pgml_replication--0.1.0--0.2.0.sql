-- pgml_replication 0.1.0 -> 0.2.0: upgrade script
\echo Use "ALTER EXTENSION pgml_replication UPDATE TO '0.2.0'" to load this file. \quit

-- Exactly the difference between sql/pgml_replication--0.1.0.sql and
-- sql/pgml_replication--0.2.0.sql; test/cluster/t/005_upgrade_path.pl
-- checks that both paths give the same objects.
