-- replication_status() on the scratch cluster: a primary with no standby
-- returns no row.
SELECT * FROM pgml_repl.replication_status();
SELECT count(*) FROM pgml_repl.replication_status();

-- The one column set for both roles.
SELECT n, name, format_type(typ, NULL)
FROM pg_proc p,
     unnest(p.proargnames, p.proallargtypes, p.proargmodes) WITH ORDINALITY AS a(name, typ, mode, n)
WHERE p.oid = 'pgml_repl.replication_status'::regproc AND mode = 't'
ORDER BY n;

-- Lag thresholds are in kB internally, shown and set with units.
LOAD 'pgml_replication';
SHOW pgml_replication.replication_lag_warning;
SHOW pgml_replication.replication_lag_error;
SELECT name, setting, unit, context, min_val
FROM pg_settings WHERE name LIKE 'pgml_replication.replication_lag_%' ORDER BY name;
SET pgml_replication.replication_lag_warning = '32MB';
ALTER SYSTEM SET pgml_replication.replication_lag_warning = 0;
ALTER SYSTEM SET pgml_replication.replication_lag_error = '4TB';
ALTER SYSTEM SET pgml_replication.replication_lag_error = '1 lightyear';
