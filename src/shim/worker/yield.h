/*
 * worker/yield.h — the prefetch worker yields to the replica's queries.
 * load_probe.c samples the load (client backends from the backend status
 * array, their CPU time and the node's from /proc); yield.c feeds the
 * samples to the core's controller (pgml_repl/fetch_yield.h) between fetch
 * steps and applies the rate it decides to the running job.
 */
#ifndef PGMLR_WORKER_YIELD_H
#define PGMLR_WORKER_YIELD_H

#include "gucs.h"

#include "pgml_repl/fetch_yield.h"
#include "pgml_repl/hf_fetch.h"

/* worker/load_probe.c */
/* Forgets earlier readings: the next sample is only a baseline. */
extern void pgmlr_load_probe_reset(void);
/*
 * The load since the previous call into *out (bytes_received left 0);
 * false for the first call after a reset, or when too little time passed.
 */
extern bool pgmlr_load_probe_take(pgmlr_yield_sample *out);

/* worker/yield.c */
/* A job starts (with the cap it was created with). */
extern void pgmlr_yield_job_started(void);
/*
 * After a fetch step: samples, decides and sets the job's rate; when the
 * worker yields, prefixes detail (of size len) with why and the rate.
 */
extern void pgmlr_yield_after_step(pgmlr_fetch_job *job, const pgmlr_fetch_progress *progress,
								   char *detail, size_t len);

#endif							/* PGMLR_WORKER_YIELD_H */
