/*
 * health/check.c — pgml_repl.check() and pgml_repl.check_summary().
 *
 * Gathers plain facts with SPI, mostly by calling the extension's own status
 * functions (archive_status(), replication_status(), prefetch_status()) so
 * their logic lives in one place; the core classifies. Runs with the
 * caller's privileges: what needs superuser (pg_authid, pg_hba_file_rules,
 * scanning the cache) is reported as skipped for others, never an error.
 */
#include "gucs.h"
#include "spi.h"

#include <sys/stat.h>

#include "access/xlog.h"
#include "catalog/pg_authid_d.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "replication/walsender.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "pgml_repl/health.h"
#include "pgml_repl/hf_cache.h"
#include "hf_cache/manifest_table.h"

static const char *
setting(const char *name)
{
	const char *v = GetConfigOption(name, true, true);

	return v ? pstrdup(v) : NULL;
}

static bool
may_scan_cache(void)
{
	if (superuser())
		return true;
	pgmlr_spi_select("SELECT pg_catalog.has_function_privilege('pgml_repl.hf_cache_manifest(text, boolean)', 'EXECUTE')"
					 " AND pg_catalog.has_table_privilege('pgml_repl.hf_manifest', 'SELECT')");
	return pgmlr_spi_rows() == 1 && pgmlr_spi_bool(0, 1);
}

static void
gather_cache(pgmlr_doctor_facts *f)
{
	const char *configured = pgmlr_hf_cache_dir;
	pgmlr_status st;
	char	   *dir;
	struct stat sb;
	pgmlr_hf_manifest_row *published;
	size_t		npublished;
	MemoryContext scan_cxt;
	pgmlr_hf_scan *scan;
	pgmlr_hf_diff_counts_out counts;

	f->cache_visible = may_scan_cache();
	if (!f->cache_visible)
		return;
	dir = pgmlr_hf_default_cache_dir(configured, &st);
	if (st.code == PGMLR_OK && dir)
		f->cache_dir = pgmlr_take_string(dir);
	f->cache_dir_exists = f->cache_dir && stat(f->cache_dir, &sb) == 0 && S_ISDIR(sb.st_mode);
	published = pgmlr_manifest_table_read(false, &npublished);
	if (!f->cache_dir_exists)
	{
		f->manifest_files = (int64) npublished;
		return;
	}
	/* The core compares: a file is its place and content, refs aside. */
	scan_cxt = AllocSetContextCreate(CurrentMemoryContext, "pgml_repl check cache scan", ALLOCSET_SMALL_SIZES);
	scan = pgmlr_hf_scan_owned(f->cache_dir, scan_cxt, true);
	pgmlr_hf_diff_counts(published, npublished, scan, &counts, &st);
	pgmlr_report_status(&st);
	MemoryContextDelete(scan_cxt);
	f->manifest_files = counts.manifest_files;
	f->cache_files = counts.cache_files;
	f->manifest_not_in_cache = counts.manifest_not_in_cache;
	f->cache_not_in_manifest = counts.cache_not_in_manifest;
	f->cache_invalid_names = counts.cache_invalid_names;
}

/* Whether role a may call hf_blob_read(_rows) and hf_cache_extras and read the manifest they look in. */
#define CAN_FETCH_SQL \
	"(pg_catalog.has_function_privilege(a.oid, 'pgml_repl.hf_blob_read(text, bigint, integer)', 'EXECUTE')" \
	" AND pg_catalog.has_function_privilege(a.oid, 'pgml_repl.hf_blob_read_rows(text, bigint, integer)', 'EXECUTE')" \
	" AND pg_catalog.has_function_privilege(a.oid, 'pgml_repl.hf_cache_extras()', 'EXECUTE')" \
	" AND pg_catalog.has_table_privilege(a.oid, 'pgml_repl.hf_manifest', 'SELECT'))"

/* model_status() states no later cycle changes by itself. */
#define MODEL_FAILING_STATES "'repo_not_found', 'revision_not_found', 'gated', 'bad_answer', 'error', 'no_worker', 'invalid'"

