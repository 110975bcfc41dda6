/*
 * hf_fetch/wanted_models.c — the one owner of pgml_repl.wanted_models in C
 * (issue 16, "models declared in SQL"): want_model(), unwant_model(), the
 * table's CHECK function and pgmlr_wanted_models_read() for the primary's
 * worker. The rules are the core's (pgmlr_model_request_check), so the
 * functions, the CHECK constraint and the worker never disagree. Nothing
 * here touches the network or the cache: declaring is a plain transactional
 * write, and the worker acts on committed rows only.
 */
#include "shim.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "spi.h"
#include "hf_fetch/wanted_models.h"

#define WANTED_TABLE "pgml_repl.wanted_models"

/* A text[] argument as C strings; NULL elements stay NULL for the core to name. */
typedef struct PatternArg
{
	const char *const *items;	/* NULL: SQL NULL */
	int			n;
	const char *shape_problem;	/* a multi-dimensional array, else NULL */
} PatternArg;

static PatternArg
pattern_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	PatternArg	out = {NULL, 0, NULL};
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	const char **items;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return out;
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
	{
		out.shape_problem = psprintf("%s must be a one-dimensional array", name);
		return out;
	}
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	/* one spare slot, so an empty array is a non-NULL list of 0 */
	items = (const char **) palloc0(sizeof(char *) * (n + 1));
	for (int i = 0; i < n; i++)
		items[i] = nulls[i] ? NULL : TextDatumGetCString(elems[i]);
	out.items = items;
	out.n = n;
	return out;
}

static const char *
text_arg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/*
 * The request in SQL argument order (repo_id, revision, repo_type, patterns),
 * checked by the core. A refusal becomes *status; false then.
 */
static bool
request_from_args(FunctionCallInfo fcinfo, bool with_patterns, pgmlr_model_request *req, pgmlr_status *status)
{
	PatternArg	allow = {NULL, 0, NULL};
	PatternArg	ignore = {NULL, 0, NULL};

	memset(req, 0, sizeof(*req));
	req->repo_id = text_arg(fcinfo, 0);
	req->revision = text_arg(fcinfo, 1);
	req->repo_type = text_arg(fcinfo, 2);
	if (with_patterns)
	{
		allow = pattern_arg(fcinfo, 3, "allow_patterns");
		ignore = pattern_arg(fcinfo, 4, "ignore_patterns");
	}
	req->allow_patterns = allow.items;
	req->n_allow = allow.n;
	req->ignore_patterns = ignore.items;
	req->n_ignore = ignore.n;
	if (!pgmlr_model_request_check(req, status))
		return false;
	if (allow.shape_problem || ignore.shape_problem)
	{
		pgmlr_status_clear(status);
		status->code = PGMLR_ERR_INVALID_PARAMETER;
		strlcpy(status->message, allow.shape_problem ? allow.shape_problem : ignore.shape_problem,
				sizeof(status->message));
		strlcpy(status->hint, "Pass a plain list such as ARRAY['*.safetensors', '*.json'].", sizeof(status->hint));
		return false;
	}
	return true;
}

/*
 * A refusal of a want/unwant call. A NULL argument gets SQLSTATE 22004
 * (null_value_not_allowed) rather than 22023; the core checks in argument
 * order, so its message says which refusal came first, NULL or not.
 */
static void
report_refusal(const pgmlr_status *status)
{
	static const char null_suffix[] = " must not be NULL";
	size_t		len = strlen(status->message);

	if (status->code == PGMLR_ERR_INVALID_PARAMETER && len >= sizeof(null_suffix) - 1 &&
		strcmp(status->message + len - (sizeof(null_suffix) - 1), null_suffix) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s", status->message),
				 status->hint[0] ? errhint("%s", status->hint) : 0));
	pgmlr_report_status(status);
}

/*
 * hf_model_request_problem(repo_type, repo_id, revision, allow_patterns,
 * ignore_patterns): NULL when want_model() would accept the row, else the
 * reason. The table's CHECK constraint, so a row written by hand obeys the
 * same rules as one written by want_model(). Note the column order of the
 * table, not want_model()'s argument order.
 */
PG_FUNCTION_INFO_V1(pgmlr_hf_model_request_problem);
Datum
pgmlr_hf_model_request_problem(PG_FUNCTION_ARGS)
{
	pgmlr_model_request req;
	pgmlr_status st;
	PatternArg	allow = pattern_arg(fcinfo, 3, "allow_patterns");
	PatternArg	ignore = pattern_arg(fcinfo, 4, "ignore_patterns");

	memset(&req, 0, sizeof(req));
	req.repo_type = text_arg(fcinfo, 0);
	req.repo_id = text_arg(fcinfo, 1);
	req.revision = text_arg(fcinfo, 2);
	req.allow_patterns = allow.items;
	req.n_allow = allow.n;
	req.ignore_patterns = ignore.items;
	req.n_ignore = ignore.n;
	if (!pgmlr_model_request_check(&req, &st))
	{
		if (st.code != PGMLR_ERR_INVALID_PARAMETER)
			pgmlr_report_status(&st);
		PG_RETURN_TEXT_P(cstring_to_text(st.message));
	}
	if (allow.shape_problem || ignore.shape_problem)
		PG_RETURN_TEXT_P(cstring_to_text(allow.shape_problem ? allow.shape_problem : ignore.shape_problem));
	PG_RETURN_NULL();
}

