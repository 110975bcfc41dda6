/*
 * archive_status.c — pgml_repl.archive_status().
 *
 * The facts come from pg_stat_archiver, pg_ls_archive_statusdir() and the
 * settings; the core decides ok/warning/error/disabled and writes the detail.
 * Runs with the caller's privileges: pg_monitor can read all of these.
 */
#include "health/health_shim.h"

#include <limits.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_authid_d.h"
#include "catalog/pg_type_d.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/resowner.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "pgml_repl/health.h"

Datum
pgmlr_health_interval(int64 microseconds)
{
	Interval   *iv = (Interval *) palloc0(sizeof(Interval));

	iv->time = microseconds;
	return IntervalPGetDatum(iv);
}

/* Column order of pgml_repl.archive_status(). */
enum
{
	COL_ARCHIVE_MODE,
	COL_ARCHIVE_COMMAND,
	COL_WAL_LEVEL,
	COL_ARCHIVED_COUNT,
	COL_LAST_ARCHIVED_WAL,
	COL_LAST_ARCHIVED_AT,
	COL_FAILED_COUNT,
	COL_LAST_FAILED_WAL,
	COL_LAST_FAILED_AT,
	COL_READY_COUNT,
	COL_OLDEST_READY_WAL,
	COL_OLDEST_READY_AGE,
	COL_CURRENT_WAL,
	COL_STATUS,
	COL_DETAIL,
	COL_PGBACKREST_ARCHIVE_MAX,
	COL_PGBACKREST_IN_SYNC,
	ARCHIVE_STATUS_COLS
};

static char *
text_or_null(Datum *values, bool *nulls, int col, char *s)
{
	nulls[col] = (s == NULL);
	if (s)
		values[col] = CStringGetTextDatum(s);
	return s;
}

static bool
timestamp_column(Datum *values, bool *nulls, int out_col, int spi_col, int64 *ts, char **text)
{
	bool		isnull;
	Datum		d = pgmlr_spi_first_datum(spi_col, &isnull);

	nulls[out_col] = isnull;
	*text = NULL;
	if (isnull)
		return false;
	values[out_col] = d;
	*ts = DatumGetTimestampTz(d);
	*text = pstrdup(timestamptz_to_str(*ts));
	return true;
}

static int64
int8_column(Datum *values, bool *nulls, int out_col, int spi_col)
{
	bool		isnull;
	Datum		d = pgmlr_spi_first_datum(spi_col, &isnull);
	int64		v = isnull ? 0 : DatumGetInt64(d);

	values[out_col] = Int64GetDatum(v);
	nulls[out_col] = false;
	return v;
}

/*
 * pgml_repl.pgbackrest_archive_max() in a subtransaction: any failure
 * (pgbackrest missing, stanza not created, time limit) becomes "unknown",
 * because a status function must keep answering when the thing it watches
 * is broken. Returns false when unknown; *archive_max may be NULL (nothing
 * archived yet) when it returns true.
 */
static bool
pgbackrest_archive_max_quietly(const char *stanza, const char *config, char **archive_max)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool known = false;
	char	   *volatile result = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		Oid			argtypes[2] = {TEXTOID, TEXTOID};
		Datum		args[2];
		char		argnulls[2] = {' ', ' '};

		args[0] = CStringGetTextDatum(stanza);
		args[1] = config ? CStringGetTextDatum(config) : (Datum) 0;
		if (!config)
			argnulls[1] = 'n';
		if (pgmlr_spi_exec_args("SELECT pgml_repl.pgbackrest_archive_max($1, $2)",
								2, argtypes, args, argnulls, true, 1, SPI_OK_SELECT) == 1)
		{
			char	   *v = pgmlr_spi_string(0, 1);

			result = v ? MemoryContextStrdup(oldcxt, v) : NULL;
			known = true;
		}
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		known = false;
	}
	PG_END_TRY();
	*archive_max = result;
	return known;
}

/*
 * The last answer of pgbackrest_archive_max_quietly(), for a few seconds:
 * monitoring calls archive_status() (and check(), which calls it) often, and
 * each call would otherwise start pgbackrest, which reads the repository.
 * Per backend, in TopMemoryContext; keyed by stanza and configuration file.
 */
