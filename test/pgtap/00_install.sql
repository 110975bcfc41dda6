BEGIN;
SELECT plan(3);
SELECT has_extension('pgml_repl', 'pgml_replication', 'the extension is installed in schema pgml_repl');
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'pgml_replication'),
          '0.4.0', 'installed at the default version');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'pgml_replication'),
          false, 'the extension is not relocatable');
SELECT * FROM finish();
ROLLBACK;
