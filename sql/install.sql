-- The extension installs at its default version into its own schema.
SELECT e.extname, e.extversion, n.nspname AS schema, e.extrelocatable
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'pgml_replication';

-- No function of the extension is executable by PUBLIC unless documented:
-- the hf_*_problem() rules are, because the CHECK constraints of
-- pgml_repl.hf_manifest and pgml_repl.wanted_models call them as the
-- inserting role.
SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args
FROM pg_proc p
WHERE p.pronamespace = 'pgml_repl'::regnamespace
  AND has_function_privilege('public', p.oid, 'EXECUTE')
ORDER BY 1, 2;

-- The library loads, and its GUC prefix is reserved.
LOAD 'pgml_replication';
SET pgml_replication.no_such_setting = 'x';