static Datum
text_array_datum(const char *const *items, int n)
{
	Datum	   *elems = (Datum *) palloc(sizeof(Datum) * (n + 1));

	for (int i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(items[i]);
	if (n == 0)
		return PointerGetDatum(construct_empty_array(TEXTOID));
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * What want_model() and unwant_model() do before they write: the arguments
 * checked (patterns only for want_model), the primary required, and the
 * key (repo_type, repo_id, revision) as the first three values.
 */
static void
begin_write(FunctionCallInfo fcinfo, const char *fn, pgmlr_model_request *req, Datum *values)
{
	pgmlr_status st;
	char	   *message = psprintf("%s() cannot run on a standby", fn);
	char	   *hint = psprintf("Call %s() on the primary.", fn);

	if (!request_from_args(fcinfo, strcmp(fn, "want_model") == 0, req, &st))
		report_refusal(&st);
	pgmlr_refuse_on_standby(message, "pgml_repl.wanted_models is written on the primary and replicates to standbys.",
							hint);
	values[0] = CStringGetTextDatum(req->repo_type);
	values[1] = CStringGetTextDatum(req->repo_id);
	values[2] = CStringGetTextDatum(req->revision);
}

/*
 * want_model(repo_id, revision, repo_type, allow_patterns, ignore_patterns):
 * checks, then one INSERT ... ON CONFLICT in the caller's transaction.
 * Wanting a wanted model again replaces its patterns and keeps wanted_at
 * (when it was first wanted). SECURITY DEFINER in SQL, so the write runs as
 * the extension's owner; who may call it is EXECUTE's business.
 */
PG_FUNCTION_INFO_V1(pgmlr_want_model);
Datum
pgmlr_want_model(PG_FUNCTION_ARGS)
{
	pgmlr_model_request req;
	Oid			argtypes[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	begin_write(fcinfo, "want_model", &req, values);
	/* rebuilt from the checked strings, so the row's arrays start at 1 */
	values[3] = req.allow_patterns ? text_array_datum(req.allow_patterns, req.n_allow) : (Datum) 0;
	values[4] = req.ignore_patterns ? text_array_datum(req.ignore_patterns, req.n_ignore) : (Datum) 0;
	if (!req.allow_patterns)
		nulls[3] = 'n';
	if (!req.ignore_patterns)
		nulls[4] = 'n';

	pgmlr_spi_connect();
	pgmlr_spi_exec_args("INSERT INTO " WANTED_TABLE " AS w"
						" (repo_type, repo_id, revision, allow_patterns, ignore_patterns)"
						" VALUES ($1, $2, $3, $4, $5)"
						" ON CONFLICT (repo_type, repo_id, revision) DO UPDATE"
						" SET allow_patterns = EXCLUDED.allow_patterns,"
						" ignore_patterns = EXCLUDED.ignore_patterns",
						5, argtypes, values, nulls, false, 0, SPI_OK_INSERT);
	pgmlr_spi_finish();
	PG_RETURN_VOID();
}

/*
 * unwant_model(repo_id, revision, repo_type): deletes the row; true when one
 * went, else false and a NOTICE. The cache files stay: other revisions or
 * applications may use them, and removing files is not a transactional act.
 */
PG_FUNCTION_INFO_V1(pgmlr_unwant_model);
Datum
pgmlr_unwant_model(PG_FUNCTION_ARGS)
{
	pgmlr_model_request req;
	Oid			argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3];
	uint64		deleted;

	begin_write(fcinfo, "unwant_model", &req, values);
	pgmlr_spi_connect();
	deleted = pgmlr_spi_exec_args("DELETE FROM " WANTED_TABLE
								  " WHERE repo_type = $1 AND repo_id = $2 AND revision = $3",
								  3, argtypes, values, NULL, false, 0, SPI_OK_DELETE);
	pgmlr_spi_finish();
	if (deleted == 0)
		ereport(NOTICE,
				(errmsg("%s \"%s\" at revision \"%s\" was not wanted", req.repo_type, req.repo_id, req.revision),
				 errhint("SELECT * FROM pgml_repl.wanted_models lists the wanted models.")));
	PG_RETURN_BOOL(deleted > 0);
}

/* A text[] cell as the C list the core reads; NULL for SQL NULL. */
static const char *const *
pattern_cell(HeapTuple tup, TupleDesc desc, int col, int *n)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);
	Datum	   *elems;
	bool	   *nulls;
	int			count;
	const char **items;

	*n = 0;
	if (isnull)
		return NULL;
	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &count);
	items = (const char **) palloc0(sizeof(char *) * (count + 1));
	for (int i = 0; i < count; i++)
		items[i] = nulls[i] ? NULL : TextDatumGetCString(elems[i]);	/* the CHECK forbids NULLs */
	*n = count;
	return items;
}

pgmlr_wanted_model *
pgmlr_wanted_models_read(int *count)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext spi_cxt;
	pgmlr_wanted_model *rows;
	uint64		n;

	pgmlr_spi_connect();
	n = pgmlr_spi_select("SELECT repo_type, repo_id, revision, allow_patterns, ignore_patterns FROM " WANTED_TABLE
						 " ORDER BY repo_type, repo_id, revision");
	/* The rows outlive SPI_finish: build them in the caller's context. */
	spi_cxt = MemoryContextSwitchTo(caller);
	rows = (pgmlr_wanted_model *) palloc0(sizeof(pgmlr_wanted_model) * (n + 1));
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		pgmlr_model_request *req = &rows[i].request;

		req->repo_type = SPI_getvalue(tup, desc, 1);
		req->repo_id = SPI_getvalue(tup, desc, 2);
		req->revision = SPI_getvalue(tup, desc, 3);
		req->allow_patterns = pattern_cell(tup, desc, 4, &req->n_allow);
		req->ignore_patterns = pattern_cell(tup, desc, 5, &req->n_ignore);
	}
	MemoryContextSwitchTo(spi_cxt);
	pgmlr_spi_finish();
	*count = (int) n;
	return rows;
}
