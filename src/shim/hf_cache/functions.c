/*
 * hf_cache/functions.c — SQL face of the HuggingFace cache manifest:
 * hf_cache_manifest(), hf_cache_repos() and publish_hf_manifest() with its
 * routine pgmlr_hf_publish() (the primary's worker calls it too). Scanning,
 * hashing and diffing live in the core (src/core/hf_cache/); the table is
 * hf_cache/manifest_table.c's.
 */
#include "gucs.h"

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "pgml_repl/hf_cache.h"
#include "hf_cache/manifest_table.h"

PG_FUNCTION_INFO_V1(pgmlr_hf_cache_manifest);
PG_FUNCTION_INFO_V1(pgmlr_hf_cache_repos);
PG_FUNCTION_INFO_V1(pgmlr_publish_hf_manifest);

/* How long the backend sleeps between interrupt checks while hashing. */
#define VERIFY_POLL_MS 100

/*
 * The folder to scan. An explicit folder lets the caller list any folder the
 * server can read, so it takes what reading server files takes; the
 * configured folder is what EXECUTE on the function grants.
 */
static char *
cache_dir_for_call(FunctionCallInfo fcinfo, int argno, const char *function_name)
{
	pgmlr_status st;
	char	   *dir;

	if (!PG_ARGISNULL(argno))
	{
		if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to scan a folder given to %s", function_name),
					 errdetail("Only superusers and members of pg_read_server_files may pass cache_dir."),
					 errhint("Call it without cache_dir to scan the folder set in pgml_replication.hf_cache_dir.")));
		return text_to_cstring(PG_GETARG_TEXT_PP(argno));
	}
	dir = pgmlr_hf_default_cache_dir(pgmlr_hf_cache_dir, &st);
	pgmlr_report_status(&st);
	return pgmlr_take_string(dir);
}

/* Scans dir into a handle owned by cxt, and passes the scan's notices on. */
pgmlr_hf_scan *
pgmlr_hf_scan_owned(const char *dir, MemoryContext cxt, bool report)
{
	pgmlr_status st;
	pgmlr_hf_scan *scan;
	MemoryContext old;
	size_t		i;

	scan = pgmlr_hf_scan_cache(dir, &st);
	pgmlr_report_status(&st);
	old = MemoryContextSwitchTo(cxt);
	pgmlr_own_handle(scan, pgmlr_hf_scan_free);
	MemoryContextSwitchTo(old);

	for (i = 0; report && i < pgmlr_hf_scan_notice_count(scan); i++)
		ereport(NOTICE, (errmsg("%s", pgmlr_hf_scan_notice(scan, i))));
	return scan;
}

