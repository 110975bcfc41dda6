/*
 * hf_cache/manifest_table.c — the only code that reads or writes
 * pgml_repl.hf_manifest. The publisher (publish_hf_manifest() and the
 * primary's worker), the replica's worker and check() all come here, so the
 * table's columns are turned into pgmlr_hf_manifest_row in one place.
 */
#include "shim.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "hf_cache/manifest_table.h"

#define MANIFEST_TABLE "pgml_repl.hf_manifest"

static void
spi_check(int rc, int expected, const char *what)
{
	if (rc != expected)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not %s pgml_repl.hf_manifest: %s", what, SPI_result_code_string(rc))));
}

static void
spi_connect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not connect to SPI")));
}

/* A size column of an SPI row; -1 for NULL (a dropped constraint allows it). */
static int64
size_column(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? -1 : DatumGetInt64(d);
}

/* refs as C strings; a NULL element (a dropped CHECK allows it) is "". */
static const char *const *
ref_names(Datum refs, bool isnull, int32 *count)
{
	Datum	   *elems = NULL;
	bool	   *elem_nulls = NULL;
	int			nelems = 0;
	const char **names;

	if (!isnull)
		deconstruct_array(DatumGetArrayTypeP(refs), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &elem_nulls, &nelems);
	names = (const char **) palloc0(sizeof(char *) * (nelems + 1));
	for (int k = 0; k < nelems; k++)
		names[k] = elem_nulls[k] ? "" : TextDatumGetCString(elems[k]);
	*count = nelems;
	return names;
}

pgmlr_hf_manifest_row *
pgmlr_manifest_table_read(bool for_publish, size_t *count)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext spi_cxt;
	pgmlr_hf_manifest_row *rows;
	uint64		n;

	spi_connect();
	/* Publishers queue up; readers (replica workers) are not blocked. */
	if (for_publish)
		spi_check(SPI_execute("LOCK TABLE " MANIFEST_TABLE " IN SHARE ROW EXCLUSIVE MODE", false, 0),
				  SPI_OK_UTILITY, "lock");
	spi_check(SPI_execute("SELECT repo_type, repo_id, revision, refs, path, blob, size FROM " MANIFEST_TABLE
						  " ORDER BY repo_type, repo_id, revision, path",
						  !for_publish, 0),
			  SPI_OK_SELECT, "read");
	n = SPI_processed;

	/* The rows outlive SPI_finish: build them in the caller's context. */
	spi_cxt = MemoryContextSwitchTo(caller);
	rows = (pgmlr_hf_manifest_row *) palloc0(sizeof(pgmlr_hf_manifest_row) * (n + 1));
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		pgmlr_hf_manifest_row *row = &rows[i];
		bool		isnull;
		Datum		d;

		row->repo_type = SPI_getvalue(tup, desc, 1);
		row->repo_id = SPI_getvalue(tup, desc, 2);
		row->revision = SPI_getvalue(tup, desc, 3);
		d = SPI_getbinval(tup, desc, 4, &isnull);
		row->refs = ref_names(d, isnull, &row->nrefs);
		row->path = SPI_getvalue(tup, desc, 5);
		row->blob = SPI_getvalue(tup, desc, 6);
		row->size = size_column(tup, desc, 7);
	}
	MemoryContextSwitchTo(spi_cxt);
	SPI_finish();
	*count = (size_t) n;
	return rows;
}

pgmlr_manifest_blob_entry *
pgmlr_manifest_table_find_blob(const char *blob, int *count)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext spi_cxt;
	pgmlr_manifest_blob_entry *entries;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	uint64		n;

	values[0] = CStringGetTextDatum(blob);
	spi_connect();
	spi_check(SPI_execute_with_args("SELECT DISTINCT repo_type, repo_id, size FROM " MANIFEST_TABLE
									" WHERE blob = $1 ORDER BY 1, 2, 3",
									1, types, values, NULL, true, 0),
			  SPI_OK_SELECT, "look a blob up in");
	n = SPI_processed;
	spi_cxt = MemoryContextSwitchTo(caller);
	entries = (pgmlr_manifest_blob_entry *) palloc0(sizeof(pgmlr_manifest_blob_entry) * (n + 1));
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		entries[i].repo_type = SPI_getvalue(tup, desc, 1);
		entries[i].repo_id = SPI_getvalue(tup, desc, 2);
		entries[i].size = size_column(tup, desc, 3);
	}
	MemoryContextSwitchTo(spi_cxt);
	SPI_finish();
	*count = (int) n;
	return entries;
}

pgmlr_manifest_repo *
pgmlr_manifest_table_repos(int *count)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext spi_cxt;
	pgmlr_manifest_repo *repos;
	uint64		n;

	spi_connect();
	spi_check(SPI_execute("SELECT DISTINCT repo_type, repo_id FROM " MANIFEST_TABLE " ORDER BY 1, 2", true, 0),
			  SPI_OK_SELECT, "list the repos of");
	n = SPI_processed;
	spi_cxt = MemoryContextSwitchTo(caller);
	repos = (pgmlr_manifest_repo *) palloc0(sizeof(pgmlr_manifest_repo) * (n + 1));
	for (uint64 i = 0; i < n; i++)
	{
		repos[i].repo_type = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		repos[i].repo_id = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
	}
	MemoryContextSwitchTo(spi_cxt);
	SPI_finish();
	*count = (int) n;
	return repos;
}

