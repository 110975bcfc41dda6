-- hf_blob_read(): the serving side of a replica's fetch from its upstream
-- (issue 12). Every refusal, the range rules, PUBLIC denied, a granted role
-- allowed, allow_blob_fetch()/disallow_blob_fetch(), and the reader slot a
-- transaction holds. The cache is the healthy fixture
-- (test/fixtures/build_hf_cache.py); manifest rows are inserted by hand and
-- rolled back.
\getenv fixture PGML_REPL_FIXTURE_CACHE
\set weights 'a1f259d4365ed4320c377ce26f5c8c56dcdc9a89e7b641bfd8eabfbbeac86654'
\set absent 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc'

-- The cache folder is a SIGHUP setting: set it, and wait until this backend
-- has it (a backend handles a SIGHUP between commands).
\o /dev/null
LOAD 'pgml_replication';
ALTER SYSTEM SET pgml_replication.hf_cache_dir = :'fixture';
SELECT pg_reload_conf();
SELECT format('SELECT pg_sleep(0.1) WHERE current_setting(%L) IS DISTINCT FROM %L',
              'pgml_replication.hf_cache_dir', :'fixture') FROM generate_series(1, 300) \gexec
\o

BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(45);

SELECT has_function('pgml_repl', 'hf_blob_read', ARRAY['text', 'bigint', 'integer'], 'hf_blob_read exists');
SELECT is(current_setting('pgml_replication.max_blob_readers'), '4', 'max_blob_readers defaults to 4');
SELECT ok(NOT has_function_privilege('public', 'pgml_repl.hf_blob_read(text, bigint, integer)', 'EXECUTE'),
          'PUBLIC cannot run hf_blob_read');

INSERT INTO pgml_repl.hf_manifest (repo_type, repo_id, revision, path, blob, size) VALUES
  ('model', 'sentence-transformers/all-MiniLM-L6-v2', repeat('1', 40), 'model.safetensors', :'weights', 16384),
  ('model', 'sentence-transformers/all-MiniLM-L6-v2', repeat('1', 40), 'absent.bin', :'absent', 10),
  ('model', 'gpt2', repeat('2', 40), 'wrong-size.bin', '4a1a1b1a2b2c3c3d4d4e5e5f6f7a7b8c8d9e9f00', 3);

-- Whole and in ranges: the bytes hash to the blob's name.
SELECT is(encode(sha256(pgml_repl.hf_blob_read(:'weights', 0, 16384)), 'hex'), :'weights',
          'the whole blob hashes to its name');
SELECT is(encode(sha256(pgml_repl.hf_blob_read(:'weights', 0, 10000) || pgml_repl.hf_blob_read(:'weights', 10000, 10000)), 'hex'),
          :'weights', 'two ranges, the second clamped at the end, make the blob');
SELECT is(pgml_repl.hf_blob_read(:'weights', 16380, 100), '\xfcfdfeff'::bytea, 'a read at the end returns the last bytes');
SELECT is(pgml_repl.hf_blob_read(:'weights', 1, 2), '\x0102'::bytea, 'a range inside the blob');

-- A reading transaction holds one slot, however many reads it makes.
SELECT is((SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND database = 0),
          1::bigint, 'a reading transaction holds one reader slot');

-- hf_blob_read_rows(): the same bytes as rows of at most 256 KiB, under the
-- same checks (the 20 MiB blobs of cluster test 065 come as many rows).
SELECT has_function('pgml_repl', 'hf_blob_read_rows', ARRAY['text', 'bigint', 'integer'], 'hf_blob_read_rows exists');
SELECT ok(NOT has_function_privilege('public', 'pgml_repl.hf_blob_read_rows(text, bigint, integer)', 'EXECUTE'),
          'PUBLIC cannot run hf_blob_read_rows');
SELECT is((SELECT encode(sha256(string_agg(r, ''::bytea)), 'hex')
             FROM (SELECT pgml_repl.hf_blob_read_rows(:'weights', 0, 16384) AS r) s), :'weights',
          'the rows of the whole blob hash to its name');
