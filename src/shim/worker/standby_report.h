/*
 * worker/standby_report.h — what a standby's prefetch cycle shows in shared
 * memory (worker/state.h): the job's progress and queue, its refused rows,
 * and what an earlier source failed on, kept for the next source's queue.
 */
#ifndef PGMLR_WORKER_STANDBY_REPORT_H
#define PGMLR_WORKER_STANDBY_REPORT_H

#include "postgres.h"

#include "utils/hsearch.h"

#include "pgml_repl/fetch_sources.h"
#include "pgml_repl/hf_fetch.h"

/*
 * One pass of a cycle over one source. A cycle asks its sources in the order
 * of pgml_replication.hf_sources; each pass plans anew from the manifest and
 * the cache, so the next source gets exactly what the earlier ones did not
 * bring. What an earlier pass failed on stays visible in prefetch_queue().
 */
typedef struct SourcePass
{
	pgmlr_fetch_source_kind kind;
	const char *conninfo;		/* the upstream's; NULL for the Hub */
	const char *label;			/* "upstream HOST:PORT"; NULL for the Hub */
	bool		hub_follows;	/* a Hub pass comes after this one */
	HTAB	   *earlier_failures;	/* blob -> why, from the earlier pass; NULL: none */
	/* Adds the pass's rows to the job and returns how many; NULL: the replicated manifest. */
	int64		(*add_rows) (pgmlr_fetch_job *job, void *arg);
	void	   *add_rows_arg;
	/* results */
	pgmlr_fetch_progress progress;
	int64		rows;
	int64		refused;
	bool		ran_to_end;		/* neither canceled nor failed as a whole */
	bool		unreachable;	/* the upstream did not answer: nothing was asked */
} SourcePass;

/*
 * Lists the job's refused rows in shared memory (the first
 * PREFETCH_REFUSED_SLOTS, and the total), records the first as last_error
 * and logs a WARNING when the refusals changed. Returns how many there are.
 */
extern int64 pgmlr_standby_publish_refusals(pgmlr_fetch_job *job);

/* Copies the pass's progress and the head of the job's queue to shared memory. */
extern void pgmlr_standby_publish_progress(pgmlr_fetch_job *job, const SourcePass *pass, const char *state,
										   const char *detail);

/* What the job failed on, by blob (in CurrentMemoryContext), for the next pass's queue. */
extern HTAB *pgmlr_standby_collect_failures(pgmlr_fetch_job *job);

#endif							/* PGMLR_WORKER_STANDBY_REPORT_H */
