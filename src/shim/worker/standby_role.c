/*
 * worker/standby_role.c — the prefetch worker's cycle on a standby: read the
 * replicated manifest (hf_cache/manifest_table.c) and fetch what the local
 * cache lacks. The primary's cycle is worker/primary_role.c.
 */
#include "worker/standby_role.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/file_perm.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/pmsignal.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "pgml_repl/hf_cache.h"
#include "pgml_repl/hf_fetch.h"
#include "hf_cache/manifest_table.h"
#include "worker/yield.h"

/* A step returns after at most this long, so SIGTERM is honoured quickly. */
#define FETCH_STEP_MS 200

/*
 * The running job lives in core memory and holds temp files and flocks in
 * the cache: a static, so that an exit at any point (FATAL included) can
 * cancel it; its partial files stay for the next job to resume.
 */
static pgmlr_fetch_job *current_job = NULL;

/* Host pauses and held files, from one cycle's job to the next (pgml_repl/hf_fetch.h). */
static pgmlr_fetch_memory *fetch_memory = NULL;

static void
release_current_job(void)
{
	if (current_job != NULL)
	{
		pgmlr_fetch_job *job = current_job;

		current_job = NULL;
		pgmlr_fetch_cancel(job);
		pgmlr_fetch_free(job);
	}
}

static void
release_current_job_at_exit(int code, Datum arg)
{
	release_current_job();
}

void
pgmlr_prefetch_cycle_init(void)
{
	pgmlr_status st;

	before_shmem_exit(release_current_job_at_exit, (Datum) 0);
	pgmlr_fetch_global_init(&st);
	pgmlr_report_status(&st);
	fetch_memory = pgmlr_fetch_memory_new(&st);
	pgmlr_report_status(&st);
}

static void
check_extension(void *arg)
{
	bool	   *installed = (bool *) arg;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgml_replication'", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up the pgml_replication extension");
	*installed = (SPI_processed == 1);
	SPI_finish();
}

/* Until CREATE EXTENSION has run in pgml_replication.database, wait quietly. */
bool
pgmlr_prefetch_extension_ready(const char *role)
{
	bool		installed = false;

	if (!pgmlr_prefetch_in_transaction(check_extension, &installed))
		return false;
	if (!installed)
	{
		char		detail[PREFETCH_ERROR_LEN];

		snprintf(detail, sizeof(detail),
				 "extension pgml_replication is not installed in database \"%s\" (pgml_replication.database)",
				 pgmlr_prefetch_database);
		pgmlr_prefetch_set_state(role, "waiting", detail);
	}
	return installed;
}

typedef struct ManifestLoad
{
	pgmlr_fetch_job *job;
	int64		rows;
} ManifestLoad;

/*
 * Reads the replicated manifest in one short read-only transaction and hands
 * each row, with all its refs, to the job. Untrusted input: a refused row is
 * recorded by the job, never acted on.
 */
static void
load_manifest(void *arg)
{
	ManifestLoad *load = (ManifestLoad *) arg;
	pgmlr_hf_manifest_row *rows;
	size_t		n;

	pgstat_report_activity(STATE_RUNNING, "reading pgml_repl.hf_manifest");
	rows = pgmlr_manifest_table_read(false, &n);
	for (size_t i = 0; i < n; i++)
	{
		pgmlr_status st;

		(void) pgmlr_fetch_add_row(load->job, &rows[i], &st);
	}
	load->rows = (int64) n;
}

static const char *
queue_status(pgmlr_fetch_state state)
{
	switch (state)
	{
		case PGMLR_FETCH_PENDING:
			return "pending";
		case PGMLR_FETCH_ACTIVE:
			return "downloading";
		case PGMLR_FETCH_BACKOFF:
			return "retrying";
		case PGMLR_FETCH_FAILED:
			return "failed";
		case PGMLR_FETCH_HELD:
			return "held";
		case PGMLR_FETCH_DONE:
			break;
	}
	return "done";
}