SELECT is(ARRAY(SELECT pgml_repl.hf_blob_read_rows(:'weights', 16380, 100)), ARRAY['\xfcfdfeff'::bytea],
          'a range clamped at the end is one row of the last bytes');
SELECT is((SELECT count(*) FROM (SELECT pgml_repl.hf_blob_read_rows(:'weights', 0, NULL)) s), 0::bigint,
          'STRICT: a NULL argument gives no rows');
SELECT throws_ok($$SELECT pgml_repl.hf_blob_read_rows('../../etc/passwd', 0, 1)$$, '22023', 'invalid blob name',
                 'rows: a path is not a blob name');
SELECT throws_ok(format('SELECT pgml_repl.hf_blob_read_rows(%L, 0, 1)', repeat('d', 64)), '42704',
                 format('blob %s is not in pgml_repl.hf_manifest', repeat('d', 64)), 'rows: a blob the manifest does not list');
SELECT throws_ok(format('SELECT pgml_repl.hf_blob_read_rows(%L, 0, 1)', :'absent'), '58P01',
                 format('blob %s is not in the cache', :'absent'), 'rows: a listed blob the cache does not hold');
SELECT throws_ok(format('SELECT pgml_repl.hf_blob_read_rows(%L, 16384, 1)', :'weights'), '22023',
                 'offset 16384 is past the end of the blob', 'rows: an offset at the end');
SELECT throws_ok(format('SELECT pgml_repl.hf_blob_read_rows(%L, 0, 67108865)', :'weights'), '22023',
                 'length must be from 1 to 67108864', 'rows: a length over 64 MiB');

-- Refusals, each with its SQLSTATE.
SELECT throws_ok($$SELECT pgml_repl.hf_blob_read('../../etc/passwd', 0, 1)$$, '22023', 'invalid blob name',
                 'a path is not a blob name');
SELECT throws_ok(format('SELECT pgml_repl.hf_blob_read(%L, 0, 1)', upper(:'weights')), '22023', 'invalid blob name',
                 'upper-case hex is not a blob name');
SELECT throws_ok(format('SELECT pgml_repl.hf_blob_read(%L, 0, 1)', :'weights' || '/x'), '22023', 'invalid blob name',
                 'a blob name with a slash is refused');
SELECT throws_ok($$SELECT pgml_repl.hf_blob_read('', 0, 1)$$, '22023', 'invalid blob name', 'an empty name is refused');
SELECT throws_ok(format('SELECT pgml_repl.hf_blob_read(%L, 0, 1)', repeat('d', 64)), '42704',
                 format('blob %s is not in pgml_repl.hf_manifest', repeat('d', 64)), 'a blob the manifest does not list');
SELECT throws_ok(format('SELECT pgml_repl.hf_blob_read(%L, 0, 1)', :'absent'), '58P01',
                 format('blob %s is not in the cache', :'absent'), 'a listed blob the cache does not hold');
SELECT throws_ok($$SELECT pgml_repl.hf_blob_read('4a1a1b1a2b2c3c3d4d4e5e5f6f7a7b8c8d9e9f00', 0, 1)$$, '58P01',
                 NULL, 'a listed blob of another repo''s folder is not there either');
UPDATE pgml_repl.hf_manifest SET size = 16385 WHERE blob = :'weights';
SELECT throws_ok(format('SELECT pgml_repl.hf_blob_read(%L, 0, 1)', :'weights'), '58P01',
                 format('blob %s is not complete in the cache', :'weights'), 'a blob of another size than the manifest''s');
UPDATE pgml_repl.hf_manifest SET size = 16384 WHERE blob = :'weights';
SELECT throws_ok(format('SELECT pgml_repl.hf_blob_read(%L, -1, 1)', :'weights'), '22023',
                 'offset must not be negative', 'a negative offset');
SELECT throws_ok(format('SELECT pgml_repl.hf_blob_read(%L, 16384, 1)', :'weights'), '22023',
                 'offset 16384 is past the end of the blob', 'an offset at the end');
SELECT throws_ok(format('SELECT pgml_repl.hf_blob_read(%L, 1000000, 1)', :'weights'), '22023',
                 'offset 1000000 is past the end of the blob', 'an offset past the end');
