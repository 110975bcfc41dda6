-- HuggingFace cache manifest: objects, privileges, publish semantics and the
-- cancellable verification. Fixture caches: test/fixtures/build_hf_cache.py.
\getenv fixture PGML_REPL_FIXTURE_CACHE
\set damaged :fixture '/../damaged-hub'
\set big :fixture '/../big-hub'
\set names :fixture '/../names-hub'
BEGIN;
SELECT plan(43);

SELECT has_function('pgml_repl', 'hf_cache_manifest', ARRAY['text', 'boolean'], 'hf_cache_manifest(text, boolean) exists');
SELECT has_function('pgml_repl', 'hf_cache_repos', ARRAY['text'], 'hf_cache_repos(text) exists');
SELECT has_function('pgml_repl', 'publish_hf_manifest', ARRAY['text'], 'publish_hf_manifest(text) exists');
SELECT has_table('pgml_repl', 'hf_manifest', 'table hf_manifest exists');
SELECT col_is_pk('pgml_repl', 'hf_manifest', ARRAY['repo_type', 'repo_id', 'revision', 'path'],
                 'the primary key makes a row unique');
SELECT columns_are('pgml_repl', 'hf_manifest',
                   ARRAY['repo_type', 'repo_id', 'revision', 'refs', 'path', 'blob', 'size', 'published_at'],
                   'hf_manifest has the documented columns');

-- Privileges.
CREATE ROLE hf_tap_plain;
CREATE ROLE hf_tap_monitor IN ROLE pg_monitor;
GRANT USAGE ON SCHEMA pgml_repl TO hf_tap_plain, hf_tap_monitor;
SELECT ok(NOT has_function_privilege('hf_tap_plain', 'pgml_repl.hf_cache_manifest(text, boolean)', 'EXECUTE'),
          'PUBLIC cannot run hf_cache_manifest');
SELECT ok(NOT has_function_privilege('hf_tap_monitor', 'pgml_repl.hf_cache_repos(text)', 'EXECUTE'),
          'pg_monitor cannot run hf_cache_repos by default');
SELECT ok(NOT has_function_privilege('hf_tap_monitor', 'pgml_repl.publish_hf_manifest(text)', 'EXECUTE'),
          'pg_monitor cannot publish');
SELECT ok(has_table_privilege('hf_tap_monitor', 'pgml_repl.hf_manifest', 'SELECT'),
          'pg_monitor reads the manifest');
SELECT ok(NOT has_table_privilege('hf_tap_monitor', 'pgml_repl.hf_manifest', 'INSERT,UPDATE,DELETE,TRUNCATE'),
          'pg_monitor cannot write the manifest');
SELECT ok(NOT has_table_privilege('hf_tap_plain', 'pgml_repl.hf_manifest', 'SELECT'),
          'PUBLIC cannot read the manifest');
SET LOCAL ROLE hf_tap_plain;
SELECT throws_ok(format('SELECT * FROM pgml_repl.publish_hf_manifest(%L)', :'fixture'), '42501', NULL,
                 'a plain role cannot publish');
RESET ROLE;
GRANT EXECUTE ON FUNCTION pgml_repl.hf_cache_repos(text) TO hf_tap_plain;
SET LOCAL ROLE hf_tap_plain;
SELECT throws_ok(format('SELECT * FROM pgml_repl.hf_cache_repos(%L)', :'fixture'), '42501',
                 'permission denied to scan a folder given to hf_cache_repos',
                 'EXECUTE alone does not let a role scan any folder it names');
RESET ROLE;

-- Scan results.
SELECT is((SELECT count(*)::int FROM pgml_repl.hf_cache_manifest(:'fixture')), 9, 'nine snapshot files in the fixture');
SELECT is((SELECT array_agg(DISTINCT status) FROM pgml_repl.hf_cache_manifest(:'fixture')), ARRAY['ok'],
          'the healthy fixture is all ok');