typedef struct PgbackrestAnswer
{
	char	   *stanza;			/* NULL: nothing cached */
	char	   *config;			/* NULL: pgBackRest's default */
	bool		known;
	char	   *archive_max;
	TimestampTz at;
} PgbackrestAnswer;

static PgbackrestAnswer pgbackrest_answer;

static bool
same_text(const char *a, const char *b)
{
	return (a == NULL) == (b == NULL) && (a == NULL || strcmp(a, b) == 0);
}

static bool
pgbackrest_archive_max_cached(const char *stanza, const char *config, char **archive_max)
{
	PgbackrestAnswer *c = &pgbackrest_answer;
	bool		known;

	if (pgmlr_pgbackrest_info_ttl > 0 && c->stanza != NULL && same_text(c->stanza, stanza) &&
		same_text(c->config, config) &&
		!TimestampDifferenceExceeds(c->at, GetCurrentTimestamp(), pgmlr_pgbackrest_info_ttl * 1000))
	{
		*archive_max = c->archive_max ? pstrdup(c->archive_max) : NULL;
		return c->known;
	}
	known = pgbackrest_archive_max_quietly(stanza, config, archive_max);
	if (c->stanza)
		pfree(c->stanza);
	if (c->config)
		pfree(c->config);
	if (c->archive_max)
		pfree(c->archive_max);
	c->stanza = c->config = c->archive_max = NULL;
	c->stanza = MemoryContextStrdup(TopMemoryContext, stanza);
	c->config = config ? MemoryContextStrdup(TopMemoryContext, config) : NULL;
	c->archive_max = *archive_max ? MemoryContextStrdup(TopMemoryContext, *archive_max) : NULL;
	c->known = known;
	c->at = GetCurrentTimestamp();
	return known;
}

/*
 * The pgBackRest columns: NULL unless archive_command runs pgbackrest with a
 * stanza, this server archives, and the caller may run server programs
 * (pgbackrest_archive_max() needs that; being refused is not an error here).
 */
static void
pgbackrest_columns(Datum *values, bool *nulls, const pgmlr_archive_facts *facts)
{
	const char *command = GetConfigOption("archive_command", false, false);
	char	   *stanza;
	char	   *config;
	char	   *archive_max = NULL;
	pgmlr_status st;
	int			in_sync;

	if (facts->archive_mode == NULL || strcmp(facts->archive_mode, "off") == 0 ||
		(facts->in_recovery && strcmp(facts->archive_mode, "always") != 0))
		return;
	if (!superuser() && !has_privs_of_role(GetUserId(), ROLE_PG_EXECUTE_SERVER_PROGRAM))
		return;
	if (!pgmlr_archive_command_pgbackrest(command, &stanza, &config, &st))
	{
		pgmlr_report_status(&st);
		return;
	}
	stanza = pgmlr_take_string(stanza);
	config = config ? pgmlr_take_string(config) : NULL;
	if (!pgbackrest_archive_max_cached(stanza, config, &archive_max))
		return;
	nulls[COL_PGBACKREST_ARCHIVE_MAX] = (archive_max == NULL);
	if (archive_max)
		values[COL_PGBACKREST_ARCHIVE_MAX] = CStringGetTextDatum(archive_max);
	in_sync = pgmlr_pgbackrest_in_sync(archive_max, facts->last_archived_wal);
	nulls[COL_PGBACKREST_IN_SYNC] = (in_sync < 0);
	values[COL_PGBACKREST_IN_SYNC] = BoolGetDatum(in_sync > 0);
}

/*
 * One side of pg_stat_archiver, archived or failed: its count, last WAL and
 * last time, from SPI columns spi_col .. spi_col + 2 into the output columns
 * out_col .. out_col + 2 (the enum keeps both sides in that order).
 */
static void
archiver_side(Datum *values, bool *nulls, int out_col, int spi_col, int64_t *count, const char **wal,
			  bool *has_at, int64_t *at, const char **at_text)
{
	char	   *text;

	*count = int8_column(values, nulls, out_col, spi_col);
	*wal = text_or_null(values, nulls, out_col + 1, pgmlr_spi_first_text(spi_col + 1));
	*has_at = timestamp_column(values, nulls, out_col + 2, spi_col + 2, at, &text);
	*at_text = text;
}

PG_FUNCTION_INFO_V1(pgmlr_archive_status);

