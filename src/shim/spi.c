/*
 * spi.c — running SQL from the shim (spi.h). SPI reports real failures by
 * ERROR itself; a wrong result code means the statement is not what the
 * caller thought it was, so it is an internal error naming the statement.
 */
#include "spi.h"

#include "utils/builtins.h"

static void
unexpected_result(int rc, const char *sql)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("pgml_replication: query failed (%s): %s", SPI_result_code_string(rc), sql),
			 errhint("This is a bug in pgml_replication: the statement is its own. Please report it with this message.")));
}

void
pgmlr_spi_connect(void)
{
	int			rc = SPI_connect();

	if (rc != SPI_OK_CONNECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not connect to SPI: %s", SPI_result_code_string(rc)),
				 errhint("This is a bug in pgml_replication. Please report it with this message.")));
}

void
pgmlr_spi_finish(void)
{
	SPI_finish();
}

uint64
pgmlr_spi_exec(const char *what, const char *sql, bool read_only, long max_rows, int expected)
{
	int			rc = SPI_execute(sql, read_only, max_rows);

	if (rc != expected)
		unexpected_result(rc, what ? what : sql);
	return SPI_processed;
}

uint64
pgmlr_spi_exec_args(const char *sql, int nargs, Oid *argtypes, Datum *values,
					const char *nulls, bool read_only, long max_rows, int expected)
{
	int			rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, read_only, max_rows);

	if (rc != expected)
		unexpected_result(rc, sql);
	return SPI_processed;
}

uint64
pgmlr_spi_select(const char *sql)
{
	return pgmlr_spi_exec(NULL, sql, true, 0, SPI_OK_SELECT);
}

uint64
pgmlr_spi_rows(void)
{
	return SPI_processed;
}

Datum
pgmlr_spi_datum(uint64 row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

char *
pgmlr_spi_string(uint64 row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

bool
pgmlr_spi_bool(uint64 row, int col)
{
	bool		isnull;
	Datum		d = pgmlr_spi_datum(row, col, &isnull);

	return !isnull && DatumGetBool(d);
}

int64
pgmlr_spi_int8(uint64 row, int col, bool *isnull)
{
	Datum		d = pgmlr_spi_datum(row, col, isnull);

	return *isnull ? 0 : DatumGetInt64(d);
}

Datum
pgmlr_spi_first_datum(int col, bool *isnull)
{
	if (SPI_processed < 1)
	{
		*isnull = true;
		return (Datum) 0;
	}
	return pgmlr_spi_datum(0, col, isnull);
}

char *
pgmlr_spi_first_text(int col)
{
	bool		isnull;
	Datum		d = pgmlr_spi_first_datum(col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}