SELECT is((SELECT array_agg(status ORDER BY status) FROM pgml_repl.hf_cache_manifest(:'damaged')),
          ARRAY['broken_symlink', 'incomplete', 'incomplete', 'missing_blob', 'not_a_symlink', 'ok', 'ok',
                'symlink_outside_cache'],
          'the damaged fixture reports every kind of damage');
SELECT is((SELECT refs FROM pgml_repl.hf_cache_manifest(:'fixture') WHERE path = '1_Pooling/config.json'),
          ARRAY['refs/pr/1', 'v1.0'], 'refs lists tags and pull-request refs of a revision');
SELECT is((SELECT size_on_disk FROM pgml_repl.hf_cache_repos(:'fixture') WHERE repo_id = 'gpt2'),
          29::bigint, 'size_on_disk of gpt2');

-- publish: rows appear, a second run changes nothing, a changed cache
-- changes only what differs.
SELECT results_eq(format('SELECT * FROM pgml_repl.publish_hf_manifest(%L)', :'fixture'),
                  $$VALUES (9, 0, 0, 0)$$, 'first publish adds every healthy file');
SELECT results_eq(format('SELECT * FROM pgml_repl.publish_hf_manifest(%L)', :'fixture'),
                  $$VALUES (0, 0, 9, 0)$$, 'second publish leaves every row alone');
SELECT results_eq(
  $$SELECT repo_type, repo_id, revision, refs, path, blob, size FROM pgml_repl.hf_manifest ORDER BY 1, 2, 3, 5$$,
  format($$SELECT repo_type, repo_id, revision, refs, path, blob, size FROM pgml_repl.hf_cache_manifest(%L)
           ORDER BY 1, 2, 3, 5$$, :'fixture'),
  'the table equals the scan');
UPDATE pgml_repl.hf_manifest SET size = size + 1 WHERE repo_id = 'gpt2' AND path = 'vocab.json';
INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, path, blob, size)
VALUES ('model', 'gone/model', repeat('a', 40), 'f', repeat('b', 40), 1);
SELECT results_eq(format('SELECT * FROM pgml_repl.publish_hf_manifest(%L)', :'fixture'),
                  $$VALUES (1, 2, 8, 0)$$, 'a changed row is replaced and a stale one removed');
SELECT is((SELECT count(*)::int FROM pgml_repl.hf_manifest WHERE repo_id = 'gone/model'), 0, 'the stale row is gone');

-- The Hub's rules in the table: one CHECK constraint per rule, named after it.
SELECT results_eq(
  $$SELECT conname::text COLLATE "default" FROM pg_constraint WHERE conrelid = 'pgml_repl.hf_manifest'::regclass AND contype = 'c' ORDER BY 1$$,
  $$VALUES ('hf_manifest_blob_is_hash'), ('hf_manifest_path_hub_rules'), ('hf_manifest_refs_git_rules'),
           ('hf_manifest_repo_id_hub_rules'), ('hf_manifest_repo_type_known'), ('hf_manifest_revision_is_commit'),
           ('hf_manifest_size_range')$$,
  'hf_manifest has one named CHECK constraint per rule');
SELECT throws_ok(format($$INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, path, blob, size)
                          VALUES ('model', %L, repeat('2', 40), 'x.txt', repeat('b', 40), 1)$$, id),
                 '23514', 'new row for relation "hf_manifest" violates check constraint "hf_manifest_repo_id_hub_rules"',
                 format('repo id %s is refused by the table', id))
FROM unnest(ARRAY['orgbars-/m1', '-orgbars/m2', 'orgbars/m3.', 'orgbars/.m4', 'orgbars/m5--x', 'org..bars/m6']) AS id;
SELECT throws_ok($$INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, refs, path, blob, size)
                   VALUES ('model', 'org/m', repeat('2', 40), '{main,a..b}', 'x.txt', repeat('b', 40), 1)$$,
                 '23514', 'new row for relation "hf_manifest" violates check constraint "hf_manifest_refs_git_rules"',
                 'a ref git forbids is refused');
