/*
 * worker/standby_role.c — the prefetch worker's cycle on a standby: read the
 * replicated manifest (hf_cache/manifest_table.c) and fetch what the local
 * cache lacks. The primary's cycle is worker/primary_role.c; its declared
 * models (worker/models_role.c) run one pass through the same job here.
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
#include "pgml_repl/upstream_extras.h"
#include "hf_cache/manifest_table.h"
#include "worker/fetch_sources.h"
#include "worker/standby_report.h"
#include "worker/yield.h"

/* A step returns after at most this long, so SIGTERM is honoured quickly. */
#define FETCH_STEP_MS 200
/* How long the upstream has to answer before the Hub is asked instead. */
#define UPSTREAM_PING_TIMEOUT_MS 10000
/* The upstream's trees and .no_exist markers are copied after a pass that
 * fetched something, else at most this often (a warm standby logs in to
 * its upstream only then). */
#define EXTRAS_SYNC_EVERY_MS (10 * 60 * 1000)
#define EXTRAS_SYNC_TIMEOUT_MS 60000

/*
 * The running job lives in core memory and holds temp files and flocks in
 * the cache: a static, so that an exit at any point (FATAL included) can
 * cancel it; its partial files stay for the next job to resume.
 */
static pgmlr_fetch_job *current_job = NULL;
static int	current_job_fds = 0;	/* descriptors reserved for its connections */

/* Host pauses and held files, from one cycle's job to the next (pgml_repl/hf_fetch.h). */
static pgmlr_fetch_memory *fetch_memory = NULL;

/* Whose cycle runs (set by pgmlr_prefetch_extension_ready, which both call
 * first): a standby's, or the primary's declared models' pass. */
static const char *pass_role = "standby";

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
	pgmlr_release_fetch_fds(current_job_fds);
	current_job_fds = 0;
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

	pass_role = role;
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

static void
record_cycle_error(const char *message)
{
	pgmlr_prefetch_record_error(message);
	pgmlr_prefetch_set_state(pass_role, "error", message);
}

bool
pgmlr_prefetch_hub_access(char **endpoint, char **token)
{
	pgmlr_status st;

	/* The setting, else the huggingface_hub environment (hub_env.hpp). */
	*endpoint = NULL;
	*token = pgmlr_take_string(pgmlr_hf_hub_token(pgmlr_hf_token_setting(), &st));
	if (st.code == PGMLR_OK)
		*endpoint = pgmlr_take_string(pgmlr_hf_hub_endpoint(pgmlr_hf_endpoint, &st));
	if (st.code != PGMLR_OK)
	{
		record_cycle_error(st.message);
		return false;
	}
	return true;
}

static bool
start_job(const char *cache_root, const SourcePass *pass)
{
	pgmlr_fetch_options opts;
	pgmlr_status st;
	char	   *token = NULL;
	char	   *endpoint = NULL;
	int			want;

	pgmlr_fetch_options_init(&opts);
	if (pass->kind == PGMLR_SOURCE_UPSTREAM)
	{
		/* No token: it stays on the primary, which serves gated files too. */
		opts.upstream_conninfo = pass->conninfo;
		/* One backend on the upstream per connection, as many as files at once. */
		opts.max_connections = pgmlr_max_parallel_downloads;
	}
	else
	{
		if (!pgmlr_prefetch_hub_access(&endpoint, &token))
			return false;
		opts.endpoint = endpoint;
		opts.token = token;
		opts.ca_file = (pgmlr_hf_ca_file && pgmlr_hf_ca_file[0]) ? pgmlr_hf_ca_file : NULL;
	}
	opts.cache_root = cache_root;
	opts.max_parallel = pgmlr_max_parallel_downloads;
	opts.min_free_disk = (int64) pgmlr_min_free_disk_mb * 1024 * 1024;
	opts.max_bytes_per_second = (int64) pgmlr_max_download_rate_kb * 1024;
	opts.range_size = (int64) pgmlr_download_range_size_kb * 1024;
	opts.max_streams_per_file = pgmlr_max_streams_per_file;
	opts.abort_flag = &ShutdownRequestPending;
	opts.memory = fetch_memory;

	/* Its sockets count against max_files_per_process, as dblink's do. */
	want = pgmlr_fetch_connection_cap(&opts);
	current_job_fds = pgmlr_reserve_fetch_fds(want);
	if (current_job_fds == 0)
	{
		if (token)
			pfree(token);
		record_cycle_error("no file descriptor is free for a download connection (max_files_per_process)");
		return false;
	}
	opts.max_connections = current_job_fds;

	current_job = pgmlr_fetch_new(&opts, &st);
	if (token)
		pfree(token);			/* the core keeps its own copy */
	if (current_job == NULL)
	{
		pgmlr_release_fetch_fds(current_job_fds);
		current_job_fds = 0;
		record_cycle_error(st.message);
		return false;
	}
	return true;
}

