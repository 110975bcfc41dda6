-- HuggingFace cache manifest: scan, verify, repos, publish, privileges.
-- The caches come from test/fixtures/build_hf_cache.py (fixed contents, so
-- fixed blob names); test/run exports the healthy one's path.
\getenv fixture PGML_REPL_FIXTURE_CACHE
\set damaged :fixture '/../damaged-hub'
\set unreadable :fixture '/../unreadable-hub'
\set missing :fixture '/../no-such-hub'
\set names :fixture '/../names-hub'

-- The setting exists, is empty by default and is not a session setting.
LOAD 'pgml_replication';
SHOW pgml_replication.hf_cache_dir;
SET pgml_replication.hf_cache_dir = '/tmp';

-- Every file of every snapshot, nested paths and UTF-8 names included.
SELECT repo_type, repo_id, left(revision, 8) AS rev, refs, path,
       left(blob, 12) AS blob, length(blob) AS blob_len, size, status, verified
FROM pgml_repl.hf_cache_manifest(:'fixture')
ORDER BY repo_type, repo_id, rev, path;

-- verify => true hashes every blob: all of them match their names.
SELECT status, verified, count(*)
FROM pgml_repl.hf_cache_manifest(:'fixture', verify => true)
GROUP BY 1, 2 ORDER BY 1, 2;

-- One row per repo; the shared weights blob counts once.
SELECT repo_type, repo_id, revisions, files, size_on_disk,
       last_modified AT TIME ZONE 'UTC' AS last_modified_utc, refs
FROM pgml_repl.hf_cache_repos(:'fixture')
ORDER BY repo_type, repo_id;

-- A damaged cache never fails the scan: statuses and notices say what is wrong.
SELECT repo_id, left(revision, 8) AS rev, path, left(blob, 12) AS blob, size, status
FROM pgml_repl.hf_cache_manifest(:'damaged')
ORDER BY path NULLS LAST, blob;
-- Only verification finds the tampered blob.
SELECT path, status, verified
FROM pgml_repl.hf_cache_manifest(:'damaged', true)
WHERE path IN ('good.txt', 'tampered.txt')
ORDER BY path;

-- A missing folder gives no rows (and a NOTICE naming it).
SET client_min_messages = warning;
SELECT count(*) AS rows_of_missing_cache FROM pgml_repl.hf_cache_manifest(:'missing');
RESET client_min_messages;

-- An unreadable folder and a relative path are errors with a hint.
SELECT set_config('hf_test.unreadable', :'unreadable', false) IS NOT NULL AS ok;
DO $$
DECLARE
  hint text;
BEGIN
  PERFORM * FROM pgml_repl.hf_cache_manifest(current_setting('hf_test.unreadable'));
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
  RAISE NOTICE 'sqlstate %, hint: %', SQLSTATE, hint;
END $$;
SELECT * FROM pgml_repl.hf_cache_manifest('relative/hub');

-- publish: the first run adds every healthy row ...
BEGIN;
SELECT * FROM pgml_repl.publish_hf_manifest(:'fixture');
SELECT repo_type, repo_id, left(revision, 8) AS rev, refs, path, left(blob, 12) AS blob, size,
       published_at = now() AS published_now
FROM pgml_repl.hf_manifest ORDER BY 1, 2, 3, 5;
COMMIT;
-- ... and an unchanged cache writes nothing: no transaction id is even
-- assigned, and every row keeps its first published_at.
BEGIN;
SELECT * FROM pgml_repl.publish_hf_manifest(:'fixture');
SELECT pg_current_xact_id_if_assigned() IS NULL AS wrote_nothing;
SELECT bool_and(published_at < now()) AS rows_untouched FROM pgml_repl.hf_manifest;
COMMIT;
-- The damaged cache replaces it: only its healthy file is published.
SELECT * FROM pgml_repl.publish_hf_manifest(:'damaged');
SELECT repo_id, path, status FROM pgml_repl.hf_manifest
  JOIN pgml_repl.hf_cache_manifest(:'damaged') USING (repo_type, repo_id, revision, path);
-- Publishing a folder that does not exist would empty every replica: refused.
SELECT set_config('hf_test.missing', :'missing', false) IS NOT NULL AS ok;
SET client_min_messages = warning;
DO $$
DECLARE
  hint text;
BEGIN
  PERFORM * FROM pgml_repl.publish_hf_manifest(current_setting('hf_test.missing'));
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
  RAISE WARNING 'sqlstate %, hint: %', SQLSTATE, hint;
END $$;
RESET client_min_messages;
SELECT count(*) AS rows_kept FROM pgml_repl.hf_manifest;
SELECT * FROM pgml_repl.publish_hf_manifest(:'fixture');

-- Names the Hub never creates: the scan marks the files, skips the folder
-- huggingface_hub would misread and ignores the bad ref; publishing refuses
-- them and names each in a WARNING with a HINT; only the healthy file is
-- written.
SELECT repo_id, path, refs, status FROM pgml_repl.hf_cache_manifest(:'names') ORDER BY path;
SELECT * FROM pgml_repl.publish_hf_manifest(:'names');
SELECT repo_id, path, refs FROM pgml_repl.hf_manifest ORDER BY 1, 2;
SELECT * FROM pgml_repl.publish_hf_manifest(:'fixture');

-- One rule per column, the same the publisher and the replica apply: NULL
-- when the value follows it, else the reason.
\pset null '(null)'
SELECT id, pgml_repl.hf_repo_id_problem(id) AS problem
FROM unnest(ARRAY['gpt2', 'sentence-transformers/all-MiniLM-L6-v2', '_a_/b.c-d', 'orgbars-/m1',
                  '-orgbars/m2', 'orgbars/m3.', 'orgbars/.m4', 'orgbars/m5--x', 'org..bars/m6',
                  'orgaa/-dstet_1.0', 'a/b/c', 'org/foo.git', 'café/modèle', E'gpt2\n']) AS id;