SELECT throws_ok($$INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, path, blob, size)
                   VALUES ('model', 'org/m', repeat('2', 40), 'a\b.txt', repeat('b', 40), 1)$$,
                 '23514', 'new row for relation "hf_manifest" violates check constraint "hf_manifest_path_hub_rules"',
                 'a backslash path is refused');
SELECT lives_ok($$INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, refs, path, blob, size) VALUES
                  ('model', 'sentence-transformers/all-MiniLM-L6-v2', repeat('2', 40), '{main,refs/pr/1}',
                   '1_Pooling/config.json', repeat('b', 40), 1),
                  ('model', 'Xenova/all-MiniLM-L6-v2', repeat('2', 40), '{}', 'onnx/model_O4.onnx', repeat('c', 64), 1)$$,
                'real Hub names pass the constraints');
-- A CHECK runs its functions as the inserting role: EXECUTE is PUBLIC's.
GRANT INSERT ON pgml_repl.hf_manifest TO hf_tap_plain;
SET LOCAL ROLE hf_tap_plain;
SELECT lives_ok($$INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, path, blob, size)
                  VALUES ('model', 'org/granted', repeat('2', 40), 'x.txt', repeat('b', 40), 1)$$,
                'a role granted INSERT can insert a valid row');
SELECT throws_ok($$INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, path, blob, size)
                   VALUES ('model', 'org--granted', repeat('2', 40), 'x.txt', repeat('b', 40), 1)$$,
                 '23514', NULL, 'and is refused an invalid one by the constraint, not by a privilege');
RESET ROLE;
DELETE FROM pgml_repl.hf_manifest WHERE revision = repeat('2', 40);

-- publish refuses what breaks the rules: two files and the misread folder.
SELECT results_eq(format('SELECT * FROM pgml_repl.publish_hf_manifest(%L)', :'names'),
                  $$VALUES (1, 9, 0, 3)$$, 'publish writes the healthy file and refuses three entries');
SELECT results_eq($$SELECT repo_id, path FROM pgml_repl.hf_manifest$$, $$VALUES ('org/names', 'ok.txt')$$,
                  'only the healthy file is in the table');
SELECT results_eq(format('SELECT * FROM pgml_repl.publish_hf_manifest(%L)', :'fixture'),
                  $$VALUES (9, 1, 0, 0)$$, 'the healthy fixture replaces it');

-- Verification is cancellable: statement_timeout stops hashing a 256 GiB
-- (sparse) blob, which would take minutes to hash, within the generous
-- limit below (it takes a fraction of a second).
CREATE FUNCTION pg_temp.verify_until_canceled(dir text, OUT state text, OUT ms double precision)
LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz := clock_timestamp();
BEGIN
  state := 'finished';
  BEGIN
    PERFORM count(*) FROM pgml_repl.hf_cache_manifest(dir, verify => true);
  EXCEPTION WHEN query_canceled THEN
    state := SQLSTATE;
  END;
  ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;
CREATE TEMP TABLE canceled AS SELECT NULL::text AS state, NULL::float8 AS ms WITH NO DATA;
SET LOCAL statement_timeout = '400ms';
INSERT INTO canceled SELECT * FROM pg_temp.verify_until_canceled(:'big');
RESET statement_timeout;
SELECT is((SELECT state FROM canceled), '57014', 'statement_timeout cancels verify');
SELECT cmp_ok((SELECT ms FROM canceled), '<', 30000::float8, 'the cancel takes effect long before the hash could end');
SELECT is((SELECT count(*)::int FROM pgml_repl.hf_cache_manifest(:'big')), 1, 'the backend works normally afterwards');
SELECT results_eq(format($$SELECT status, verified FROM pgml_repl.hf_cache_manifest(%L, true) WHERE path = 'tampered.txt'$$, :'damaged'),
                  $$VALUES ('corrupt'::text, false)$$, 'verification marks a tampered blob corrupt');

SELECT * FROM finish();
ROLLBACK;
