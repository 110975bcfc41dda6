/*
 * health_shim.h — what archive_status.c and replication_status.c share:
 * the health GUCs (defined in archive_status.c) and small SPI helpers.
 */
#ifndef PGMLR_HEALTH_SHIM_H
#define PGMLR_HEALTH_SHIM_H

#include "shim.h"

extern int	pgmlr_archive_ready_warning;
extern int	pgmlr_archive_ready_error;
/* In kB (GUC_UNIT_KB): an int GUC in bytes could not reach 1GB and beyond. */
extern int	pgmlr_replication_lag_warning_kb;
extern int	pgmlr_replication_lag_error_kb;

/* Runs a read-only query under SPI and raises ERROR if it fails. */
extern void pgmlr_health_spi_query(const char *sql);
/* Column col (1-based) of row 0 of SPI_tuptable. */
extern Datum pgmlr_health_spi_value(int col, bool *isnull);
/* Same for a text column; NULL for SQL NULL. Allocated in the SPI context. */
extern char *pgmlr_health_spi_text(int col);
/* An interval of the given microseconds (no days or months). */
extern Datum pgmlr_health_interval(int64 microseconds);

#endif							/* PGMLR_HEALTH_SHIM_H */