static Datum
text_array(const char *const *items, int n)
{
	Datum	   *elems;
	int			i;

	if (n == 0)
		return PointerGetDatum(construct_empty_array(TEXTOID));
	elems = (Datum *) palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

static void
set_text(Datum *values, bool *nulls, int col, const char *s)
{
	nulls[col] = (s == NULL);
	values[col] = s ? CStringGetTextDatum(s) : (Datum) 0;
}

/*
 * Hashes the scan's blobs on the core's threads. The backend only waits, in
 * short slices, so statement_timeout and pg_cancel_backend() interrupt it;
 * the ERROR then resets the scan's memory context, whose callback cancels
 * and joins the threads.
 */
static void
verify_scan(pgmlr_hf_scan *scan)
{
	pgmlr_status st;

	pgmlr_hf_verify_start(scan, &st);
	pgmlr_report_status(&st);
	while (!pgmlr_hf_verify_wait(scan, VERIFY_POLL_MS))
		CHECK_FOR_INTERRUPTS();
}

/*
 * Text datum of s, reusing the previous row's when the string is the same:
 * consecutive rows share repo, revision, refs and status, and the
 * tuplestore copies each row, so the datum can be handed out again.
 */
typedef struct RepeatedText
{
	const char *last;
	Datum		datum;
} RepeatedText;

static Datum
repeated_text(RepeatedText *rt, const char *s)
{
	if (rt->last == NULL || strcmp(rt->last, s) != 0)
	{
		if (rt->last != NULL)
			pfree(DatumGetPointer(rt->datum));
		rt->datum = CStringGetTextDatum(s);
		rt->last = s;
	}
	return rt->datum;
}

static bool
same_refs(const pgmlr_hf_file_row *a, const pgmlr_hf_file_row *b)
{
	int			i;

	if (a->nrefs != b->nrefs)
		return false;
	for (i = 0; i < a->nrefs; i++)
		if (strcmp(a->refs[i], b->refs[i]) != 0)
			return false;
	return true;
}

Datum
pgmlr_hf_cache_manifest(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		verify = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	MemoryContext scan_cxt;
	MemoryContext row_cxt;
	MemoryContext old;
	pgmlr_hf_scan *scan;
	char	   *dir;
	size_t		i;
	size_t		n;
	RepeatedText repo_type = {0}, repo_id = {0}, revision = {0}, status = {0};
	const pgmlr_hf_file_row *refs_row = NULL;
	Datum		refs = (Datum) 0;

	InitMaterializedSRF(fcinfo, 0);
	dir = cache_dir_for_call(fcinfo, 0, "hf_cache_manifest");
	scan_cxt = AllocSetContextCreate(CurrentMemoryContext, "pgml_repl hf cache scan", ALLOCSET_SMALL_SIZES);
	scan = pgmlr_hf_scan_owned(dir, scan_cxt, true);
	if (verify)
		verify_scan(scan);

	/* Per-row texts live until the next row; the shared ones in scan_cxt. */
	row_cxt = AllocSetContextCreate(scan_cxt, "pgml_repl hf cache row", ALLOCSET_SMALL_SIZES);
	n = pgmlr_hf_scan_file_count(scan);
	for (i = 0; i < n; i++)
	{
		const pgmlr_hf_file_row *r = pgmlr_hf_scan_file(scan, i);
		Datum		values[9];
		bool		nulls[9];

		CHECK_FOR_INTERRUPTS();
		memset(nulls, 0, sizeof(nulls));
		old = MemoryContextSwitchTo(scan_cxt);
		values[0] = repeated_text(&repo_type, r->repo_type);
		values[1] = repeated_text(&repo_id, r->repo_id);
		if (r->revision)
		{
			values[2] = repeated_text(&revision, r->revision);
			if (refs_row == NULL || !same_refs(refs_row, r))
			{
				if (refs_row != NULL)
					pfree(DatumGetPointer(refs));
				refs = text_array(r->refs, r->nrefs);
				refs_row = r;
			}
			values[3] = refs;
		}
		else
			nulls[2] = nulls[3] = true;
		values[7] = repeated_text(&status, r->status);
		MemoryContextSwitchTo(row_cxt);
		set_text(values, nulls, 4, r->path);
		set_text(values, nulls, 5, r->blob);
		if (r->size >= 0)
			values[6] = Int64GetDatum(r->size);
		else
			nulls[6] = true;
		values[8] = BoolGetDatum(r->verified);
		MemoryContextSwitchTo(old);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextReset(row_cxt);
	}
	MemoryContextDelete(scan_cxt);
	return (Datum) 0;
}

Datum
pgmlr_hf_cache_repos(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext scan_cxt;
	pgmlr_hf_scan *scan;
	char	   *dir;
	size_t		i;

	InitMaterializedSRF(fcinfo, 0);
	dir = cache_dir_for_call(fcinfo, 0, "hf_cache_repos");
	scan_cxt = AllocSetContextCreate(CurrentMemoryContext, "pgml_repl hf cache scan", ALLOCSET_SMALL_SIZES);
	scan = pgmlr_hf_scan_owned(dir, scan_cxt, true);

	for (i = 0; i < pgmlr_hf_scan_repo_count(scan); i++)
	{
		const pgmlr_hf_repo_row *r = pgmlr_hf_scan_repo(scan, i);
		Datum		values[7];
		bool		nulls[7];

		memset(nulls, 0, sizeof(nulls));
		set_text(values, nulls, 0, r->repo_type);
		set_text(values, nulls, 1, r->repo_id);
		values[2] = Int32GetDatum(r->revisions);
		values[3] = Int32GetDatum(r->files);
		values[4] = Int64GetDatum(r->size_on_disk);
		if (r->has_last_modified)
			values[5] = TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) r->last_modified));
		else
			nulls[5] = true;
		values[6] = text_array(r->refs, r->nrefs);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextDelete(scan_cxt);
	return (Datum) 0;
}