/* Refusals of the previous cycle, so an unchanged set is logged once. */
static char last_refusals_logged[PREFETCH_ERROR_LEN + 32] = "";

/*
 * Lists the job's refused rows in shared memory (the first
 * PREFETCH_REFUSED_SLOTS, and the total), records the first as last_error
 * and logs a WARNING when the refusals changed. Returns how many there are.
 */
static int64
publish_refusals(void)
{
	int			total = pgmlr_fetch_refused_count(current_job);
	int			shown = Min(total, PREFETCH_REFUSED_SLOTS);
	PrefetchQueueSlot *slots = palloc0(sizeof(PrefetchQueueSlot) * PREFETCH_REFUSED_SLOTS);
	StringInfoData detail;
	char		first[PREFETCH_ERROR_LEN] = "";
	char		summary[sizeof(last_refusals_logged)];

	initStringInfo(&detail);
	for (int k = 0; k < shown; k++)
	{
		pgmlr_fetch_refusal r;

		if (!pgmlr_fetch_refused_item(current_job, k, &r))
			break;
		snprintf(slots[k].repo, sizeof(slots[k].repo), "%s:%s", r.repo_type, r.repo_id);
		strlcpy(slots[k].revision, r.revision, sizeof(slots[k].revision));
		strlcpy(slots[k].path, r.path, sizeof(slots[k].path));
		strlcpy(slots[k].status, "refused", sizeof(slots[k].status));
		strlcpy(slots[k].last_error, r.reason, sizeof(slots[k].last_error));
		if (k == 0)
			snprintf(first, sizeof(first), "manifest row refused: %s: %s", r.label, r.reason);
		if (k < 10)
			appendStringInfo(&detail, "%s%s: %s", k > 0 ? "\n" : "", r.label, r.reason);
	}
	if (total > 10)
		appendStringInfo(&detail, "\n... and %d more", total - 10);

	pgmlr_prefetch_record_refusals(total, shown, slots);
	pfree(slots);

	snprintf(summary, sizeof(summary), "%d|%s", total, first);
	if (total > 0)
	{
		pgmlr_prefetch_record_error(first);
		if (strcmp(summary, last_refusals_logged) != 0)
			ereport(WARNING,
					(errmsg("pgml_replication prefetch: %d manifest rows refused", total),
					 errdetail_internal("%s", detail.data),
					 errhint("Nothing is written for them. SELECT * FROM pgml_repl.prefetch_queue() WHERE status = 'refused' "
							 "lists them; fix or delete them on the primary, where the CHECK constraints of "
							 "pgml_repl.hf_manifest refuse such rows unless they were dropped.")));
	}
	strlcpy(last_refusals_logged, summary, sizeof(last_refusals_logged));
	pfree(detail.data);
	return total;
}

