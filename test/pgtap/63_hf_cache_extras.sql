-- hf_cache_extras(): the trees/<commit>.json files and .no_exist markers a
-- replica copies from its upstream (issue 12). PUBLIC denied, granted and
-- revoked with hf_blob_read by allow_blob_fetch()/disallow_blob_fetch(), the
-- rows of the healthy fixture (test/fixtures/build_hf_cache.py: one tree,
-- two markers of all-MiniLM-L6-v2's first commit), only repos the manifest
-- lists. Manifest rows are inserted by hand and rolled back.
\getenv fixture PGML_REPL_FIXTURE_CACHE
\set weights 'a1f259d4365ed4320c377ce26f5c8c56dcdc9a89e7b641bfd8eabfbbeac86654'
\set c1 '25ea76f0b648068285808583c29b9f55ddf70910'

\o /dev/null
LOAD 'pgml_replication';
ALTER SYSTEM SET pgml_replication.hf_cache_dir = :'fixture';
SELECT pg_reload_conf();
SELECT format('SELECT pg_sleep(0.1) WHERE current_setting(%L) IS DISTINCT FROM %L',
              'pgml_replication.hf_cache_dir', :'fixture') FROM generate_series(1, 300) \gexec
\o

BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(14);

SELECT has_function('pgml_repl', 'hf_cache_extras', ARRAY[]::text[], 'hf_cache_extras exists');
SELECT ok(NOT has_function_privilege('public', 'pgml_repl.hf_cache_extras()', 'EXECUTE'),
          'PUBLIC cannot run hf_cache_extras');
SELECT is((SELECT count(*) FROM pgml_repl.hf_cache_extras()), 0::bigint, 'an empty manifest lists no extras');

INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, path, blob, size) VALUES
  ('model', 'sentence-transformers/all-MiniLM-L6-v2', :'c1', 'model.safetensors', :'weights', 16384),
  ('model', 'org/not-in-cache', repeat('3', 40), 'x.bin', repeat('c', 64), 1);

SELECT results_eq(
  $$SELECT repo_type, repo_id, kind, name, content IS NULL FROM pgml_repl.hf_cache_extras() ORDER BY kind DESC, name$$,
  format($$VALUES ('model', 'sentence-transformers/all-MiniLM-L6-v2', 'tree', %1$L, false),
                  ('model', 'sentence-transformers/all-MiniLM-L6-v2', 'no_exist', %1$L || '/2_Dense/config.json', true),
                  ('model', 'sentence-transformers/all-MiniLM-L6-v2', 'no_exist', %1$L || '/tokenizer.json', true)$$, :'c1'),
  'one tree and two markers of the listed repo; a repo without a folder gives none');
SELECT is((SELECT convert_from(content, 'UTF8') FROM pgml_repl.hf_cache_extras() WHERE kind = 'tree'),
          E'[{"path": "config.json", "size": 21}]\n', 'the tree row carries the file''s bytes');

-- Privileges.
CREATE ROLE extras_tap_plain LOGIN;
CREATE ROLE extras_tap_fetcher LOGIN REPLICATION;
GRANT USAGE ON SCHEMA pgml_repl TO extras_tap_plain;
GRANT SELECT ON pgml_repl.hf_manifest TO extras_tap_plain;
SET LOCAL ROLE extras_tap_plain;
SELECT throws_ok('SELECT * FROM pgml_repl.hf_cache_extras()', '42501', NULL, 'a plain role cannot list the extras');
RESET ROLE;
SELECT is((SELECT changed FROM pgml_repl.allow_blob_fetch(role_name => 'extras_tap_fetcher')), true,
          'allow_blob_fetch() grants a role');
SELECT ok(has_function_privilege('extras_tap_fetcher', 'pgml_repl.hf_cache_extras()', 'EXECUTE'),
          'allow_blob_fetch() grants EXECUTE on hf_cache_extras');
SET LOCAL ROLE extras_tap_fetcher;
SELECT is((SELECT count(*) FROM pgml_repl.hf_cache_extras()), 3::bigint, 'the granted role lists the extras');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION pgml_repl.hf_cache_extras() FROM extras_tap_fetcher;
SELECT is((SELECT changed FROM pgml_repl.allow_blob_fetch(role_name => 'extras_tap_fetcher')), true,
          'allow_blob_fetch() notices a missing EXECUTE on hf_cache_extras and grants it again');
SELECT is((SELECT changed FROM pgml_repl.disallow_blob_fetch(role_name => 'extras_tap_fetcher')), true,
          'disallow_blob_fetch() revokes');
SET LOCAL ROLE extras_tap_fetcher;
SELECT throws_ok('SELECT * FROM pgml_repl.hf_cache_extras()', '42501', NULL,
                 'after disallow_blob_fetch() the role is denied');
RESET ROLE;
SELECT lives_ok($$SELECT * FROM pgml_repl.create_replication_user('extras_tap_new')$$,
                'create_replication_user() creates a role');
SELECT ok(has_function_privilege('extras_tap_new', 'pgml_repl.hf_cache_extras()', 'EXECUTE'),
          'create_replication_user() grants EXECUTE on hf_cache_extras');

SELECT * FROM finish();
ROLLBACK;

\o /dev/null
LOAD 'pgml_replication';
ALTER SYSTEM RESET pgml_replication.hf_cache_dir;
SELECT pg_reload_conf();
\o