/* The cache folder, resolved the way hf_cache_manifest() resolves it. */
char *
pgmlr_prefetch_cache_root(bool mkdir_if_missing)
{
	pgmlr_status st;
	char	   *dir = pgmlr_hf_default_cache_dir(pgmlr_hf_cache_dir, &st);

	if (dir == NULL)
	{
		record_cycle_error(st.message);
		return NULL;
	}
	dir = pgmlr_take_string(dir);
	/* A fresh replica has no cache yet: create it as huggingface_hub would. */
	if (mkdir_if_missing && pg_mkdir_p(dir, pg_dir_create_mode) != 0 && errno != EEXIST)
	{
		char		message[PREFETCH_ERROR_LEN];

		snprintf(message, sizeof(message), "could not create the cache folder \"%s\": %m", dir);
		record_cycle_error(message);
		return NULL;
	}
	return dir;
}

/* What a connection that found no free descriptor reports. */
static void
no_fd_status(pgmlr_status *st, const char *label)
{
	pgmlr_status_clear(st);
	snprintf(st->message, sizeof(st->message), "%s: no file descriptor is free for a connection (max_files_per_process)",
			 label);
}

/* A failure beside the blobs' own: a WARNING when it is new, and last_error. */
static void
report_failure(const char *message, const char *detail, const char *hint)
{
	if (pgmlr_prefetch_error_is_new(message))
		ereport(WARNING,
				(errmsg("pgml_replication prefetch: %s", message),
				 detail && detail[0] ? errdetail_internal("%s", detail) : 0,
				 hint && hint[0] ? errhint("%s", hint) : 0));
	pgmlr_prefetch_record_error(message);
}

/* The upstream answers and lets this role read blobs; else why not (logged once per change). */
static bool
upstream_answers(const SourcePass *pass)
{
	pgmlr_status st;
	char		message[PREFETCH_ERROR_LEN];
	bool		answered;
	int			fd;

	pgmlr_prefetch_set_state(pass_role, "connecting", pass->label);
	/* Its socket counts against max_files_per_process too. */
	fd = pgmlr_reserve_fetch_fds(1);
	answered = fd == 1 && pgmlr_upstream_ping(pass->conninfo, UPSTREAM_PING_TIMEOUT_MS, &ShutdownRequestPending, &st);
	pgmlr_release_fetch_fds(fd);
	if (answered)
		return true;
	if (fd == 0)
		no_fd_status(&st, pass->label);
	if (st.code == PGMLR_ERR_CANCELED)
		return false;
	snprintf(message, sizeof(message), "%s%s%s%s", st.message, st.detail[0] ? ": " : "", st.detail,
			 pass->hub_follows ? "; fetching from the Hub instead" : "");
	report_failure(message, NULL, st.hint);
	if (!pass->hub_follows)
		pgmlr_prefetch_set_state(pass_role, "error", message);
	return false;
}

/*
 * Plans from the manifest and runs the job to its end (or a cancel). The
 * upstream is asked whether it answers only when something is missing, so
 * a warm standby does not log in every naptime.
 */