SELECT r AS refs, pgml_repl.hf_refs_problem(r) AS problem
FROM (VALUES ('{}'::text[]), ('{main,v1.0,refs/pr/1}'), ('{main,"bad ref"}'), ('{a..b}'), ('{main.lock}'),
             ('{/main}'), ('{main,NULL}')) AS v(r);
SELECT p AS path, pgml_repl.hf_path_problem(p) AS problem
FROM unnest(ARRAY['1_Pooling/config.json', 'onnx/model_O4.onnx', '.gitattributes', '.git/config',
                  'a//b', '../x', '/etc/passwd', E'a\\b', E'a\nb']) AS p;
SELECT pgml_repl.hf_revision_problem('main') AS revision_problem,
       pgml_repl.hf_revision_problem(repeat('a', 40)) AS commit_ok,
       pgml_repl.hf_blob_problem(repeat('B', 40)) AS blob_problem;
\pset null ''

-- The table keeps its rows in pg_dump and guards its content.
\set VERBOSITY terse
SELECT extcondition IS NOT NULL AND 'pgml_repl.hf_manifest'::regclass = ANY (extconfig) AS dumped
FROM pg_extension WHERE extname = 'pgml_replication';
INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, path, blob, size)
VALUES ('kernel', 'x', repeat('a', 40), 'f', repeat('b', 40), 1);
INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, path, blob, size)
VALUES ('model', 'x', repeat('a', 40), '../f', repeat('b', 40), 1);
INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, path, blob, size)
VALUES ('model', 'x', repeat('a', 40), 'f', repeat('b', 40), -1);
-- The Hub's rules, each in a constraint named after it: the ids of issue 14,
-- a ref git forbids, a .git path, a branch name as revision, a short blob.
DO $$
DECLARE
  id text;
  constraint_name text;
BEGIN
  FOREACH id IN ARRAY ARRAY['orgbars-/m1', '-orgbars/m2', 'orgbars/m3.', 'orgbars/.m4', 'orgbars/m5--x', 'org..bars/m6'] LOOP
    BEGIN
      INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, path, blob, size)
      VALUES ('model', id, repeat('2', 40), 'x.txt', repeat('b', 40), 1);
      RAISE NOTICE '% accepted', id;
    EXCEPTION WHEN check_violation THEN
      GET STACKED DIAGNOSTICS constraint_name = CONSTRAINT_NAME;
      RAISE NOTICE '% refused by %', id, constraint_name;
    END;
  END LOOP;
END $$;
INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, refs, path, blob, size)
VALUES ('model', 'org/m', repeat('a', 40), '{main,"bad ref"}', 'f', repeat('b', 40), 1);
INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, path, blob, size)
VALUES ('model', 'org/m', repeat('a', 40), '.git/config', repeat('b', 40), 1);
INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, path, blob, size)
VALUES ('model', 'org/m', 'main', 'f', repeat('b', 40), 1);
INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, path, blob, size)
VALUES ('model', 'org/m', repeat('a', 40), 'f', 'abc', 1);
-- Real Hub names pass.
INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, refs, path, blob, size) VALUES
  ('model', 'sentence-transformers/all-MiniLM-L6-v2', repeat('a', 40), '{main,refs/pr/1,v1.0}', '1_Pooling/config.json', repeat('b', 40), 1),
  ('model', 'Xenova/all-MiniLM-L6-v2', repeat('a', 40), '{main}', 'onnx/model_O4.onnx', repeat('c', 64), 2),
  ('dataset', 'squad', repeat('a', 40), '{}', 'plain_text/train-00000-of-00001.parquet', repeat('d', 64), 3);
SELECT repo_type, repo_id, path FROM pgml_repl.hf_manifest WHERE revision = repeat('a', 40) ORDER BY 1, 2;
DELETE FROM pgml_repl.hf_manifest WHERE revision = repeat('a', 40);

-- Privileges: superuser only by default; EXECUTE is grantable, and an
-- explicit cache_dir also takes pg_read_server_files.
CREATE ROLE hf_plain;
CREATE ROLE hf_monitor IN ROLE pg_monitor;
GRANT USAGE ON SCHEMA pgml_repl TO hf_plain, hf_monitor;
SET ROLE hf_plain;
SELECT count(*) FROM pgml_repl.hf_cache_manifest(:'fixture');
SELECT count(*) FROM pgml_repl.hf_cache_repos(:'fixture');
SELECT * FROM pgml_repl.publish_hf_manifest(:'fixture');
SELECT count(*) FROM pgml_repl.hf_manifest;
SET ROLE hf_monitor;
SELECT count(*) AS monitor_sees FROM pgml_repl.hf_manifest;
DELETE FROM pgml_repl.hf_manifest;
RESET ROLE;
GRANT EXECUTE ON FUNCTION pgml_repl.hf_cache_manifest(text, boolean) TO hf_plain;
SET ROLE hf_plain;
SELECT count(*) FROM pgml_repl.hf_cache_manifest(:'fixture');
RESET ROLE;
GRANT pg_read_server_files TO hf_plain;
SET ROLE hf_plain;
SELECT count(*) AS granted_sees FROM pgml_repl.hf_cache_manifest(:'fixture');
RESET ROLE;

DELETE FROM pgml_repl.hf_manifest;
DROP OWNED BY hf_plain;
DROP ROLE hf_plain;
DROP OWNED BY hf_monitor;
DROP ROLE hf_monitor;
\set VERBOSITY default
