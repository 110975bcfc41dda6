/*
 * health_shim.h — what archive_status.c and replication_status.c share:
 * the settings (gucs.h) and small SPI helpers.
 */
#ifndef PGMLR_HEALTH_SHIM_H
#define PGMLR_HEALTH_SHIM_H

#include "gucs.h"


/* Runs a read-only query under SPI and raises ERROR if it fails. */
extern void pgmlr_health_spi_query(const char *sql);
/* Column col (1-based) of row 0 of SPI_tuptable. */
extern Datum pgmlr_health_spi_value(int col, bool *isnull);
/* Same for a text column; NULL for SQL NULL. Allocated in the SPI context. */
extern char *pgmlr_health_spi_text(int col);
/* An interval of the given microseconds (no days or months). */
extern Datum pgmlr_health_interval(int64 microseconds);

#endif							/* PGMLR_HEALTH_SHIM_H */
