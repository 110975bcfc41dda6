/*
 * pgml_repl/health.h — archive and replication health, and the facts check() judges.
 *
 * Plain C, seen by the shim and by src/core/health/api.cpp only. Rules: pgml_repl/status.h.
 */
#ifndef PGML_REPL_HEALTH_H
#define PGML_REPL_HEALTH_H

#include "pgml_repl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Archive and replication health                                       */
/* ------------------------------------------------------------------ */
/*
 * Classification of archive and replication health. The shim gathers the
 * facts (SPI on pg_stat_archiver, pg_ls_archive_statusdir(),
 * pg_stat_replication, pg_stat_wal_receiver); the core only compares them
 * with the thresholds and writes the detail sentence.
 *
 * Times are microsecond counts on one clock (the shim passes TimestampTz
 * values as they are); the core only subtracts them. Texts are borrowed for
 * the duration of the call; NULL means "unknown".
 */
typedef enum pgmlr_health_state
{
	PGMLR_HEALTH_OK = 0,
	PGMLR_HEALTH_WARNING,
	PGMLR_HEALTH_ERROR,
	PGMLR_HEALTH_DISABLED
} pgmlr_health_state;

/* "ok", "warning", "error", "disabled". */
const char *pgmlr_health_state_name(pgmlr_health_state state);

typedef struct pgmlr_archive_facts
{
	const char *archive_mode;	/* "off", "on", "always" */
	bool		in_recovery;	/* RecoveryInProgress() */

	int64_t		archived_count;
	const char *last_archived_wal;
	bool		has_last_archived_at;
	int64_t		last_archived_at;
	const char *last_archived_at_text;	/* for the detail */

	int64_t		failed_count;
	const char *last_failed_wal;
	bool		has_last_failed_at;
	int64_t		last_failed_at;
	const char *last_failed_at_text;

	int32_t		ready_count;	/* names ending .ready in archive_status */
	const char *oldest_ready_wal;
	bool		has_oldest_ready_at;	/* modification time of its .ready file */
	int64_t		oldest_ready_at;
	int64_t		now;

	int32_t		ready_warning;	/* pgml_replication.archive_ready_warning */
	int32_t		ready_error;	/* pgml_replication.archive_ready_error */
} pgmlr_archive_facts;

typedef struct pgmlr_archive_verdict
{
	pgmlr_health_state state;
	bool		has_oldest_ready_age;
	int64_t		oldest_ready_age;	/* microseconds, never negative */
	char	   *detail;			/* malloc'd; release with pgmlr_free */
} pgmlr_archive_verdict;

/* On failure *verdict holds no detail (NULL) and status says why. */
void		pgmlr_archive_classify(const pgmlr_archive_facts *facts,
								   pgmlr_archive_verdict *verdict,
								   pgmlr_status *status);

typedef struct pgmlr_replication_facts
{
	bool		is_standby;
	/*
	 * Primary: pg_stat_replication.state of one walsender. Standby:
	 * pg_stat_wal_receiver.status, NULL when no WAL receiver runs.
	 */
	const char *state;
	const char *peer;			/* application_name or sender host, for the detail */

	/*
	 * The position replay is measured against: pg_current_wal_lsn() on a
	 * primary, the receiver's flushed LSN on a standby.
	 */
	bool		has_source_lsn;
	uint64_t	source_lsn;
	bool		has_replay_lsn;
	uint64_t	replay_lsn;

	/* Standby only: pg_last_xact_replay_timestamp(), NULL on a fresh standby. */
	bool		has_last_replay_at;
	int64_t		last_replay_at;
	int64_t		now;

	int64_t		lag_warning_bytes;
	int64_t		lag_error_bytes;
} pgmlr_replication_facts;

typedef struct pgmlr_replication_verdict
{
	pgmlr_health_state state;
	bool		has_lag_bytes;
	int64_t		lag_bytes;		/* source - replay, never negative */
	bool		has_replay_delay;	/* standby only */
	int64_t		replay_delay;	/* microseconds; 0 when nothing is pending */
	char	   *detail;			/* malloc'd; release with pgmlr_free */
} pgmlr_replication_verdict;

void		pgmlr_replication_classify(const pgmlr_replication_facts *facts,
									   pgmlr_replication_verdict *verdict,
									   pgmlr_status *status);
/*
 * archive_command parsed for pgBackRest: true when one of its words is the
 * pgbackrest program (any path) and a --stanza is given; *stanza and
 * *config (NULL when not given) are malloc'd then. Shell quoting ('..',
 * "..", backslash) is undone. Returns false (no error) for other commands.
 */
bool		pgmlr_archive_command_pgbackrest(const char *archive_command, char **stanza, char **config,
											 pgmlr_status *status);

/*
 * Whether pgBackRest's newest archived segment (archive_max) has caught up
 * with pg_stat_archiver.last_archived_wal: 1 yes, 0 no, -1 unknown (no
 * last_archived_wal, or it is not a segment name such as a .history file).
 */
int			pgmlr_pgbackrest_in_sync(const char *archive_max, const char *last_archived_wal);

/* ------------------------------------------------------------------ */
/* Doctor: check() and check_summary()                                  */
/* ------------------------------------------------------------------ */
/*
 * The shim gathers plain facts (settings, rows of the other status
 * functions via SPI); the core turns them into named checks with a status
 * (ok, warning, error, skipped), a detail with the measured value and a hint
 * naming what to run. Texts are borrowed for the duration of the call; NULL
 * means unknown or not set.
 */