static void
run_pass(const char *root, SourcePass *pass)
{
	ManifestLoad load;
	pgmlr_status st;
	char		detail[PREFETCH_ERROR_LEN];
	const char *from = pass->kind == PGMLR_SOURCE_UPSTREAM ? "from the upstream; " : "from the Hub; ";
	bool		done = false;
	bool		partials_logged = false;
	int64		received = 0;

	if (!start_job(root, pass))
		return;
	if (pass->add_rows != NULL)
		pass->rows = pass->add_rows(current_job, pass->add_rows_arg);
	else
	{
		pgmlr_prefetch_set_state(pass_role, "scanning", "reading the manifest and the local cache");
		memset(&load, 0, sizeof(load));
		load.job = current_job;
		if (!pgmlr_prefetch_in_transaction(load_manifest, &load))
		{
			release_current_job();
			pgmlr_prefetch_set_state(pass_role, "error", "reading pgml_repl.hf_manifest failed; see last_error");
			return;
		}
		pass->rows = load.rows;
	}

	pgmlr_fetch_plan(current_job, &st);
	if (st.code != PGMLR_OK)
	{
		release_current_job();
		record_cycle_error(st.message);
		return;
	}
	pass->refused = pgmlr_standby_publish_refusals(current_job);
	if (pass->kind == PGMLR_SOURCE_UPSTREAM && pgmlr_fetch_queue_count(current_job) > 0 && !upstream_answers(pass))
	{
		pass->unreachable = !ShutdownRequestPending;
		return;
	}

	pgmlr_yield_job_started();
	while (!done)
	{
		pgmlr_fetch_progress *progress = &pass->progress;

		done = pgmlr_fetch_step(current_job, FETCH_STEP_MS, progress, &st);
		pgmlr_prefetch_add_source_bytes(pass->kind == PGMLR_SOURCE_UPSTREAM ? progress->bytes_received - received : 0,
										pass->kind == PGMLR_SOURCE_HUB ? progress->bytes_received - received : 0);
		received = progress->bytes_received;
		snprintf(detail, sizeof(detail), "%s%s%lld of %lld files, %lld of %lld bytes", from,
				 progress->paused_ms > 0 ? "paused by the Hub's rate limit (no request until its window ends); " : "",
				 (long long) progress->files_done, (long long) progress->files_wanted,
				 (long long) progress->bytes_done, (long long) progress->bytes_wanted);
		if (!done)
			pgmlr_yield_after_step(current_job, progress, detail, sizeof(detail));
		pgmlr_standby_publish_progress(current_job, pass,
									   done ? "idle" : (progress->paused_ms > 0 && progress->files_active == 0) ? "paused" : "downloading",
									   detail);
		if (!partials_logged && progress->partials_removed > 0)
			ereport(LOG,
					(errmsg("pgml_replication prefetch: removed %lld partial downloads of blobs no longer in the manifest",
							(long long) progress->partials_removed)));
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
	pass->ran_to_end = done && st.code == PGMLR_OK;
	if (st.code != PGMLR_OK && st.code != PGMLR_ERR_CANCELED)
	{
		pgmlr_prefetch_record_error(st.message);
		pgmlr_standby_publish_progress(current_job, pass, "error", st.message);
	}
}

static TimestampTz last_extras_sync = 0;

/*
 * Copies what huggingface_hub wrote on the upstream besides blobs (trees,
 * .no_exist markers), so the cache equals the upstream's as the client sees
 * it. Its failure is logged and recorded, but leaves the blobs' state alone.
 */
static void
sync_upstream_extras(const char *root, const SourcePass *pass)
{
	pgmlr_extras_result res;
	pgmlr_status st;
	TimestampTz now = GetCurrentTimestamp();
	bool		synced;
	int			fd;

	if (!pass->ran_to_end || pass->unreachable)
		return;
	if (pass->progress.files_done == 0 && last_extras_sync != 0 &&
		!TimestampDifferenceExceeds(last_extras_sync, now, EXTRAS_SYNC_EVERY_MS))
		return;
	last_extras_sync = now;
	memset(&res, 0, sizeof(res));
	pgstat_report_activity(STATE_RUNNING, "copying the upstream's trees and .no_exist markers");
	fd = pgmlr_reserve_fetch_fds(1);
	synced = fd == 1 && pgmlr_upstream_extras_sync(root, pass->conninfo, EXTRAS_SYNC_TIMEOUT_MS, &ShutdownRequestPending, &res, &st);
	pgmlr_release_fetch_fds(fd);
	if (fd == 0)
		no_fd_status(&st, pass->label);
	if (!synced)
	{
		char		message[PREFETCH_ERROR_LEN];

		if (st.code == PGMLR_ERR_CANCELED)
			return;
		snprintf(message, sizeof(message), "trees and .no_exist markers not copied: %s", st.message);
		report_failure(message, st.detail, st.hint);
		return;
	}
	if (res.trees_written > 0 || res.markers_written > 0)
		ereport(LOG,
				(errmsg("pgml_replication prefetch: copied %lld trees and %lld .no_exist markers from the %s",
						(long long) res.trees_written, (long long) res.markers_written, pass->label)));
	if (res.refused > 0)
	{
		char		message[PREFETCH_ERROR_LEN];

		snprintf(message, sizeof(message), "%lld trees or .no_exist markers from the %s refused, the first: %s",
				 (long long) res.refused, pass->label, res.first_refusal);
		report_failure(message, NULL, NULL);
	}
}

static bool
pass_complete(const SourcePass *pass)
{
	const pgmlr_fetch_progress *p = &pass->progress;

	return pass->ran_to_end && p->files_failed == 0 && p->links_failed == 0 && pass->refused == 0;
}

/* Whether any source after index i is the Hub. */
static bool
hub_after(const pgmlr_fetch_source_list *list, int i)
{
	for (int k = i + 1; k < list->count; k++)
		if (list->kinds[k] == PGMLR_SOURCE_HUB)
			return true;
	return false;
}

void
pgmlr_prefetch_standby_cycle(void)
{
	CycleSources sources;
	SourcePass	pass;
	HTAB	   *earlier = NULL;
	char	   *root;
	char		detail[PREFETCH_ERROR_LEN];
	int64		fetched = 0;

	if (!pgmlr_prefetch_extension_ready("standby"))
		return;
	if ((root = pgmlr_prefetch_cache_root(true)) == NULL)
		return;
	pgmlr_cycle_sources(&sources);

	memset(&pass, 0, sizeof(pass));
	for (int i = 0; i < sources.list.count; i++)
	{
		pgmlr_fetch_source_kind kind = sources.list.kinds[i];

		if (kind == PGMLR_SOURCE_UPSTREAM && sources.upstream_conninfo == NULL)
		{
			/* A log-shipping standby: the Hub, quietly, when it is listed. */
			if (!hub_after(&sources.list, i))
				record_cycle_error(sources.no_upstream);
			continue;
		}
		/* What the pass before failed on shows beside the next source's tries. */
		if (pass.ran_to_end && current_job != NULL)
			earlier = pgmlr_standby_collect_failures(current_job);
		release_current_job();
		memset(&pass, 0, sizeof(pass));
		pass.kind = kind;
		pass.conninfo = kind == PGMLR_SOURCE_UPSTREAM ? sources.upstream_conninfo : NULL;
		pass.label = kind == PGMLR_SOURCE_UPSTREAM ? sources.upstream_label : NULL;
		pass.hub_follows = hub_after(&sources.list, i);
		pass.earlier_failures = earlier;
		run_pass(root, &pass);
		fetched += pass.progress.files_done;
		if (kind == PGMLR_SOURCE_UPSTREAM)
			sync_upstream_extras(root, &pass);
		if (pass.unreachable)
			continue;
		if (!pass.ran_to_end || pass_complete(&pass))
			break;
	}

	if (pass.ran_to_end)
	{
		const pgmlr_fetch_progress *p = &pass.progress;

		/* Never "complete" while anything of the manifest is missing. */
		if (!pass_complete(&pass))
		{
			snprintf(detail, sizeof(detail),
					 "cache incomplete: %lld manifest rows refused (prefetch_queue() lists them with status refused), "
					 "%lld files failed (%lld of them held back until next_try_at), %lld links or refs failed; "
					 "failures are retried next cycle",
					 (long long) pass.refused, (long long) p->files_failed, (long long) p->files_held,
					 (long long) p->links_failed);
			pgmlr_standby_publish_progress(current_job, &pass, "error", detail);
		}
		else
		{
			snprintf(detail, sizeof(detail), "cache complete: %lld manifest rows, %lld files fetched this cycle",
					 (long long) pass.rows, (long long) fetched);
			pgmlr_standby_publish_progress(current_job, &pass, "idle", detail);
		}
	}
	/* Canceled (SIGTERM, prefetch off) or finished: temp files go, published files stay. */
	pgmlr_prefetch_clear_current();
	release_current_job();
	if (earlier != NULL)
		hash_destroy(earlier);
}

/*
 * The primary's declared models: one pass from the Hub over the rows
 * add_rows gives, through the same job, progress and queue a standby's
 * pass uses. The job is released before returning.
 */
void
pgmlr_prefetch_run_rows_pass(const char *root, SourcePass *pass)
{
	run_pass(root, pass);
	pgmlr_prefetch_clear_current();
	release_current_job();
}
