-- Operator toolkit privileges: the rendered texts are for monitoring roles,
-- running pgbackrest is for pg_execute_server_program only.
BEGIN;
SELECT plan(14);

CREATE ROLE pgmlr_t_plain;
CREATE ROLE pgmlr_t_monitor IN ROLE pg_monitor;
CREATE ROLE pgmlr_t_exec IN ROLE pg_execute_server_program;

SELECT ok(NOT has_function_privilege('public', 'pgml_repl.standby_setup(text, integer, name, text, text, text, text, boolean)', 'EXECUTE'),
          'standby_setup is not executable by PUBLIC');
SELECT ok(has_function_privilege('pg_monitor', 'pgml_repl.pgcat_config(text[], text, integer, text, text, text)', 'EXECUTE'),
          'pgcat_config is granted to pg_monitor');

SET ROLE pgmlr_t_plain;
SELECT throws_ok($$SELECT pgml_repl.standby_setup('10.0.0.1', data_directory => '/d')$$, '42501', NULL,
                 'a plain role may not call standby_setup');
SELECT throws_ok($$SELECT pgml_repl.pgcat_config('{}', primary_host => 'db1')$$, '42501', NULL,
                 'a plain role may not call pgcat_config');
SELECT throws_ok($$SELECT pgml_repl.pgbackrest_info()$$, '42501', NULL,
                 'a plain role may not call pgbackrest_info');
RESET ROLE;

SET ROLE pgmlr_t_monitor;
SELECT matches(pgml_repl.standby_setup('10.0.0.1', data_directory => '/d'), '^#!/usr/bin/env bash',
               'pg_monitor may render standby_setup');
SELECT throws_ok($$SELECT pgml_repl.standby_setup('10.0.0.1')$$, '22023', 'data_directory is required',
                 'standby_setup never guesses the data directory (it could be the primary''s own)');
SELECT matches(pgml_repl.pgcat_config(primary_host => 'db1'),
               format('\["db1", %s, "primary"\]', current_setting('port')),
               'pg_monitor may render pgcat_config, connected standbys included, on this server''s port');
SELECT throws_ok($$SELECT pgml_repl.pgbackrest_info()$$, '42501', NULL,
                 'pg_monitor may not run pgbackrest_info');
SELECT throws_ok($$SELECT pgml_repl.pgbackrest_archive_max()$$, '42501', NULL,
                 'pg_monitor may not run pgbackrest_archive_max');
RESET ROLE;

-- A direct GRANT EXECUTE is not enough: the function checks the COPY
-- ... PROGRAM privilege itself.
GRANT USAGE ON SCHEMA pgml_repl TO pgmlr_t_plain;
GRANT EXECUTE ON FUNCTION pgml_repl.pgbackrest_info(text, text) TO pgmlr_t_plain;
SET ROLE pgmlr_t_plain;
SELECT throws_ok($$SELECT pgml_repl.pgbackrest_info()$$, '42501',
                 'permission denied for function pgbackrest_info',
                 'EXECUTE alone does not let a role run pgbackrest');
RESET ROLE;

-- A pg_execute_server_program member gets as far as pgbackrest itself: the
-- error is pgbackrest's (no such configuration file), not a permission one.
SET ROLE pgmlr_t_exec;
SELECT throws_like($$SELECT pgml_repl.pgbackrest_info('main', '/nonexistent/pgml_repl/pgbackrest.conf')$$,
                   'pgbackrest info failed with exit code %',
                   'pg_execute_server_program may run pgbackrest_info');
SELECT throws_like($$SELECT pgml_repl.pgbackrest_archive_max('main', '/nonexistent/pgml_repl/pgbackrest.conf')$$,
                   'pgbackrest info failed with exit code %',
                   'pg_execute_server_program may run pgbackrest_archive_max');
SELECT throws_ok($$SELECT pgml_repl.standby_setup('10.0.0.1', data_directory => '/d')$$, '42501', NULL,
                 'pg_execute_server_program alone may not call standby_setup');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
