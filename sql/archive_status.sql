-- archive_status() on the scratch cluster: archive_mode is off, nothing is
-- archived, nothing waits.
SELECT archive_mode, wal_level, archived_count, failed_count, ready_count,
       last_archived_wal IS NULL AS no_last_archived,
       last_failed_wal IS NULL AS no_last_failed,
       oldest_ready_wal IS NULL AS no_oldest_ready,
       oldest_ready_age IS NULL AS no_oldest_ready_age,
       current_wal ~ '^[0-9A-F]{24}$' AS current_wal_is_a_segment_name,
       status, detail
FROM pgml_repl.archive_status();

-- Exactly one row, with the documented columns in order.
SELECT count(*) FROM pgml_repl.archive_status();
SELECT n, name, format_type(typ, NULL)
FROM pg_proc p,
     unnest(p.proargnames, p.proallargtypes, p.proargmodes) WITH ORDINALITY AS a(name, typ, mode, n)
WHERE p.oid = 'pgml_repl.archive_status'::regproc AND mode = 'o'
ORDER BY n;

-- The thresholds are GUCs of the library, with these defaults.
LOAD 'pgml_replication';
SHOW pgml_replication.archive_ready_warning;
SHOW pgml_replication.archive_ready_error;
SELECT name, setting, unit, context, min_val
FROM pg_settings WHERE name LIKE 'pgml_replication.archive_ready_%' ORDER BY name;

-- They are server-wide (reload) settings, not per session.
SET pgml_replication.archive_ready_warning = 32;
-- Bad values are rejected before anything is written.
ALTER SYSTEM SET pgml_replication.archive_ready_warning = 0;
ALTER SYSTEM SET pgml_replication.archive_ready_error = -1;
ALTER SYSTEM SET pgml_replication.archive_ready_error = 'many';
SELECT count(*) AS pgml_lines_in_auto_conf
FROM pg_file_settings WHERE name LIKE 'pgml_replication.%';
