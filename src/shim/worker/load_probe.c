/*
 * worker/load_probe.c — how busy the replica's readers are, sampled between
 * fetch steps for the yield controller (src/core/hf_fetch/yield_controller.hpp
 * says why these signals):
 *   - busy_backends: client backends running a query now, or that changed
 *     state since the previous sample (pgbench's short queries are rarely
 *     caught running, but always leave a fresh state change);
 *   - readers_cpu: the CPU time all client backends used since the previous
 *     sample (utime + stime of /proc/<pid>/stat), in CPUs; a backend first
 *     seen counts from its start, since it started after the previous sample;
 *   - node_cpu: the share of the node's CPU time not idle (/proc/stat).
 * Without /proc (not Linux) the two CPU figures are unknown (-1) and the
 * controller goes by busy_backends alone.
 */
#include "worker/yield.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "utils/backend_status.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* Closer samples than this say little (clock ticks are 10 ms). */
#define PROBE_MIN_INTERVAL_MS 100

typedef struct PidTicks
{
	int			pid;
	int64		ticks;
} PidTicks;

static bool have_previous = false;
static int64 previous_ms;
static TimestampTz previous_ts;
static int64 previous_node_busy;
static int64 previous_node_total;
static bool previous_node_known;
static PidTicks *previous_pids = NULL;	/* sorted by pid */
static int	previous_count = 0;
static PidTicks *current_pids = NULL;
static int	pids_capacity = 0;

static int64
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The aggregate "cpu" line: busy (all but idle and iowait) and total ticks. */
static bool
read_node_ticks(int64 *busy, int64 *total)
{
	FILE	   *f = fopen("/proc/stat", "r");
	unsigned long long v[8] = {0};
	int			n;

	if (f == NULL)
		return false;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 4)
		return false;
	*total = 0;
	for (int i = 0; i < 8; i++)
		*total += (int64) v[i];
	*busy = *total - (int64) v[3] - (int64) v[4];	/* idle, iowait */
	return true;
}

/* utime + stime of a process, in clock ticks; -1 if it is gone. */
static int64
read_pid_ticks(int pid)
{
	char		path[64];
	char		buf[1024];
	FILE	   *f;
	size_t		n;
	char	   *p;
	unsigned long long utime,
				stime;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces: count from its ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* Fields 3..13, then utime (14) and stime (15). */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
		return -1;
	return (int64) (utime + stime);
}

static int
pid_cmp(const void *a, const void *b)
{
	int			x = ((const PidTicks *) a)->pid;
	int			y = ((const PidTicks *) b)->pid;

	return (x > y) - (x < y);
}

static void
ensure_capacity(int n)
{
	if (n <= pids_capacity)
		return;
	n = Max(n, 64);
	previous_pids = previous_pids
		? repalloc(previous_pids, sizeof(PidTicks) * n)
		: MemoryContextAlloc(TopMemoryContext, sizeof(PidTicks) * n);
	current_pids = current_pids
		? repalloc(current_pids, sizeof(PidTicks) * n)
		: MemoryContextAlloc(TopMemoryContext, sizeof(PidTicks) * n);
	pids_capacity = n;
}

void
pgmlr_load_probe_reset(void)
{
	have_previous = false;
	previous_count = 0;
}

bool
pgmlr_load_probe_take(pgmlr_yield_sample *out)
{
	int64		now_ms = monotonic_ms();
	TimestampTz now_ts = GetCurrentTimestamp();
	int64		node_busy = 0,
				node_total = 0;
	bool		node_known;
	bool		cpu_known = true;
	int			numbackends;
	int			count = 0;
	int			busy = 0;
	int64		reader_ticks = 0;
	bool		sampled;
	PidTicks   *swap;

	if (have_previous && now_ms - previous_ms < PROBE_MIN_INTERVAL_MS)
		return false;

	node_known = read_node_ticks(&node_busy, &node_total);

	/* A fresh copy of the backend status array (the last one is cached). */
	pgstat_clear_backend_activity_snapshot();
	numbackends = pgstat_fetch_stat_numbackends();
	ensure_capacity(numbackends);
	for (int i = 1; i <= numbackends; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *be;
		int64		ticks;

		if (local == NULL)
			continue;
		be = &local->backendStatus;
		if (be->st_backendType != B_BACKEND || be->st_procpid <= 0 || be->st_procpid == MyProcPid)
			continue;
		if (be->st_state == STATE_RUNNING || be->st_state == STATE_FASTPATH ||
			(have_previous && be->st_state_start_timestamp >= previous_ts))
			busy++;
		if (!cpu_known)
			continue;
		ticks = read_pid_ticks(be->st_procpid);
		if (ticks < 0)
		{
			/* Gone since the snapshot, or no /proc: only a missing /proc matters. */
			if (access("/proc/self/stat", R_OK) != 0)
				cpu_known = false;
			continue;
		}
		current_pids[count].pid = be->st_procpid;
		current_pids[count].ticks = ticks;
		count++;
	}
	pgstat_clear_backend_activity_snapshot();

	qsort(current_pids, count, sizeof(PidTicks), pid_cmp);
	if (have_previous)
	{
		for (int i = 0; i < count; i++)
		{
			PidTicks   *before = bsearch(&current_pids[i], previous_pids, previous_count,
										 sizeof(PidTicks), pid_cmp);

			if (before == NULL)
				reader_ticks += current_pids[i].ticks;	/* started since the last sample */
			else if (current_pids[i].ticks > before->ticks)
				reader_ticks += current_pids[i].ticks - before->ticks;
		}
	}

	sampled = have_previous;
	if (sampled)
	{
		double		seconds = (now_ms - previous_ms) / 1000.0;
		long		hz = sysconf(_SC_CLK_TCK);

		memset(out, 0, sizeof(*out));
		out->at_ms = now_ms;
		out->busy_backends = busy;
		out->readers_cpu = (cpu_known && hz > 0) ? (double) reader_ticks / (double) hz / seconds : -1;
		out->node_cpu = -1;
		if (node_known && previous_node_known && node_total > previous_node_total)
			out->node_cpu = (double) (node_busy - previous_node_busy) / (double) (node_total - previous_node_total);
	}

	swap = previous_pids;
	previous_pids = current_pids;
	current_pids = swap;
	previous_count = count;
	previous_ms = now_ms;
	previous_ts = now_ts;
	previous_node_known = node_known;
	previous_node_busy = node_busy;
	previous_node_total = node_total;
	have_previous = true;
	return sampled;
}
