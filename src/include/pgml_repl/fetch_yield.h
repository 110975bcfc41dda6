/*
 * pgml_repl/fetch_yield.h — the prefetch worker yields to queries: from load
 * samples the shim takes between fetch steps (worker/load_probe.c), the
 * core's controller (src/core/hf_fetch/yield_controller.hpp, which explains
 * the rule) decides the download rate the shim hands to
 * pgmlr_fetch_set_rate_limit().
 *
 * Plain C, seen by the shim and by src/core/hf_fetch/api_yield.cpp only.
 * Rules: pgml_repl/status.h.
 */
#ifndef PGML_REPL_FETCH_YIELD_H
#define PGML_REPL_FETCH_YIELD_H

#include "pgml_repl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pgmlr_yield pgmlr_yield;

typedef struct pgmlr_yield_sample
{
	int64_t		at_ms;			/* a monotonic clock */
	int			busy_backends;	/* client backends that ran a query during the interval */
	double		readers_cpu;	/* CPUs those backends used over the interval; < 0: unknown */
	double		node_cpu;		/* share of the node's CPU time in use, 0..1; < 0: unknown */
	int64_t		bytes_received; /* the fetch job's counter */
} pgmlr_yield_sample;

typedef struct pgmlr_yield_settings
{
	bool		enabled;		/* pgml_replication.yield_to_queries */
	int64_t		floor_bytes_per_second; /* pgml_replication.yield_download_rate */
	int64_t		max_bytes_per_second;	/* pgml_replication.max_download_rate; 0: none */
} pgmlr_yield_settings;

typedef struct pgmlr_yield_decision
{
	int64_t		bytes_per_second;	/* for the job; 0: no limit */
	bool		yielding;		/* slowed down for the queries */
	bool		readers;		/* the last sample saw busy client backends */
} pgmlr_yield_decision;

/* NULL with *status set when out of memory. Free with pgmlr_yield_free. */
pgmlr_yield *pgmlr_yield_new(pgmlr_status *status);
/* Forgets everything (a new job). */
void		pgmlr_yield_reset(pgmlr_yield *yield);
/* Feeds one sample; *out is the rate from now on. */
void		pgmlr_yield_update(pgmlr_yield *yield, const pgmlr_yield_settings *settings,
							   const pgmlr_yield_sample *sample, pgmlr_yield_decision *out,
							   pgmlr_status *status);
void		pgmlr_yield_free(pgmlr_yield *yield);

#ifdef __cplusplus
}
#endif

#endif							/* PGML_REPL_FETCH_YIELD_H */