void
pgmlr_manifest_table_set_select(const char *role, bool grant)
{
	char	   *sql = psprintf(grant ? "GRANT SELECT ON " MANIFEST_TABLE " TO %s" : "REVOKE SELECT ON " MANIFEST_TABLE " FROM %s",
							   quote_identifier(role));

	spi_check(SPI_execute(sql, false, 0), SPI_OK_UTILITY, grant ? "grant SELECT on" : "revoke SELECT on");
}

bool
pgmlr_manifest_table_readable_by(Oid roleid)
{
	Oid			rel = get_relname_relid("hf_manifest", get_namespace_oid("pgml_repl", false));

	return OidIsValid(rel) && pg_class_aclcheck(rel, roleid, ACL_SELECT) == ACLCHECK_OK;
}

static Datum
text_array(const char *const *items, int n)
{
	Datum	   *elems;

	if (n == 0)
		return PointerGetDatum(construct_empty_array(TEXTOID));
	elems = (Datum *) palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

static void
apply_changes(const pgmlr_hf_diff *diff, pgmlr_hf_change change)
{
	static const char *const sql[] = {
		[PGMLR_HF_INSERT] = "INSERT INTO " MANIFEST_TABLE
		" (repo_type, repo_id, revision, refs, path, blob, size, published_at)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, now())",
		[PGMLR_HF_UPDATE] = "UPDATE " MANIFEST_TABLE
		" SET refs = $4, blob = $6, size = $7, published_at = now()"
		" WHERE repo_type = $1 AND repo_id = $2 AND revision = $3 AND path = $5",
		[PGMLR_HF_DELETE] = "DELETE FROM " MANIFEST_TABLE
		" WHERE repo_type = $1 AND repo_id = $2 AND revision = $3 AND path = $5",
	};
	static const int expected[] = {
		[PGMLR_HF_INSERT] = SPI_OK_INSERT,
		[PGMLR_HF_UPDATE] = SPI_OK_UPDATE,
		[PGMLR_HF_DELETE] = SPI_OK_DELETE,
	};
	Oid			types[7] = {TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, TEXTOID, TEXTOID, INT8OID};
	size_t		n = pgmlr_hf_diff_count(diff, change);
	SPIPlanPtr	plan;

	if (n == 0)
		return;
	plan = SPI_prepare(sql[change], 7, types);
	if (plan == NULL)
		spi_check(SPI_result, SPI_OK_SELECT, "prepare a change of");
	for (size_t i = 0; i < n; i++)
	{
		const pgmlr_hf_manifest_row *r = pgmlr_hf_diff_row(diff, change, i);
		Datum		values[7];

		values[0] = CStringGetTextDatum(r->repo_type);
		values[1] = CStringGetTextDatum(r->repo_id);
		values[2] = CStringGetTextDatum(r->revision);
		values[3] = text_array(r->refs, r->nrefs);
		values[4] = CStringGetTextDatum(r->path);
		values[5] = CStringGetTextDatum(r->blob);
		values[6] = Int64GetDatum(r->size);
		spi_check(SPI_execute_plan(plan, values, NULL, false, 0), expected[change], "change");
	}
	SPI_freeplan(plan);
}

void
pgmlr_manifest_table_apply(const pgmlr_hf_diff *diff)
{
	spi_connect();
	apply_changes(diff, PGMLR_HF_DELETE);
	apply_changes(diff, PGMLR_HF_UPDATE);
	apply_changes(diff, PGMLR_HF_INSERT);
	SPI_finish();
}

/* The CHECK constraints' own functions judge, so check() and the table agree. */
int64
pgmlr_manifest_table_rule_breakers(char **first)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext spi_cxt;
	bool		isnull;
	Datum		d;
	int64		count;

	spi_connect();
	spi_check(SPI_execute("WITH b AS (SELECT repo_type || ' ' || repo_id || ' revision ' || revision || ' path ' || path || ': ' ||"
						  "   coalesce(pgml_repl.hf_repo_id_problem(repo_id), pgml_repl.hf_revision_problem(revision),"
						  "            pgml_repl.hf_refs_problem(refs), pgml_repl.hf_path_problem(path),"
						  "            pgml_repl.hf_blob_problem(blob),"
						  "            CASE WHEN repo_type NOT IN ('model', 'dataset', 'space') THEN 'repo_type is unknown' END,"
						  "            CASE WHEN size NOT BETWEEN 0 AND 4398046511104 THEN 'size is out of range' END) AS why"
						  "   FROM " MANIFEST_TABLE ")"
						  " SELECT pg_catalog.count(*), pg_catalog.min(why) FROM b WHERE why IS NOT NULL",
						  true, 0),
			  SPI_OK_SELECT, "check the rows of");
	spi_cxt = MemoryContextSwitchTo(caller);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	count = isnull ? 0 : DatumGetInt64(d);
	*first = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	MemoryContextSwitchTo(spi_cxt);
	SPI_finish();
	return count;
}