typedef struct pgmlr_doctor_role
{
	const char *name;
	bool		can_login;
	bool		scram_password; /* only meaningful when passwords_visible */
	bool		has_hba_rule;	/* only meaningful when hba_visible */
	bool		can_fetch;		/* EXECUTE on hf_blob_read and SELECT on hf_manifest */
	bool		has_fetch_hba_rule; /* a host line for fetch_database; when hba_visible */
} pgmlr_doctor_role;

typedef struct pgmlr_doctor_standby
{
	const char *application_name;
	const char *state;			/* pg_stat_replication.state */
	const char *status;			/* replication_status().status */
	const char *detail;			/* replication_status().detail */
} pgmlr_doctor_standby;

typedef struct pgmlr_doctor_facts
{
	bool		in_recovery;

	/* settings */
	const char *wal_level;
	const char *archive_mode;
	const char *archive_command;
	const char *restore_command;
	const char *hot_standby;
	const char *shared_preload_libraries;	/* NULL: not readable */

	/* primary */
	int32_t		max_wal_senders;
	int32_t		wal_senders_used;	/* rows of pg_stat_replication */
	const pgmlr_doctor_role *roles; /* rolreplication, not superuser */
	const char *fetch_database; /* where replicas fetch blobs (pgml_replication.database) */
	int32_t		n_roles;
	bool		passwords_visible;	/* pg_authid readable (superuser) */
	bool		hba_visible;	/* pg_hba_file_rules readable (superuser) */
	int32_t		hba_error_lines;
	const char *archive_status; /* archive_status().status */
	const char *archive_detail;
	const char *pgbackrest_archive_max;
	int32_t		pgbackrest_in_sync; /* 1, 0, -1 unknown */
	const char *last_archived_wal;
	const pgmlr_doctor_standby *standbys;
	int32_t		n_standbys;
	int32_t		models_declared;	/* rows of model_status(); -1: not readable */
	int32_t		models_ready;	/* state ready */
	int32_t		models_failing; /* the Hub refused them, or no worker fetches them */
	const char *models_first_problem;	/* "model org/x@main: gated: ..." (failing first) */

	/* standby */
	bool		replay_paused;
	const char *receiver_state; /* NULL: no WAL receiver */
	const char *receiver_status;	/* replication_status().status */
	const char *receiver_detail;
	bool		has_lag_bytes;
	int64_t		lag_bytes;
	const char *replay_delay;	/* interval text, NULL when unknown */
	bool		prefetch_enabled;	/* pgml_replication.prefetch */
	const char *prefetch_state; /* prefetch_status().state */
	const char *prefetch_detail;
	bool		prefetch_worker_pid_known;
	int64_t		prefetch_files_failed;
	const char *prefetch_last_error;
	int64_t		prefetch_refused_rows;	/* prefetch_status().refused_rows */
	const char *prefetch_first_refusal;	/* "model:org/x revision ... path ...: reason" */

	/* HuggingFace cache against pgml_repl.hf_manifest */
	bool		cache_visible;	/* may call hf_cache_manifest() */
	const char *cache_dir;		/* resolved folder, NULL when unknown */
	bool		cache_dir_exists;
	int64_t		manifest_files; /* rows of pgml_repl.hf_manifest */
	int64_t		cache_files;	/* healthy rows of hf_cache_manifest() */
	int64_t		manifest_not_in_cache;
	int64_t		cache_not_in_manifest;
	int64_t		cache_invalid_names;	/* hf_cache_manifest() rows with status invalid_name */
	/* primary: rows of pgml_repl.hf_manifest that break the Hub's rules
	 * (possible only once a CHECK constraint was dropped) */
	int64_t		manifest_rows_breaking_rules;
	const char *manifest_first_breaking_row;	/* "model orgbars-/m1 ... path ...: reason" */
} pgmlr_doctor_facts;

typedef struct pgmlr_doctor_report pgmlr_doctor_report;

typedef struct pgmlr_doctor_check
{
	const char *check_name;
	const char *status;			/* "ok", "warning", "error", "skipped" */
	const char *detail;
	const char *hint;			/* NULL when there is nothing to do */
} pgmlr_doctor_check;

typedef struct pgmlr_doctor_summary
{
	const char *status;			/* "ok", "warning", "error", "unknown" */
	int32_t		exit_code;		/* Nagios: 0, 1, 2, 3 */
	int32_t		errors;
	int32_t		warnings;
	const char *detail;
} pgmlr_doctor_summary;

/* Texts handed out stay valid until pgmlr_doctor_free(report). */
pgmlr_doctor_report *pgmlr_doctor_run(const pgmlr_doctor_facts *facts, pgmlr_status *status);
int32_t		pgmlr_doctor_count(const pgmlr_doctor_report *report);
bool		pgmlr_doctor_get(const pgmlr_doctor_report *report, int32_t i, pgmlr_doctor_check *out);
void		pgmlr_doctor_summarize(const pgmlr_doctor_report *report, pgmlr_doctor_summary *out);
void		pgmlr_doctor_free(void *report);

#ifdef __cplusplus
}
#endif

#endif							/* PGML_REPL_HEALTH_H */
