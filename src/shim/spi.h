/*
 * spi.h — the shim's one way to run SQL from C: connect, run a statement
 * (with or without arguments), read cells of the result, finish. A result
 * code other than the one expected is an internal error that names the
 * statement, with a hint, so no caller checks SPI codes by hand.
 */
#ifndef PGMLR_SPI_H
#define PGMLR_SPI_H

#include "shim.h"

#include "executor/spi.h"

/* SPI_connect(); ERROR if it fails. Pair with pgmlr_spi_finish(). */
extern void pgmlr_spi_connect(void);
extern void pgmlr_spi_finish(void);

/*
 * Runs sql, at most max_rows rows (0: all), and returns the number of rows
 * (SPI_processed). ERROR unless the result code is expected (SPI_OK_SELECT,
 * SPI_OK_UTILITY...); the error names the statement as what, or quotes sql
 * when what is NULL (never quote a statement that carries a secret). The
 * _args form passes $1..$nargs; nulls as in SPI_execute_with_args (NULL:
 * none is null).
 */
extern uint64 pgmlr_spi_exec(const char *what, const char *sql, bool read_only, long max_rows, int expected);
extern uint64 pgmlr_spi_exec_args(const char *sql, int nargs, Oid *argtypes, Datum *values,
								  const char *nulls, bool read_only, long max_rows, int expected);
/* A read-only query, all rows. */
extern uint64 pgmlr_spi_select(const char *sql);

/* Rows of the last result (what the last exec returned). */
extern uint64 pgmlr_spi_rows(void);
/* Cells of the last result; row from 0, col from 1. */
extern Datum pgmlr_spi_datum(uint64 row, int col, bool *isnull);
/* The column's text form (any type); NULL for SQL NULL. In the SPI context. */
extern char *pgmlr_spi_string(uint64 row, int col);
/* SQL NULL reads as false. */
extern bool pgmlr_spi_bool(uint64 row, int col);
/* *isnull set; 0 for SQL NULL. */
extern int64 pgmlr_spi_int8(uint64 row, int col, bool *isnull);

/* Column col of the first row; SQL NULL when there is no row. */
extern Datum pgmlr_spi_first_datum(int col, bool *isnull);
/* Same for a text column; NULL for SQL NULL or no row. In the SPI context. */
extern char *pgmlr_spi_first_text(int col);

#endif							/* PGMLR_SPI_H */
