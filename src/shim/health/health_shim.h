/*
 * health_shim.h — what archive_status.c and replication_status.c share:
 * the settings (gucs.h), SQL (spi.h) and the interval helper.
 */
#ifndef PGMLR_HEALTH_SHIM_H
#define PGMLR_HEALTH_SHIM_H

#include "gucs.h"
#include "spi.h"


/* An interval of the given microseconds (no days or months). */
extern Datum pgmlr_health_interval(int64 microseconds);

#endif							/* PGMLR_HEALTH_SHIM_H */
