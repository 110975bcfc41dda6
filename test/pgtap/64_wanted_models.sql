-- Models declared in SQL (issue 16, the declaration side): want_model() and
-- unwant_model() write pgml_repl.wanted_models in the caller's transaction.
-- Refusals come at once with their SQLSTATE, a message naming the argument
-- and a HINT; a real ROLLBACK (before the test transaction) and a ROLLBACK
-- TO SAVEPOINT want nothing, a COMMIT wants; who may declare (superuser, or
-- a role granted EXECUTE and USAGE), who may read (pg_monitor). The scratch
-- server does not preload the library, so model_status() shows no worker.
\o /dev/null
BEGIN;
SELECT pgml_repl.want_model('pgtap-wm/rolled-back');
ROLLBACK;
BEGIN;
SELECT pgml_repl.want_model('pgtap-wm/committed', 'v1.0', allow_patterns => ARRAY['*.json']);
COMMIT;
\o

BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(67);

-- "<SQLSTATE> <message> [hint]" of q, or "ok"; the hint itself with hint_of.
CREATE FUNCTION pg_temp.refusal(q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    st text;
    msg text;
    hint text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    RETURN st || ' ' || msg || CASE WHEN coalesce(hint, '') <> '' THEN ' [hint]' ELSE ' [no hint]' END;
END
$f$;
CREATE FUNCTION pg_temp.hint_of(q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    hint text;
BEGIN
    EXECUTE q;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
    RETURN hint;
END
$f$;

-- 8: the objects
SELECT has_table('pgml_repl', 'wanted_models', 'wanted_models exists');
SELECT col_is_pk('pgml_repl', 'wanted_models', ARRAY['repo_type', 'repo_id', 'revision']::name[],
                 'wanted_models is keyed by (repo_type, repo_id, revision)');
SELECT ok((SELECT 'pgml_repl.wanted_models'::regclass = ANY (extconfig) FROM pg_extension
           WHERE extname = 'pgml_replication'), 'wanted_models is dumped with the extension''s configuration');
SELECT has_function('pgml_repl', 'want_model', ARRAY['text', 'text', 'text', 'text[]', 'text[]']::name[], 'want_model exists');
SELECT has_function('pgml_repl', 'unwant_model', ARRAY['text', 'text', 'text']::name[], 'unwant_model exists');
SELECT has_function('pgml_repl', 'model_status', ARRAY[]::name[], 'model_status exists');
SELECT is((SELECT bool_and(prosecdef AND proconfig = ARRAY['search_path=pg_catalog, pg_temp']) FROM pg_proc
           WHERE oid IN ('pgml_repl.want_model(text, text, text, text[], text[])'::regprocedure,
                         'pgml_repl.unwant_model(text, text, text)'::regprocedure)),
          true, 'want_model and unwant_model are SECURITY DEFINER with a fixed search_path');
SELECT is((SELECT count(*) FROM pgml_repl.wanted_models WHERE repo_id = 'pgtap-wm/rolled-back'), 0::bigint,
          'a want_model() rolled back wants nothing');

-- 2: a committed want (in its own transaction, before this one)
SELECT is((SELECT allow_patterns FROM pgml_repl.wanted_models
           WHERE (repo_type, repo_id, revision) = ('model', 'pgtap-wm/committed', 'v1.0')),
          ARRAY['*.json'], 'a want_model() committed is a row, with its patterns');
SELECT is((SELECT count(*) FROM pgml_repl.wanted_models), 1::bigint, 'only the committed row is there');

-- 13: bad repo ids
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('a--b')$$),
          '22023 repo_id contains "--" or ".." [hint]', 'repo_id a--b refused');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('../x')$$),
          '22023 repo_id has a namespace or name that starts or ends with "-" or "." [hint]', 'repo_id ../x refused');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('')$$), '22023 repo_id is empty [hint]', 'an empty repo_id refused');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model(repeat('a', 97))$$),
          '22023 repo_id has a namespace or name longer than 96 characters [hint]', 'a 97-character name refused');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('org/' || repeat('a', 96))$$), 'ok',
          'a 96-character name is fine');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('a/b/c')$$),
          '22023 repo_id has more than one "/" [hint]', 'repo_id a/b/c refused');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('org/model.git')$$),
          '22023 repo_id ends with ".git" [hint]', 'repo_id ending in .git refused');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('org/caf' || chr(233))$$),
          '22023 repo_id may contain only ASCII letters, digits, "_", "-", "." and one "/" [hint]',
          'a non-ASCII repo_id refused');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model(NULL)$$),
          '22004 repo_id must not be NULL [hint]', 'a NULL repo_id refused, not ignored');
SELECT alike(pg_temp.hint_of($$SELECT pgml_repl.want_model('a--b')$$), '%"sentence-transformers/all-MiniLM-L6-v2"%',
            'the repo_id hint shows a valid id');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.unwant_model('a--b')$$),
          '22023 repo_id contains "--" or ".." [hint]', 'unwant_model() refuses a bad id too');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.unwant_model('gpt2', NULL)$$),
          '22004 revision must not be NULL [hint]', 'unwant_model() refuses a NULL revision');

