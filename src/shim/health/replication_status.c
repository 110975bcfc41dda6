/*
 * replication_status.c — pgml_repl.replication_status().
 *
 * One column set for both roles: on a primary one row per walsender in
 * pg_stat_replication (no standby, no row); on a standby one row for its WAL
 * receiver (always one row: no receiver is itself an error). The core
 * computes lag and replay delay and classifies each row.
 */
#include "health/health_shim.h"

#include "access/xlog.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "pgml_repl/health.h"

/* Column order of pgml_repl.replication_status(). */
enum
{
	COL_ROLE,
	COL_APPLICATION_NAME,
	COL_CLIENT_ADDR,
	COL_STATE,
	COL_SYNC_STATE,
	COL_SENDER_HOST,
	COL_SENDER_PORT,
	COL_SENT_LSN,
	COL_WRITE_LSN,
	COL_FLUSH_LSN,
	COL_REPLAY_LSN,
	COL_LAG_BYTES,
	COL_REPLAY_LAG,
	COL_REPLAY_DELAY,
	COL_STATUS,
	COL_DETAIL,
	REPLICATION_STATUS_COLS
};

typedef struct RowBuffer
{
	Datum		values[REPLICATION_STATUS_COLS];
	bool		nulls[REPLICATION_STATUS_COLS];
} RowBuffer;

static void
row_reset(RowBuffer *row, const char *role)
{
	memset(row->values, 0, sizeof row->values);
	memset(row->nulls, true, sizeof row->nulls);
	row->values[COL_ROLE] = CStringGetTextDatum(role);
	row->nulls[COL_ROLE] = false;
}

/* Copies SPI column spi_col of row r into the output column; true if not NULL. */
static bool
copy_column(RowBuffer *row, int out_col, uint64 r, int spi_col)
{
	bool		isnull;

	row->values[out_col] = pgmlr_spi_datum(r, spi_col, &isnull);
	row->nulls[out_col] = isnull;
	return !isnull;
}

static void
thresholds(pgmlr_replication_facts *facts)
{
	facts->lag_warning_bytes = (int64_t) pgmlr_replication_lag_warning_kb * 1024;
	facts->lag_error_bytes = (int64_t) pgmlr_replication_lag_error_kb * 1024;
}

static void
finish_row(RowBuffer *row, const pgmlr_replication_facts *facts, ReturnSetInfo *rsinfo)
{
	pgmlr_replication_verdict verdict;
	pgmlr_status st;

	pgmlr_replication_classify(facts, &verdict, &st);
	pgmlr_report_status(&st);

	row->values[COL_DETAIL] = CStringGetTextDatum(pgmlr_take_string(verdict.detail));
	row->nulls[COL_DETAIL] = false;
	row->values[COL_STATUS] = CStringGetTextDatum(pgmlr_health_state_name(verdict.state));
	row->nulls[COL_STATUS] = false;
	if (verdict.has_lag_bytes)
	{
		row->values[COL_LAG_BYTES] = Int64GetDatum(verdict.lag_bytes);
		row->nulls[COL_LAG_BYTES] = false;
	}
	if (verdict.has_replay_delay)
	{
		row->values[COL_REPLAY_DELAY] = pgmlr_health_interval(verdict.replay_delay);
		row->nulls[COL_REPLAY_DELAY] = false;
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row->values, row->nulls);
}

