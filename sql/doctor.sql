-- check() on the scratch cluster: a plain primary with archive_mode off,
-- no replication role, no standby. Details that name the machine (the
-- cache folder) are left out; hints are shown in full.
\getenv fixture PGML_REPL_FIXTURE_CACHE
\pset null '(null)'
-- ":wait_for_reload \gexec" waits (bounded: 600 x 0.1 s) until this backend
-- shows hf_cache_dir as the configuration files say: each generated DO is a
-- command of its own, and a backend applies a SIGHUP between commands. Not
-- echoed: 600 commands.
\set wait_for_reload 'SELECT $$DO $d$BEGIN IF current_setting(''pgml_replication.hf_cache_dir'') IS DISTINCT FROM (SELECT setting FROM pg_file_settings WHERE name = ''pgml_replication.hf_cache_dir'' ORDER BY seqno DESC LIMIT 1) THEN PERFORM pg_sleep(0.1); END IF; END $d$ $$ FROM generate_series(1, 600)'
-- A cache folder that does not exist, so the result does not depend on the
-- server's home folder.
LOAD 'pgml_replication';
SELECT :'fixture' || '/no_such_hub' AS no_cache \gset
ALTER SYSTEM SET pgml_replication.hf_cache_dir = :'no_cache';
SELECT pg_reload_conf();
\set ECHO none
:wait_for_reload \gexec
\set ECHO all
SELECT current_setting('pgml_replication.hf_cache_dir') = :'no_cache' AS cache_dir_applied;

SELECT check_name, status, hint FROM pgml_repl.check();
SELECT check_name, detail FROM pgml_repl.check()
WHERE check_name <> 'hf_manifest';
SELECT status, replace(detail, :'fixture', '<fixture>') AS detail
FROM pgml_repl.check() WHERE check_name = 'hf_manifest';
SELECT * FROM pgml_repl.check_summary();

-- Every status is one of the four, every non-ok row says what to run.
SELECT count(*) AS rows, bool_and(status IN ('ok', 'warning', 'error', 'skipped')) AS statuses_known,
       bool_and((status IN ('warning', 'error')) = (hint IS NOT NULL)) AS hint_exactly_when_needed
FROM pgml_repl.check();

-- A replication role without LOGIN is reported, and the hint names it.
CREATE ROLE doctor_repl REPLICATION;
SELECT check_name, status, detail, hint FROM pgml_repl.check()
WHERE check_name IN ('replication_role', 'pg_hba_rule', 'blob_fetch');
ALTER ROLE doctor_repl LOGIN PASSWORD 'SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$0TN3qXfDA3Kh5/qUs1q0lSBA8dCXNnRO9NmvcnPt8NA=:B2sZkb7JJGe1uh3/tI6xk0MJrNK0uhXcL+SPv+4MFy0=';
SELECT check_name, status, detail FROM pgml_repl.check()
WHERE check_name IN ('replication_role', 'pg_hba_rule', 'blob_fetch');
DROP ROLE doctor_repl;

-- The manifest against the fixture cache: stale until published.
ALTER SYSTEM SET pgml_replication.hf_cache_dir = :'fixture';
SELECT pg_reload_conf();
\set ECHO none
:wait_for_reload \gexec
\set ECHO all
SELECT current_setting('pgml_replication.hf_cache_dir') = :'fixture' AS cache_dir_applied;
CREATE TEMP TABLE saved_manifest AS SELECT * FROM pgml_repl.hf_manifest;
DELETE FROM pgml_repl.hf_manifest;
SELECT status, replace(detail, :'fixture', '<fixture>') AS detail, hint
FROM pgml_repl.check() WHERE check_name = 'hf_manifest';
SELECT added > 0 AS published FROM pgml_repl.publish_hf_manifest();
SELECT status, replace(detail, :'fixture', '<fixture>') AS detail, hint
FROM pgml_repl.check() WHERE check_name = 'hf_manifest';
DELETE FROM pgml_repl.hf_manifest;
INSERT INTO pgml_repl.hf_manifest SELECT * FROM saved_manifest;
ALTER SYSTEM RESET pgml_replication.hf_cache_dir;
SELECT pg_reload_conf();
