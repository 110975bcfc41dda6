/*
 * worker/yield.c — between fetch steps, the standby's worker samples the
 * replica's load (load_probe.c), asks the core's controller
 * (pgml_repl/fetch_yield.h) for the download rate and sets it on the running
 * job. pgml_replication.yield_to_queries turns the yielding off,
 * yield_download_rate is the floor while readers are crowded, and
 * max_download_rate stays the hard cap; all three are read at every step, so
 * a reload applies to a running download.
 */
#include "worker/yield.h"

#include <stdio.h>

/* One controller for the worker's life, reset for each job. */
static pgmlr_yield *controller = NULL;
static int64 applied_rate = -1;	/* what the job has now; -1: unknown */

void
pgmlr_yield_job_started(void)
{
	pgmlr_status st;

	if (controller == NULL)
	{
		controller = pgmlr_yield_new(&st);
		if (controller == NULL)
		{
			/* Downloads go on without yielding rather than not at all. */
			pgmlr_report_status_at(WARNING, &st);
			return;
		}
	}
	pgmlr_yield_reset(controller);
	pgmlr_load_probe_reset();
	(void) pgmlr_load_probe_take(NULL);	/* the baseline */
	applied_rate = (int64) pgmlr_max_download_rate_kb * 1024;	/* the job's options */
}

static void
format_rate(char *buf, size_t len, int64 bytes_per_second)
{
	if (bytes_per_second >= 10 * 1024 * 1024)
		snprintf(buf, len, "%lld MB/s", (long long) (bytes_per_second / (1024 * 1024)));
	else
		snprintf(buf, len, "%lld kB/s", (long long) (bytes_per_second / 1024));
}

void
pgmlr_yield_after_step(pgmlr_fetch_job *job, const pgmlr_fetch_progress *progress, char *detail, size_t len)
{
	pgmlr_yield_settings settings;
	pgmlr_yield_sample sample;
	pgmlr_yield_decision decision;
	pgmlr_status st;
	char		rate[32];
	char	   *rest;

	if (controller == NULL || !pgmlr_load_probe_take(&sample))
		return;
	sample.bytes_received = progress->bytes_received;
	settings.enabled = pgmlr_yield_to_queries;
	settings.floor_bytes_per_second = (int64) pgmlr_yield_download_rate_kb * 1024;
	settings.max_bytes_per_second = (int64) pgmlr_max_download_rate_kb * 1024;
	pgmlr_yield_update(controller, &settings, &sample, &decision, &st);
	if (st.code != PGMLR_OK)
		return;					/* keeps the rate it has; nothing here is worth an ERROR */

	if (decision.bytes_per_second != applied_rate)
	{
		pgmlr_fetch_set_rate_limit(job, decision.bytes_per_second, &st);
		if (st.code == PGMLR_OK)
			applied_rate = decision.bytes_per_second;
	}
	if (!decision.yielding)
		return;

	format_rate(rate, sizeof(rate), decision.bytes_per_second);
	rest = pstrdup(detail);
	if (sample.readers_cpu >= 0 && sample.node_cpu >= 0)
		snprintf(detail, len,
				 "yielding to queries (client backends using %.1f CPUs, node CPU %.0f%% busy): download rate limited to %s; %s",
				 sample.readers_cpu, sample.node_cpu * 100.0, rate, rest);
	else
		snprintf(detail, len, "yielding to queries (%d client backends busy): download rate limited to %s; %s",
				 sample.busy_backends, rate, rest);
	pfree(rest);
}