/* Copies the job's progress and the head of its queue to shared memory. */
static void
publish_progress(const pgmlr_fetch_progress *p, const char *state, const char *detail)
{
	int			queued = pgmlr_fetch_queue_count(current_job);
	int			shown = Min(queued, PREFETCH_QUEUE_SLOTS);
	PrefetchQueueSlot *slots = palloc0(sizeof(PrefetchQueueSlot) * PREFETCH_QUEUE_SLOTS);
	char		failure[PREFETCH_ERROR_LEN] = "";
	TimestampTz now = GetCurrentTimestamp();

	for (int k = 0; k < shown; k++)
	{
		pgmlr_fetch_queue_entry e;

		if (!pgmlr_fetch_queue_item(current_job, k, &e))
			break;
		snprintf(slots[k].repo, sizeof(slots[k].repo), "%s:%s", e.repo_type, e.repo_id);
		strlcpy(slots[k].revision, e.revision, sizeof(slots[k].revision));
		strlcpy(slots[k].status, queue_status(e.state), sizeof(slots[k].status));
		strlcpy(slots[k].path, e.path, sizeof(slots[k].path));
		strlcpy(slots[k].blob, e.blob, sizeof(slots[k].blob));
		slots[k].size = e.size;
		slots[k].attempts = e.attempts;
		strlcpy(slots[k].last_error, e.last_error, sizeof(slots[k].last_error));
		slots[k].next_try_at = e.next_try_ms >= 0 ? TimestampTzPlusMilliseconds(now, e.next_try_ms) : 0;
		if (failure[0] == '\0' && e.last_error[0] != '\0')
			snprintf(failure, sizeof(failure), "%s:%s %s: %s", e.repo_type, e.repo_id, e.path, e.last_error);
	}
	if (failure[0] == '\0' && p->last_publish_error[0] != '\0')
		strlcpy(failure, p->last_publish_error, sizeof(failure));

	pgmlr_prefetch_record_progress(p, state, detail, failure, queued, shown, slots);
	pgmlr_prefetch_record_pause(p->paused_ms > 0 ? TimestampTzPlusMilliseconds(now, p->paused_ms) : 0);
	pfree(slots);
}

static bool
start_job(const char *cache_root)
{
	pgmlr_fetch_options opts;
	pgmlr_status st;
	char	   *token;
	char	   *endpoint;

	/* The setting, else the huggingface_hub environment (hub_env.hpp). */
	token = pgmlr_take_string(pgmlr_hf_hub_token(pgmlr_hf_token_setting(), &st));
	endpoint = st.code == PGMLR_OK ? pgmlr_take_string(pgmlr_hf_hub_endpoint(pgmlr_hf_endpoint, &st)) : NULL;
	if (st.code != PGMLR_OK)
	{
		pgmlr_prefetch_record_error(st.message);
		pgmlr_prefetch_set_state("standby", "error", st.message);
		return false;
	}

	pgmlr_fetch_options_init(&opts);
	opts.cache_root = cache_root;
	opts.endpoint = endpoint;
	opts.token = token;
	opts.ca_file = (pgmlr_hf_ca_file && pgmlr_hf_ca_file[0]) ? pgmlr_hf_ca_file : NULL;
	opts.max_parallel = pgmlr_max_parallel_downloads;
	opts.min_free_disk = (int64) pgmlr_min_free_disk_mb * 1024 * 1024;
	opts.max_bytes_per_second = (int64) pgmlr_max_download_rate_kb * 1024;
	opts.range_size = (int64) pgmlr_download_range_size_kb * 1024;
	opts.max_streams_per_file = pgmlr_max_streams_per_file;
	opts.abort_flag = &ShutdownRequestPending;
	opts.memory = fetch_memory;

	current_job = pgmlr_fetch_new(&opts, &st);
	if (token)
		pfree(token);			/* the core keeps its own copy */
	if (current_job == NULL)
	{
		pgmlr_prefetch_record_error(st.message);
		pgmlr_prefetch_set_state("standby", "error", st.message);
		return false;
	}
	return true;
}

/* The cache folder, resolved the way hf_cache_manifest() resolves it. */
static char *
cache_root(bool mkdir_if_missing)
{
	pgmlr_status st;
	char	   *dir = pgmlr_hf_default_cache_dir(pgmlr_hf_cache_dir, &st);

	if (dir == NULL)
	{
		pgmlr_prefetch_record_error(st.message);
		pgmlr_prefetch_set_state("standby", "error", st.message);
		return NULL;
	}
	dir = pgmlr_take_string(dir);
	/* A fresh replica has no cache yet: create it as huggingface_hub would. */
	if (mkdir_if_missing && pg_mkdir_p(dir, pg_dir_create_mode) != 0 && errno != EEXIST)
	{
		char		message[PREFETCH_ERROR_LEN];

		snprintf(message, sizeof(message), "could not create the cache folder \"%s\": %m", dir);
		pgmlr_prefetch_record_error(message);
		pgmlr_prefetch_set_state("standby", "error", message);
		return NULL;
	}
	return dir;
}