static void
gather_primary(pgmlr_doctor_facts *f)
{
	bool		su = superuser();
	pgmlr_doctor_role *roles;
	pgmlr_doctor_standby *standbys;
	bool		isnull;

	f->wal_level = setting("wal_level");
	f->archive_mode = setting("archive_mode");
	f->archive_command = setting("archive_command");
	f->max_wal_senders = max_wal_senders;

	pgmlr_spi_select("SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_replication");
	f->wal_senders_used = (int32) pgmlr_spi_int8(0, 1, &isnull);

	f->passwords_visible = su;
	f->hba_visible = su;
	f->fetch_database = pgmlr_blob_fetch_database();
	if (su)
		pgmlr_spi_select(psprintf("SELECT a.rolname::text, a.rolcanlogin,"
								  "  COALESCE(a.rolpassword LIKE 'SCRAM-SHA-256$%%', false),"
								  "  EXISTS (SELECT 1 FROM pg_catalog.pg_hba_file_rules h"
								  "          WHERE h.error IS NULL AND h.type IN ('host', 'hostssl')"
								  "            AND 'replication' = ANY (h.database)"
								  "            AND (a.rolname = ANY (h.user_name) OR 'all' = ANY (h.user_name))"
								  "            AND h.auth_method IN ('scram-sha-256', 'md5', 'cert')),"
								  "  %s,"
								  "  EXISTS (SELECT 1 FROM pg_catalog.pg_hba_file_rules h"
								  "          WHERE h.error IS NULL AND h.type IN ('host', 'hostssl')"
								  "            AND (%s = ANY (h.database) OR 'all' = ANY (h.database))"
								  "            AND (a.rolname = ANY (h.user_name) OR 'all' = ANY (h.user_name))"
								  "            AND h.auth_method IN ('scram-sha-256', 'md5', 'cert'))"
								  " FROM pg_catalog.pg_authid a WHERE a.rolreplication AND NOT a.rolsuper ORDER BY 1",
								  CAN_FETCH_SQL, quote_literal_cstr(f->fetch_database)));
	else
		pgmlr_spi_select("SELECT a.rolname::text, a.rolcanlogin, false, false, " CAN_FETCH_SQL ", false"
						 " FROM pg_catalog.pg_roles a WHERE a.rolreplication AND NOT a.rolsuper ORDER BY 1");
	f->n_roles = (int32) pgmlr_spi_rows();
	roles = palloc0(sizeof(pgmlr_doctor_role) * (pgmlr_spi_rows() + 1));
	for (uint64 i = 0; i < pgmlr_spi_rows(); i++)
	{
		roles[i].name = pgmlr_spi_string(i, 1);
		roles[i].can_login = pgmlr_spi_bool(i, 2);
		roles[i].scram_password = pgmlr_spi_bool(i, 3);
		roles[i].has_hba_rule = pgmlr_spi_bool(i, 4);
		roles[i].can_fetch = pgmlr_spi_bool(i, 5);
		roles[i].has_fetch_hba_rule = pgmlr_spi_bool(i, 6);
	}
	f->roles = roles;
	if (su)
	{
		pgmlr_spi_select("SELECT pg_catalog.count(*) FROM pg_catalog.pg_hba_file_rules WHERE error IS NOT NULL");
		f->hba_error_lines = (int32) pgmlr_spi_int8(0, 1, &isnull);
	}

	/* Only after a CHECK constraint was dropped can the table hold such rows. */
	pgmlr_spi_select("SELECT pg_catalog.has_table_privilege('pgml_repl.hf_manifest', 'SELECT')");
	if (pgmlr_spi_bool(0, 1))
	{
		char	   *first_breaking_row;

		f->manifest_rows_breaking_rules = pgmlr_manifest_table_rule_breakers(&first_breaking_row);
		f->manifest_first_breaking_row = first_breaking_row;
	}

	pgmlr_spi_select("SELECT status, detail, pgbackrest_archive_max, pgbackrest_in_sync, last_archived_wal"
					 " FROM pgml_repl.archive_status()");
	f->archive_status = pgmlr_spi_string(0, 1);
	f->archive_detail = pgmlr_spi_string(0, 2);
	f->pgbackrest_archive_max = pgmlr_spi_string(0, 3);
	f->pgbackrest_in_sync = pgmlr_spi_string(0, 4) == NULL ? -1 : pgmlr_spi_bool(0, 4) ? 1 : 0;
	f->last_archived_wal = pgmlr_spi_string(0, 5);

	pgmlr_spi_select("SELECT application_name, state, status, detail FROM pgml_repl.replication_status()");
	f->n_standbys = (int32) pgmlr_spi_rows();
	standbys = palloc0(sizeof(pgmlr_doctor_standby) * (pgmlr_spi_rows() + 1));
	for (uint64 i = 0; i < pgmlr_spi_rows(); i++)
	{
		standbys[i].application_name = pgmlr_spi_string(i, 1);
		standbys[i].state = pgmlr_spi_string(i, 2);
		standbys[i].status = pgmlr_spi_string(i, 3);
		standbys[i].detail = pgmlr_spi_string(i, 4);
	}
	f->standbys = standbys;

	/* Failing models first, then those not yet in the cache. */
	f->models_declared = -1;
	pgmlr_spi_select("SELECT pg_catalog.to_regprocedure('pgml_repl.model_status()') IS NOT NULL"
					 " AND pg_catalog.has_function_privilege('pgml_repl.model_status()', 'EXECUTE')");
	if (pgmlr_spi_bool(0, 1))
	{
		pgmlr_spi_select("SELECT count(*), count(*) FILTER (WHERE state = 'ready'),"
						 " count(*) FILTER (WHERE state IN (" MODEL_FAILING_STATES ")),"
						 " (array_agg(repo_type || ' ' || repo_id || '@' || revision || ': ' || state || ': ' || detail"
						 "   ORDER BY state IN (" MODEL_FAILING_STATES ") DESC, repo_type, repo_id, revision)"
						 "   FILTER (WHERE state <> 'ready'))[1]"
						 " FROM pgml_repl.model_status()");
		f->models_declared = (int32) pgmlr_spi_int8(0, 1, &isnull);
		f->models_ready = (int32) pgmlr_spi_int8(0, 2, &isnull);
		f->models_failing = (int32) pgmlr_spi_int8(0, 3, &isnull);
		f->models_first_problem = pgmlr_spi_string(0, 4);
	}
}