-- 7: bad revisions and repo types
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('gpt2', '')$$), '22023 revision is empty [hint]',
          'an empty revision refused');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('gpt2', 'a..b')$$),
          '22023 revision contains ".." or "@{" [hint]', 'revision a..b refused');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('gpt2', 'my branch')$$),
          '22023 revision contains a character git forbids in ref names (space \ ~ ^ : ? * [) [hint]',
          'a revision with a space refused');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('gpt2', NULL)$$), '22004 revision must not be NULL [hint]',
          'a NULL revision refused');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('gpt2', 'main', 'models')$$),
          '22023 repo_type must be model, dataset or space [hint]', 'repo_type models refused');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('gpt2', 'main', NULL)$$),
          '22004 repo_type must not be NULL [hint]', 'a NULL repo_type refused');
SELECT alike(pg_temp.hint_of($$SELECT pgml_repl.want_model('gpt2', '')$$), '%"main"%', 'the revision hint shows main');

-- 10: bad patterns
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('gpt2', allow_patterns => ARRAY['*.json', ''])$$),
          '22023 allow_patterns[2] is empty [hint]', 'an empty pattern refused by position');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('gpt2', allow_patterns => ARRAY[NULL]::text[])$$),
          '22023 allow_patterns[1] is NULL [hint]', 'a NULL pattern refused');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('gpt2', ignore_patterns => ARRAY['*.bin', E'a\tb'])$$),
          '22023 ignore_patterns[2] contains control characters [hint]', 'a pattern with a tab refused');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('gpt2', allow_patterns => ARRAY[repeat('x', 1025)])$$),
          '22023 allow_patterns[1] is longer than 1024 bytes [hint]', 'a 1025-byte pattern refused');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('gpt2', ignore_patterns => array_fill('*'::text, ARRAY[257]))$$),
          '22023 ignore_patterns has more than 256 patterns [hint]', '257 patterns refused');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('gpt2', allow_patterns => '{}')$$),
          '22023 allow_patterns is an empty array [hint]', 'an empty allow list (it would keep no file) refused');
SELECT is(pg_temp.refusal($$SELECT pgml_repl.want_model('gpt2', allow_patterns => '{{a},{b}}')$$),
          '22023 allow_patterns must be a one-dimensional array [hint]', 'a two-dimensional list refused');
SELECT alike(pg_temp.hint_of($$SELECT pgml_repl.want_model('gpt2', allow_patterns => ARRAY[''])$$),
            '%''*.safetensors''%', 'the pattern hint shows a valid pattern');
SELECT is((SELECT count(*) FROM pgml_repl.wanted_models), 2::bigint,
          'no refusal wrote a row (the committed one and the 96-character name are there)');

-- 4: the table refuses rows written by hand that break the same rules
SELECT throws_ok($$INSERT INTO pgml_repl.wanted_models (repo_type, repo_id, revision) VALUES ('model', 'a--b', 'main')$$,
                 '23514', NULL, 'a hand-written bad repo_id breaks a CHECK');
SELECT throws_ok($$INSERT INTO pgml_repl.wanted_models (repo_type, repo_id, revision) VALUES ('model', 'gpt2', 'a b')$$,
                 '23514', NULL, 'a hand-written bad revision breaks a CHECK');
SELECT throws_ok($$INSERT INTO pgml_repl.wanted_models (repo_type, repo_id, revision, allow_patterns)
                   VALUES ('model', 'gpt2', 'main', '{""}')$$,
                 '23514', NULL, 'a hand-written empty pattern breaks a CHECK');
SELECT is(pgml_repl.hf_model_request_problem('model', 'gpt2', 'main', NULL, ARRAY[NULL]::text[]),
          'ignore_patterns[1] is NULL', 'hf_model_request_problem() says why');

-- 11: wanting, wanting again, unwanting
SELECT lives_ok($$SELECT pgml_repl.want_model('sentence-transformers/all-MiniLM-L6-v2')$$, 'want a model with defaults');
SELECT results_eq($$SELECT repo_type, repo_id, revision, allow_patterns, ignore_patterns FROM pgml_repl.wanted_models
                    WHERE repo_id = 'sentence-transformers/all-MiniLM-L6-v2'$$,
                  $$VALUES ('model', 'sentence-transformers/all-MiniLM-L6-v2', 'main', NULL::text[], NULL::text[])$$,
                  'the defaults: model, main, every file');
SELECT lives_ok($$SELECT pgml_repl.want_model('gpt2', 'refs/pr/1', 'model', ARRAY['*.safetensors', '*.json'], ARRAY['*.bin'])$$,
                'want a model with patterns at a pull request ref');