/* publish_hf_manifest ------------------------------------------------ */

/* Refused entries named in the WARNING's DETAIL; the rest are counted. */
#define REFUSALS_SHOWN 10

/*
 * Cache entries whose names break the Hub's rules are never written: one
 * WARNING names them (the first few in full) and says what to do.
 */
static void
report_refusals(const pgmlr_hf_diff *diff)
{
	size_t		n = pgmlr_hf_diff_refused_count(diff);
	StringInfoData detail;
	size_t		i;

	if (n == 0)
		return;
	initStringInfo(&detail);
	for (i = 0; i < n && i < REFUSALS_SHOWN; i++)
	{
		pgmlr_hf_refused_entry e;

		if (!pgmlr_hf_diff_refused(diff, i, &e))
			break;
		if (i > 0)
			appendStringInfoChar(&detail, '\n');
		appendStringInfo(&detail, "%s: %s", e.label, e.reason);
	}
	if (n > REFUSALS_SHOWN)
		appendStringInfo(&detail, "\n... and %zu more", n - REFUSALS_SHOWN);
	ereport(WARNING,
			(errcode(ERRCODE_INVALID_NAME),
			 errmsg("%zu cache entries were not published because their names break the Hub's rules", n),
			 errdetail_internal("%s", detail.data),
			 errhint("The Hub never creates such names; rename or remove them in the cache. "
					 "SELECT * FROM pgml_repl.hf_cache_manifest() WHERE status = 'invalid_name' lists the files.")));
}

/*
 * Scan, diff against the table, write the changes: the routine behind
 * publish_hf_manifest() and the primary's prefetch worker.
 */
void
pgmlr_hf_publish(const char *cache_dir, bool report, pgmlr_hf_publish_result *out)
{
	MemoryContext work_cxt;
	MemoryContext old;
	pgmlr_hf_scan *scan;
	pgmlr_hf_diff *diff;
	pgmlr_hf_manifest_row *published;
	pgmlr_status st;
	const char *dir = cache_dir;
	size_t		npublished;
	size_t		unhealthy;

	pgmlr_refuse_on_standby("cannot publish the HuggingFace cache manifest on a standby",
							"pgml_repl.hf_manifest is read-only during recovery; it arrives through the WAL.",
							"Run pgml_repl.publish_hf_manifest() on the primary.");
	if (dir == NULL)
	{
		dir = pgmlr_hf_default_cache_dir(pgmlr_hf_cache_dir, &st);
		pgmlr_report_status(&st);
		dir = pgmlr_take_string((char *) dir);
	}
	work_cxt = AllocSetContextCreate(CurrentMemoryContext, "pgml_repl hf manifest publish", ALLOCSET_SMALL_SIZES);
	scan = pgmlr_hf_scan_owned(dir, work_cxt, report);
	if (!pgmlr_hf_scan_found(scan))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("HuggingFace cache folder \"%s\" does not exist", dir),
				 errdetail("Publishing it would empty pgml_repl.hf_manifest on every replica."),
				 errhint("Check pgml_replication.hf_cache_dir and the server's HF_HOME, or pass cache_dir.")));

	diff = pgmlr_hf_diff_new(&st);
	pgmlr_report_status(&st);
	old = MemoryContextSwitchTo(work_cxt);
	pgmlr_own_handle(diff, pgmlr_hf_diff_free);
	published = pgmlr_manifest_table_read(true, &npublished);
	MemoryContextSwitchTo(old);
	for (size_t i = 0; i < npublished; i++)
	{
		pgmlr_hf_diff_add_published(diff, &published[i], &st);	/* the core copies it */
		pgmlr_report_status(&st);
	}
	pgmlr_hf_diff_compute(diff, scan, &st);
	pgmlr_report_status(&st);
	pgmlr_manifest_table_apply(diff);

	/* A changed row is the old row removed and the new one added. */
	out->added = (int32) (pgmlr_hf_diff_count(diff, PGMLR_HF_INSERT) + pgmlr_hf_diff_count(diff, PGMLR_HF_UPDATE));
	out->removed = (int32) (pgmlr_hf_diff_count(diff, PGMLR_HF_DELETE) + pgmlr_hf_diff_count(diff, PGMLR_HF_UPDATE));
	out->unchanged = (int32) pgmlr_hf_diff_unchanged(diff);
	out->refused = (int32) pgmlr_hf_diff_refused_count(diff);
	unhealthy = pgmlr_hf_diff_unhealthy(diff);
	if (report)
	{
		report_refusals(diff);
		if (unhealthy > 0)
			ereport(NOTICE,
					(errmsg("%zu cache entries were not published because their status is not ok", unhealthy),
					 errhint("SELECT * FROM pgml_repl.hf_cache_manifest() WHERE status <> 'ok' lists them.")));
	}
	MemoryContextDelete(work_cxt);
}