static void
gather_standby(pgmlr_doctor_facts *f)
{
	bool		isnull;

	f->restore_command = setting("restore_command");
	f->hot_standby = setting("hot_standby");
	if (superuser() || has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_SETTINGS))
		f->shared_preload_libraries = pstrdup(GetConfigOption("shared_preload_libraries", false, false));

	pgmlr_spi_select("SELECT pg_catalog.pg_is_wal_replay_paused()");
	f->replay_paused = pgmlr_spi_bool(0, 1);

	pgmlr_spi_select("SELECT state, status, detail, lag_bytes, replay_delay::text FROM pgml_repl.replication_status()");
	if (pgmlr_spi_rows() >= 1)
	{
		f->receiver_state = pgmlr_spi_string(0, 1);
		f->receiver_status = pgmlr_spi_string(0, 2);
		f->receiver_detail = pgmlr_spi_string(0, 3);
		f->lag_bytes = pgmlr_spi_int8(0, 4, &isnull);
		f->has_lag_bytes = !isnull;
		f->replay_delay = pgmlr_spi_string(0, 5);
	}

	f->prefetch_enabled = pgmlr_prefetch_enabled;
	pgmlr_spi_select("SELECT state, detail, worker_pid IS NOT NULL, files_failed, last_error, refused_rows"
					 " FROM pgml_repl.prefetch_status()");
	if (pgmlr_spi_rows() >= 1)
	{
		f->prefetch_state = pgmlr_spi_string(0, 1);
		f->prefetch_detail = pgmlr_spi_string(0, 2);
		f->prefetch_worker_pid_known = pgmlr_spi_bool(0, 3);
		f->prefetch_files_failed = pgmlr_spi_int8(0, 4, &isnull);
		f->prefetch_last_error = pgmlr_spi_string(0, 5);
		f->prefetch_refused_rows = pgmlr_spi_int8(0, 6, &isnull);
	}
	if (f->prefetch_refused_rows > 0)
	{
		pgmlr_spi_select("SELECT repo || ' revision ' || coalesce(revision, '') || ' path ' || path || ': ' || last_error"
						 " FROM pgml_repl.prefetch_queue() WHERE status = 'refused' LIMIT 1");
		if (pgmlr_spi_rows() >= 1)
			f->prefetch_first_refusal = pgmlr_spi_string(0, 1);
	}
}

/*
 * Runs every check; the report is owned by the caller's memory context
 * (facts live in SPI memory, which is gone once this returns).
 */
static pgmlr_doctor_report *
run_doctor(void)
{
	MemoryContext caller = CurrentMemoryContext;
	pgmlr_doctor_facts facts;
	pgmlr_doctor_report *report;
	pgmlr_status st;

	memset(&facts, 0, sizeof facts);
	facts.pgbackrest_in_sync = -1;
	pgmlr_spi_connect();
	facts.in_recovery = RecoveryInProgress();
	if (facts.in_recovery)
		gather_standby(&facts);
	else
		gather_primary(&facts);
	gather_cache(&facts);

	report = pgmlr_doctor_run(&facts, &st);
	if (report)
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		pgmlr_own_handle(report, pgmlr_doctor_free);
		MemoryContextSwitchTo(spi);
	}
	pgmlr_spi_finish();
	pgmlr_report_status(&st);
	return report;
}

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL);
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgmlr_check);

Datum
pgmlr_check(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pgmlr_doctor_report *report;
	int32		n;

	InitMaterializedSRF(fcinfo, 0);
	report = run_doctor();
	n = pgmlr_doctor_count(report);
	for (int32 i = 0; i < n; i++)
	{
		pgmlr_doctor_check c;
		Datum		values[4];
		bool		nulls[4];

		if (!pgmlr_doctor_get(report, i, &c))
			break;
		values[0] = text_or_null(c.check_name, &nulls[0]);
		values[1] = text_or_null(c.status, &nulls[1]);
		values[2] = text_or_null(c.detail, &nulls[2]);
		values[3] = text_or_null(c.hint, &nulls[3]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgmlr_check_summary);

Datum
pgmlr_check_summary(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pgmlr_doctor_report *report;
	pgmlr_doctor_summary s;
	Datum		values[5];
	bool		nulls[5] = {0};

	InitMaterializedSRF(fcinfo, 0);
	report = run_doctor();
	pgmlr_doctor_summarize(report, &s);
	values[0] = CStringGetTextDatum(s.status);
	values[1] = Int32GetDatum(s.exit_code);
	values[2] = Int32GetDatum(s.errors);
	values[3] = Int32GetDatum(s.warnings);
	values[4] = CStringGetTextDatum(s.detail);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