UPDATE pgml_repl.wanted_models SET wanted_at = '2020-01-01 00:00:00+00' WHERE repo_id = 'gpt2';
SELECT lives_ok($$SELECT pgml_repl.want_model('gpt2', 'refs/pr/1', allow_patterns => '[0:1]={onnx/*,config.json}')$$,
                'want it again with other patterns');
SELECT results_eq($$SELECT allow_patterns, array_lower(allow_patterns, 1), ignore_patterns, wanted_at
                    FROM pgml_repl.wanted_models WHERE repo_id = 'gpt2'$$,
                  $$VALUES (ARRAY['onnx/*', 'config.json'], 1, NULL::text[], '2020-01-01 00:00:00+00'::timestamptz)$$,
                  'wanting again replaces both pattern lists (stored from 1) and keeps wanted_at');
SELECT lives_ok($$SELECT pgml_repl.want_model('org/data', repeat('0', 40), 'dataset')$$, 'want a dataset at a commit');
SELECT is(pgml_repl.unwant_model('gpt2', 'refs/pr/1'), true, 'unwant_model() is true when a row went');
SELECT is(pgml_repl.unwant_model('gpt2', 'refs/pr/1'), false, 'and false when nothing was wanted');
SELECT is(pgml_repl.unwant_model('org/data', repeat('0', 40)), false, 'the repo_type is part of the key');
SELECT is((SELECT count(*) FROM pgml_repl.wanted_models), 4::bigint,
          'committed, MiniLM, the 96-character name and the dataset are wanted');

-- 3: a savepoint
SAVEPOINT before_want;
SELECT lives_ok($$SELECT pgml_repl.want_model('pgtap-wm/in-savepoint')$$, 'want inside a savepoint');
ROLLBACK TO SAVEPOINT before_want;
SELECT is((SELECT count(*) FROM pgml_repl.wanted_models WHERE repo_id = 'pgtap-wm/in-savepoint'), 0::bigint,
          'ROLLBACK TO SAVEPOINT wants nothing');
SELECT is(pgml_repl.unwant_model('pgtap-wm/committed', 'v1.0'), true, 'unwant the committed model (rolled back at the end)');

-- 13: privileges
CREATE ROLE pgtap_wm_plain;
CREATE ROLE pgtap_wm_deployer;
CREATE ROLE pgtap_wm_monitor IN ROLE pg_monitor;
GRANT USAGE ON SCHEMA pgml_repl TO pgtap_wm_plain, pgtap_wm_deployer;
GRANT EXECUTE ON FUNCTION pgml_repl.want_model(text, text, text, text[], text[]),
                          pgml_repl.unwant_model(text, text, text) TO pgtap_wm_deployer;

SET LOCAL ROLE pgtap_wm_plain;
SELECT throws_ok($$SELECT pgml_repl.want_model('pgtap-wm/plain')$$, '42501', NULL, 'a plain role cannot want_model()');
SELECT throws_ok($$SELECT pgml_repl.unwant_model('gpt2')$$, '42501', NULL, 'a plain role cannot unwant_model()');
SELECT throws_ok($$INSERT INTO pgml_repl.wanted_models (repo_type, repo_id, revision) VALUES ('model', 'gpt2', 'main')$$,
                 '42501', NULL, 'a plain role cannot write the table');
RESET ROLE;

SET LOCAL ROLE pgtap_wm_deployer;
SELECT lives_ok($$SELECT pgml_repl.want_model('pgtap-wm/deployed', ignore_patterns => ARRAY['*.onnx'])$$,
                'a role granted EXECUTE and USAGE may want_model()');
SELECT is(pgml_repl.unwant_model('sentence-transformers/all-MiniLM-L6-v2'), true, 'and unwant_model()');
SELECT throws_ok($$DELETE FROM pgml_repl.wanted_models$$, '42501', NULL,
                 'but it cannot write the table directly');
RESET ROLE;
SELECT is((SELECT ignore_patterns FROM pgml_repl.wanted_models WHERE repo_id = 'pgtap-wm/deployed'), ARRAY['*.onnx'],
          'the deployer''s row is there');

SET LOCAL ROLE pgtap_wm_monitor;
SELECT is((SELECT count(*) FROM pgml_repl.wanted_models), 3::bigint, 'pg_monitor reads wanted_models');
SELECT lives_ok($$SELECT * FROM pgml_repl.model_status()$$, 'pg_monitor may call model_status()');
SELECT is((SELECT count(*) FROM pgml_repl.model_status()), 3::bigint, 'model_status() has a row per wanted model');
SELECT throws_ok($$SELECT pgml_repl.want_model('pgtap-wm/monitor')$$, '42501', NULL, 'pg_monitor cannot want_model()');
RESET ROLE;
SET LOCAL ROLE pgtap_wm_plain;
SELECT throws_ok($$SELECT * FROM pgml_repl.model_status()$$, '42501', NULL, 'a plain role cannot call model_status()');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;

\o /dev/null
SELECT pgml_repl.unwant_model('pgtap-wm/committed', 'v1.0');
\o