Datum
pgmlr_publish_hf_manifest(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pgmlr_hf_publish_result result;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	/* Before the folder's privilege check, as the routine does it again. */
	pgmlr_refuse_on_standby("cannot publish the HuggingFace cache manifest on a standby",
							"pgml_repl.hf_manifest is read-only during recovery; it arrives through the WAL.",
							"Run pgml_repl.publish_hf_manifest() on the primary.");
	InitMaterializedSRF(fcinfo, 0);
	pgmlr_hf_publish(cache_dir_for_call(fcinfo, 0, "publish_hf_manifest"), true, &result);
	values[0] = Int32GetDatum(result.added);
	values[1] = Int32GetDatum(result.removed);
	values[2] = Int32GetDatum(result.unchanged);
	values[3] = Int32GetDatum(result.refused);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/* The CHECK constraints of pgml_repl.hf_manifest ----------------------- */

/*
 * NULL when value follows the Hub's rules for its column, else the reason.
 * The same core functions decide for publish_hf_manifest() and the worker,
 * so the table, the publisher and the replica never disagree.
 */
static Datum
name_problem(FunctionCallInfo fcinfo, pgmlr_hf_name_kind kind)
{
	pgmlr_status st;
	char	   *problem = pgmlr_hf_name_problem(kind, text_to_cstring(PG_GETARG_TEXT_PP(0)), &st);

	pgmlr_report_status(&st);
	if (problem == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(pgmlr_take_string(problem)));
}

PGMLR_FMGR_FORWARD(pgmlr_hf_repo_id_problem, name_problem(fcinfo, PGMLR_HF_REPO_ID))

PGMLR_FMGR_FORWARD(pgmlr_hf_revision_problem, name_problem(fcinfo, PGMLR_HF_REVISION))

PGMLR_FMGR_FORWARD(pgmlr_hf_path_problem, name_problem(fcinfo, PGMLR_HF_PATH))

PGMLR_FMGR_FORWARD(pgmlr_hf_blob_problem, name_problem(fcinfo, PGMLR_HF_BLOB))

/* The first element of refs that breaks the rules, by its position. */
PG_FUNCTION_INFO_V1(pgmlr_hf_refs_problem);
Datum
pgmlr_hf_refs_problem(PG_FUNCTION_ARGS)
{
	ArrayType  *refs = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elems;
	bool	   *elem_nulls;
	int			n;

	if (ARR_NDIM(refs) > 1)
		PG_RETURN_TEXT_P(cstring_to_text("refs must be a one-dimensional array"));
	deconstruct_array(refs, TEXTOID, -1, false, TYPALIGN_INT, &elems, &elem_nulls, &n);
	for (int i = 0; i < n; i++)
	{
		pgmlr_status st;
		char	   *problem;

		if (elem_nulls[i])
			PG_RETURN_TEXT_P(cstring_to_text(psprintf("ref is NULL (refs element %d)", i + 1)));
		problem = pgmlr_hf_name_problem(PGMLR_HF_REF, TextDatumGetCString(elems[i]), &st);
		pgmlr_report_status(&st);
		if (problem != NULL)
			PG_RETURN_TEXT_P(cstring_to_text(psprintf("%s (refs element %d)", pgmlr_take_string(problem), i + 1)));
	}
	PG_RETURN_NULL();
}