static void
primary_rows(ReturnSetInfo *rsinfo)
{
	uint64		r;
	uint64		n;

	n = pgmlr_spi_select("SELECT application_name, client_addr, state, sync_state,"
						 " sent_lsn, write_lsn, flush_lsn, replay_lsn, replay_lag,"
						 " pg_catalog.pg_current_wal_lsn()"
						 " FROM pg_catalog.pg_stat_replication"
						 " ORDER BY application_name, pid");
	for (r = 0; r < n; r++)
	{
		RowBuffer	row;
		pgmlr_replication_facts facts;
		bool		isnull;

		memset(&facts, 0, sizeof facts);
		row_reset(&row, "primary");
		if (copy_column(&row, COL_APPLICATION_NAME, r, 1))
			facts.peer = TextDatumGetCString(row.values[COL_APPLICATION_NAME]);
		copy_column(&row, COL_CLIENT_ADDR, r, 2);
		if (copy_column(&row, COL_STATE, r, 3))
			facts.state = TextDatumGetCString(row.values[COL_STATE]);
		copy_column(&row, COL_SYNC_STATE, r, 4);
		copy_column(&row, COL_SENT_LSN, r, 5);
		copy_column(&row, COL_WRITE_LSN, r, 6);
		copy_column(&row, COL_FLUSH_LSN, r, 7);
		facts.has_replay_lsn = copy_column(&row, COL_REPLAY_LSN, r, 8);
		if (facts.has_replay_lsn)
			facts.replay_lsn = DatumGetLSN(row.values[COL_REPLAY_LSN]);
		copy_column(&row, COL_REPLAY_LAG, r, 9);
		facts.source_lsn = DatumGetLSN(pgmlr_spi_datum(r, 10, &isnull));
		facts.has_source_lsn = !isnull;
		facts.now = GetCurrentTimestamp();
		thresholds(&facts);
		finish_row(&row, &facts, rsinfo);
	}
}

static void
standby_row(ReturnSetInfo *rsinfo)
{
	RowBuffer	row;
	pgmlr_replication_facts facts;
	bool		isnull;
	Datum		d;

	/* The outer join keeps one row when no WAL receiver runs. */
	pgmlr_spi_select("SELECT r.status, r.sender_host, r.sender_port, r.written_lsn, r.flushed_lsn,"
					 " pg_catalog.pg_last_wal_replay_lsn(), pg_catalog.pg_last_xact_replay_timestamp()"
					 " FROM (SELECT 1) AS one LEFT JOIN pg_catalog.pg_stat_wal_receiver AS r ON true");
	if (pgmlr_spi_rows() != 1)
		elog(ERROR, "pgml_replication: expected one row from pg_stat_wal_receiver, got " UINT64_FORMAT,
			 pgmlr_spi_rows());

	memset(&facts, 0, sizeof facts);
	facts.is_standby = true;
	row_reset(&row, "standby");
	if (copy_column(&row, COL_STATE, 0, 1))
		facts.state = TextDatumGetCString(row.values[COL_STATE]);
	if (copy_column(&row, COL_SENDER_HOST, 0, 2))
		facts.peer = TextDatumGetCString(row.values[COL_SENDER_HOST]);
	copy_column(&row, COL_SENDER_PORT, 0, 3);
	copy_column(&row, COL_WRITE_LSN, 0, 4);
	facts.has_source_lsn = copy_column(&row, COL_FLUSH_LSN, 0, 5);
	if (facts.has_source_lsn)
		facts.source_lsn = DatumGetLSN(row.values[COL_FLUSH_LSN]);
	facts.has_replay_lsn = copy_column(&row, COL_REPLAY_LSN, 0, 6);
	if (facts.has_replay_lsn)
		facts.replay_lsn = DatumGetLSN(row.values[COL_REPLAY_LSN]);
	d = pgmlr_spi_datum(0, 7, &isnull);
	facts.has_last_replay_at = !isnull;
	if (!isnull)
		facts.last_replay_at = DatumGetTimestampTz(d);
	facts.now = GetCurrentTimestamp();
	thresholds(&facts);
	finish_row(&row, &facts, rsinfo);
}

PG_FUNCTION_INFO_V1(pgmlr_replication_status);

Datum
pgmlr_replication_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);

	pgmlr_spi_connect();
	if (RecoveryInProgress())
		standby_row(rsinfo);
	else
		primary_rows(rsinfo);
	pgmlr_spi_finish();

	return (Datum) 0;
}
