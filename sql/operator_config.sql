-- Operator toolkit: the rendered texts are stable for fixed arguments, and
-- bad input is refused with a clear message before anything is rendered.

-- The full replica script for fixed arguments, as a DBA saves it.
\pset format unaligned
\pset tuples_only on
SELECT pgml_repl.standby_setup('10.0.0.1', 5432, 'replication_user', 'main',
    data_directory => '/var/lib/postgresql/15/main',
    pgbackrest_config => '/etc/pgbackrest/pgbackrest.conf',
    application_name => 'replica_1');
\pset format aligned
\pset tuples_only off

-- Options: model cache copy, derived application_name, default pgBackRest
-- configuration, a data directory that needs quoting.
SELECT line
FROM regexp_split_to_table(
    pgml_repl.standby_setup('db-primary.internal', 6543, 'repl', 'pg15',
        data_directory => '/srv/it''s data', copy_model_cache => true), E'\n') AS line
WHERE line ~ '^(PGDATA_DIR|PRIMARY_|REPLICATION_ROLE|APPLICATION_NAME|restore_command|rsync|#   \(umask)';

-- primary_port NULL (the default): this server's own port.
SELECT s LIKE '%' || E'\nPRIMARY_PORT=''' || current_setting('port') || E'''\n%' AS own_port
FROM pgml_repl.standby_setup('10.0.0.1', data_directory => '/srv/replica') AS s;

-- data_directory is required: never guessed, so never the primary's own.
SELECT pgml_repl.standby_setup('10.0.0.1');

-- Bad input.
SELECT pgml_repl.standby_setup(NULL);
SELECT pgml_repl.standby_setup('10.0.0.1; rm -rf /', data_directory => '/d');
SELECT pgml_repl.standby_setup(E'host\nname', data_directory => '/d');
SELECT pgml_repl.standby_setup('10.0.0.1', 0, data_directory => '/d');
SELECT pgml_repl.standby_setup('10.0.0.1', role_name => 'repl user', data_directory => '/d');
SELECT pgml_repl.standby_setup('10.0.0.1', stanza => 'main$(id)', data_directory => '/d');
SELECT pgml_repl.standby_setup('10.0.0.1', data_directory => 'relative/dir');
SELECT pgml_repl.standby_setup('10.0.0.1', data_directory => '/');
SELECT pgml_repl.standby_setup('10.0.0.1', data_directory => E'/d\n/e');
SELECT pgml_repl.standby_setup('10.0.0.1', data_directory => '/d', pgbackrest_config => 'pgbackrest.conf');
SELECT pgml_repl.standby_setup('10.0.0.1', data_directory => '/d', application_name => 'it''s');

-- PgCat: explicit replicas, with and without ports.
SELECT pgml_repl.pgcat_config(ARRAY['10.0.0.2', '10.0.0.3:6432', '[fd00::4]:5433'], port => 5432,
    primary_host => '10.0.0.1', database => 'postgresml', user_name => 'postgresml');
-- A pool name that is no bare TOML key is quoted; no replicas is fine.
SELECT pgml_repl.pgcat_config('{}', pool => 'ml pool', port => 6000,
    primary_host => 'db1', database => 'd', user_name => 'u');
-- NULL replicas: the standbys connected now (none here); NULL port: this
-- server's own.
SELECT s LIKE '%["db1", ' || current_setting('port') || ', "primary"]%' AS own_port,
       s NOT LIKE '%"replica"%' AS no_replicas,
       s LIKE '%database = "' || current_database() || '"%' AS current_database,
       s LIKE '%username = "' || current_user || '"%' AS current_user
FROM pgml_repl.pgcat_config(primary_host => 'db1') AS s;
SELECT pgml_repl.pgcat_config(ARRAY['10.0.0.2:99999'], primary_host => 'db1');
SELECT pgml_repl.pgcat_config(ARRAY['10.0.0.2', NULL], primary_host => 'db1');
SELECT pgml_repl.pgcat_config(ARRAY['"evil" = 1'], primary_host => 'db1');
SELECT pgml_repl.pgcat_config(pool => NULL);

-- pgBackRest: arguments are checked before anything runs.
SELECT pgml_repl.pgbackrest_info('main; id');
SELECT pgml_repl.pgbackrest_info('main', 'relative.conf');
SELECT pgml_repl.pgbackrest_archive_max(NULL);
-- A configuration file that does not exist: pgbackrest's own error.
SELECT pgml_repl.pgbackrest_info('main', '/nonexistent/pgml_repl/pgbackrest.conf');

-- The timeout setting.
SHOW pgml_replication.pgbackrest_timeout;
SET pgml_replication.pgbackrest_timeout = 0;