void
pgmlr_prefetch_standby_cycle(void)
{
	ManifestLoad load;
	pgmlr_fetch_progress progress;
	pgmlr_status st;
	char	   *root;
	char		detail[PREFETCH_ERROR_LEN];
	bool		done = false;
	bool		partials_logged;
	int64		refused;

	if (!pgmlr_prefetch_extension_ready("standby"))
		return;
	if ((root = cache_root(true)) == NULL || !start_job(root))
		return;

	pgmlr_prefetch_set_state("standby", "scanning", "reading the manifest and the local cache");
	memset(&load, 0, sizeof(load));
	load.job = current_job;
	if (!pgmlr_prefetch_in_transaction(load_manifest, &load))
	{
		release_current_job();
		pgmlr_prefetch_set_state("standby", "error", "reading pgml_repl.hf_manifest failed; see last_error");
		return;
	}

	pgmlr_fetch_plan(current_job, &st);
	if (st.code != PGMLR_OK)
	{
		release_current_job();
		pgmlr_prefetch_record_error(st.message);
		pgmlr_prefetch_set_state("standby", "error", st.message);
		return;
	}
	refused = publish_refusals();

	memset(&progress, 0, sizeof(progress));
	partials_logged = false;
	pgmlr_yield_job_started();
	while (!done)
	{
		done = pgmlr_fetch_step(current_job, FETCH_STEP_MS, &progress, &st);
		snprintf(detail, sizeof(detail), "%s%lld of %lld files, %lld of %lld bytes",
				 progress.paused_ms > 0 ? "paused by the Hub's rate limit (no request until its window ends); " : "",
				 (long long) progress.files_done, (long long) progress.files_wanted,
				 (long long) progress.bytes_done, (long long) progress.bytes_wanted);
		if (!done)
			pgmlr_yield_after_step(current_job, &progress, detail, sizeof(detail));
		publish_progress(&progress, done ? "idle" : (progress.paused_ms > 0 && progress.files_active == 0) ? "paused" : "downloading",
						 detail);
		if (!partials_logged && progress.partials_removed > 0)
			ereport(LOG,
					(errmsg("pgml_replication prefetch: removed %lld partial downloads of blobs no longer in the manifest",
							(long long) progress.partials_removed)));
		partials_logged = true;

		if (ShutdownRequestPending || !PostmasterIsAlive())
			break;
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			if (!pgmlr_prefetch_enabled)
				break;
		}
		CHECK_FOR_INTERRUPTS();
	}

	if (done && st.code == PGMLR_OK)
	{
		/* Never "complete" while anything of the manifest is missing. */
		if (progress.files_failed > 0 || progress.links_failed > 0 || refused > 0)
		{
			snprintf(detail, sizeof(detail),
					 "cache incomplete: %lld manifest rows refused (prefetch_queue() lists them with status refused), "
					 "%lld files failed (%lld of them held back until next_try_at), %lld links or refs failed; "
					 "failures are retried next cycle",
					 (long long) refused, (long long) progress.files_failed, (long long) progress.files_held,
					 (long long) progress.links_failed);
			publish_progress(&progress, "error", detail);
		}
		else
		{
			snprintf(detail, sizeof(detail), "cache complete: %lld manifest rows, %lld files fetched this cycle",
					 (long long) load.rows, (long long) progress.files_done);
			publish_progress(&progress, "idle", detail);
		}
	}
	else if (st.code != PGMLR_OK && st.code != PGMLR_ERR_CANCELED)
	{
		pgmlr_prefetch_record_error(st.message);
		publish_progress(&progress, "error", st.message);
	}
	/* Canceled (SIGTERM, prefetch off) or finished: temp files go, published files stay. */
	pgmlr_prefetch_clear_current();
	release_current_job();
}