SELECT throws_ok(format('SELECT pgml_repl.hf_blob_read(%L, 0, 0)', :'weights'), '22023',
                 'length must be from 1 to 67108864', 'a zero length');
SELECT throws_ok(format('SELECT pgml_repl.hf_blob_read(%L, 0, 67108865)', :'weights'), '22023',
                 'length must be from 1 to 67108864', 'a length over 64 MiB');
SELECT is(pgml_repl.hf_blob_read(:'weights', 0, NULL), NULL, 'STRICT: a NULL argument gives NULL');

-- Privileges: PUBLIC denied; allow_blob_fetch() grants what reading needs.
CREATE ROLE blob_tap_plain LOGIN;
CREATE ROLE blob_tap_fetcher LOGIN REPLICATION;
GRANT USAGE ON SCHEMA pgml_repl TO blob_tap_plain;
SET LOCAL ROLE blob_tap_plain;
SELECT throws_ok(format('SELECT pgml_repl.hf_blob_read(%L, 0, 1)', :'weights'), '42501', NULL,
                 'a plain role cannot read blobs');
SELECT throws_ok(format('SELECT pgml_repl.hf_blob_read_rows(%L, 0, 1)', :'weights'), '42501', NULL,
                 'nor their rows');
RESET ROLE;
SELECT is((SELECT changed FROM pgml_repl.allow_blob_fetch(role_name => 'blob_tap_fetcher')), true,
          'allow_blob_fetch() grants a role');
SELECT is((SELECT changed FROM pgml_repl.allow_blob_fetch(role_name => 'blob_tap_fetcher')), false,
          'a second allow_blob_fetch() changes nothing');
SELECT is((SELECT regexp_replace(hba_rule, '\s+', ' ', 'g') FROM pgml_repl.allow_blob_fetch('10.20.30.40', 'blob_tap_fetcher')),
          format('host %s blob_tap_fetcher 10.20.30.40/32 scram-sha-256 # pgml_replication', current_database()),
          'with an address it queues the database line for pg_hba.conf');
SET LOCAL ROLE blob_tap_fetcher;
SELECT is(encode(sha256(pgml_repl.hf_blob_read(:'weights', 0, 16384)), 'hex'), :'weights',
          'the granted role reads the blob');
SELECT is((SELECT count(*) FROM (SELECT pgml_repl.hf_blob_read_rows(:'weights', 0, 16384)) s), 1::bigint,
          'and its rows');
RESET ROLE;
SELECT is((SELECT changed FROM pgml_repl.disallow_blob_fetch(role_name => 'blob_tap_fetcher')), true,
          'disallow_blob_fetch() revokes');
SET LOCAL ROLE blob_tap_fetcher;
SELECT throws_ok(format('SELECT pgml_repl.hf_blob_read(%L, 0, 1)', :'weights'), '42501', NULL,
                 'after disallow_blob_fetch() the role is denied');
RESET ROLE;
SELECT throws_ok($$SELECT * FROM pgml_repl.allow_blob_fetch(role_name => 'blob_tap_nobody')$$, '42704',
                 'role "blob_tap_nobody" does not exist', 'allow_blob_fetch() needs an existing role');
SELECT throws_ok($$SELECT * FROM pgml_repl.allow_blob_fetch('all', 'blob_tap_fetcher')$$, '22023', NULL,
                 'allow_blob_fetch() refuses an address keyword');
SELECT lives_ok($$SELECT * FROM pgml_repl.create_replication_user('blob_tap_new')$$,
                'create_replication_user() creates a role');
SELECT ok(has_function_privilege('blob_tap_new', 'pgml_repl.hf_blob_read(text, bigint, integer)', 'EXECUTE')
          AND has_function_privilege('blob_tap_new', 'pgml_repl.hf_blob_read_rows(text, bigint, integer)', 'EXECUTE')
          AND has_table_privilege('blob_tap_new', 'pgml_repl.hf_manifest', 'SELECT'),
          'create_replication_user() grants what fetching needs');

SELECT * FROM finish();
ROLLBACK;

\o /dev/null
LOAD 'pgml_replication';
ALTER SYSTEM RESET pgml_replication.hf_cache_dir;
SELECT pg_reload_conf();
\o