Datum
pgmlr_archive_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[ARCHIVE_STATUS_COLS];
	bool		nulls[ARCHIVE_STATUS_COLS];
	pgmlr_archive_facts facts;
	pgmlr_archive_verdict verdict;
	pgmlr_status st;
	HeapTuple	tuple;
	Datum		result;
	bool		isnull;
	Datum		d;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	memset(values, 0, sizeof values);
	memset(nulls, true, sizeof nulls);
	memset(&facts, 0, sizeof facts);

	pgmlr_spi_connect();

	facts.archive_mode = text_or_null(values, nulls, COL_ARCHIVE_MODE,
									  pstrdup(GetConfigOption("archive_mode", false, true)));
	text_or_null(values, nulls, COL_ARCHIVE_COMMAND,
				 pstrdup(GetConfigOption("archive_command", false, true)));
	text_or_null(values, nulls, COL_WAL_LEVEL,
				 pstrdup(GetConfigOption("wal_level", false, true)));
	facts.in_recovery = RecoveryInProgress();

	pgmlr_spi_select("SELECT archived_count, last_archived_wal, last_archived_time,"
					 " failed_count, last_failed_wal, last_failed_time"
					 " FROM pg_catalog.pg_stat_archiver");
	archiver_side(values, nulls, COL_ARCHIVED_COUNT, 1, &facts.archived_count, &facts.last_archived_wal,
				  &facts.has_last_archived_at, &facts.last_archived_at, &facts.last_archived_at_text);
	archiver_side(values, nulls, COL_FAILED_COUNT, 4, &facts.failed_count, &facts.last_failed_wal,
				  &facts.has_last_failed_at, &facts.last_failed_at, &facts.last_failed_at_text);

	/*
	 * The archiver takes timeline history files first, then segments in
	 * name order; by modification time the oldest file is the one waiting
	 * longest.
	 */
	pgmlr_spi_select("WITH ready AS ("
					 " SELECT pg_catalog.left(name, -6) AS wal, modification"
					 " FROM pg_catalog.pg_ls_archive_statusdir()"
					 " WHERE name LIKE '%.ready')"
					 " SELECT (SELECT pg_catalog.count(*) FROM ready)::int4, o.wal, o.modification"
					 " FROM (SELECT 1) AS one LEFT JOIN"
					 " (SELECT wal, modification FROM ready ORDER BY modification, wal LIMIT 1) AS o ON true");
	d = pgmlr_spi_first_datum(1, &isnull);
	facts.ready_count = isnull ? 0 : DatumGetInt32(d);
	values[COL_READY_COUNT] = Int32GetDatum(facts.ready_count);
	nulls[COL_READY_COUNT] = false;
	facts.oldest_ready_wal = text_or_null(values, nulls, COL_OLDEST_READY_WAL, pgmlr_spi_first_text(2));
	d = pgmlr_spi_first_datum(3, &isnull);
	facts.has_oldest_ready_at = !isnull;
	if (!isnull)
		facts.oldest_ready_at = DatumGetTimestampTz(d);
	facts.now = GetCurrentTimestamp();

	/* pg_walfile_name() refuses to run during recovery. */
	if (!facts.in_recovery)
	{
		pgmlr_spi_select("SELECT pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn())");
		text_or_null(values, nulls, COL_CURRENT_WAL, pgmlr_spi_first_text(1));
	}

	facts.ready_warning = pgmlr_archive_ready_warning;
	facts.ready_error = pgmlr_archive_ready_error;

	pgmlr_archive_classify(&facts, &verdict, &st);
	pgmlr_report_status(&st);

	text_or_null(values, nulls, COL_DETAIL, pgmlr_take_string(verdict.detail));
	text_or_null(values, nulls, COL_STATUS, pstrdup(pgmlr_health_state_name(verdict.state)));
	if (verdict.has_oldest_ready_age)
	{
		values[COL_OLDEST_READY_AGE] = pgmlr_health_interval(verdict.oldest_ready_age);
		nulls[COL_OLDEST_READY_AGE] = false;
	}

	pgbackrest_columns(values, nulls, &facts);

	tuple = heap_form_tuple(tupdesc, values, nulls);
	result = PointerGetDatum(SPI_returntuple(tuple, tupdesc));
	pgmlr_spi_finish();
	PG_RETURN_DATUM(result);
}
