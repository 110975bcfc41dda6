/*
 * pgml_repl_core.h — the one boundary between the C++ core and the C shim.
 *
 * Plain C: no PostgreSQL type, no C++ type. Every function here is noexcept
 * in effect: the core catches everything and reports failures through a
 * pgmlr_status the caller owns. Strings and handles returned by the core are
 * allocated with malloc and released with the matching pgmlr_*_free call;
 * never pfree them, and never hand palloc'd memory to the core to keep.
 */
#ifndef PGML_REPL_CORE_H
#define PGML_REPL_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Status                                                               */
/* ------------------------------------------------------------------ */

/* The shim maps each code to a SQLSTATE (src/shim/errors.c). */
typedef enum pgmlr_errcode
{
	PGMLR_OK = 0,
	PGMLR_ERR_INVALID_PARAMETER,	/* 22023 invalid_parameter_value */
	PGMLR_ERR_INVALID_NAME,			/* 42602 invalid_name */
	PGMLR_ERR_CONFIG_FILE,			/* F0000 config_file_error */
	PGMLR_ERR_IO,					/* 58030 io_error */
	PGMLR_ERR_NOT_FOUND,			/* 58P01 undefined_file */
	PGMLR_ERR_PERMISSION,			/* 42501 insufficient_privilege */
	PGMLR_ERR_OUT_OF_MEMORY,		/* 53200 out_of_memory */
	PGMLR_ERR_CANCELED,				/* 57014 query_canceled */
	PGMLR_ERR_INTERNAL				/* XX000 internal_error */
} pgmlr_errcode;

typedef struct pgmlr_status
{
	pgmlr_errcode code;
	char		message[256];
	char		detail[1024];
	char		hint[512];
} pgmlr_status;

/* Resets *status to PGMLR_OK with empty texts. */
void		pgmlr_status_clear(pgmlr_status *status);

/* Releases a string returned by the core. NULL is fine. */
void		pgmlr_free(void *ptr);

/* ------------------------------------------------------------------ */
/* postgresql.auto.conf (configure_primary)                             */
/* ------------------------------------------------------------------ */
/* BEGIN auto_conf */

/*
 * postgresql.auto.conf as ordered name/value entries (as PostgreSQL's
 * ParseConfigFp returns them), merged and rendered exactly as PostgreSQL 15's
 * ALTER SYSTEM writes the file. Free with pgmlr_auto_conf_free.
 */
typedef struct pgmlr_auto_conf pgmlr_auto_conf;

pgmlr_auto_conf *pgmlr_auto_conf_create(pgmlr_status *status);
void		pgmlr_auto_conf_free(void *conf);
/* Appends an entry as read from the file (duplicates are kept). */
void		pgmlr_auto_conf_add(pgmlr_auto_conf *conf, const char *name, const char *value,
								pgmlr_status *status);
/* The value the server would read (last matching entry, names compared
 * case-insensitively), or NULL. Valid until conf changes. */
const char *pgmlr_auto_conf_get(const pgmlr_auto_conf *conf, const char *name);
/* Replaces the first matching entry in place (later duplicates dropped) or
 * appends one. */
void		pgmlr_auto_conf_set(pgmlr_auto_conf *conf, const char *name, const char *value,
								pgmlr_status *status);
/* The whole file: header comment, then name = 'value' lines (malloc). */
char	   *pgmlr_auto_conf_render(const pgmlr_auto_conf *conf, pgmlr_status *status);

/*
 * The settings configure_primary writes: archive_mode, wal_level,
 * archive_command, max_wal_senders, in that order. NULL arguments are SQL
 * NULLs. Create validates every argument. Free with pgmlr_primary_plan_free.
 */
typedef struct pgmlr_primary_plan pgmlr_primary_plan;

pgmlr_primary_plan *pgmlr_primary_plan_create(const char *stanza, const char *archive_command,
											  const int64_t *max_wal_senders,
											  const char *pgbackrest_config, pgmlr_status *status);
void		pgmlr_primary_plan_free(void *plan);
int			pgmlr_primary_plan_count(const pgmlr_primary_plan *plan);
/* The archive_command has no %p placeholder (worth a NOTICE, not an error). */
bool		pgmlr_primary_plan_archive_command_lacks_path(const pgmlr_primary_plan *plan);
const char *pgmlr_primary_plan_name(const pgmlr_primary_plan *plan, int i);
/* The value asked for, before looking at the current configuration. */
const char *pgmlr_primary_plan_desired(const pgmlr_primary_plan *plan, int i);
/* configured: the auto.conf entry or NULL; running: the server's value. */
void		pgmlr_primary_plan_observe(pgmlr_primary_plan *plan, int i, const char *configured,
									   const char *running, pgmlr_status *status);
/* After observe: */
const char *pgmlr_primary_plan_previous(const pgmlr_primary_plan *plan, int i);
const char *pgmlr_primary_plan_value(const pgmlr_primary_plan *plan, int i);
bool		pgmlr_primary_plan_changed(const pgmlr_primary_plan *plan, int i);
bool		pgmlr_primary_plan_pending_restart(const pgmlr_primary_plan *plan, int i);

/* END auto_conf */

/* ------------------------------------------------------------------ */
/* Role names, passwords and pg_hba.conf                                */
/* ------------------------------------------------------------------ */
/* BEGIN replication_user_hba */

/*
 * Role names: [A-Za-z_][A-Za-z0-9_$]*, 1 to 63 bytes, not reserved (pg_
 * prefix, public, none, current_user, session_user, current_role; any case).
 */
bool		pgmlr_check_role_name(const char *name, pgmlr_status *status);

/* A strong random password (32 characters, no look-alikes); pgmlr_free it. */
char	   *pgmlr_generate_password(pgmlr_status *status);

#define PGMLR_PASSWORD_PLAINTEXT 0
#define PGMLR_PASSWORD_SCRAM_VERIFIER 1
/*
 * PGMLR_PASSWORD_PLAINTEXT or PGMLR_PASSWORD_SCRAM_VERIFIER; refuses empty
 * text, md5 hashes and malformed SCRAM-SHA-256 verifiers.
 */
int			pgmlr_classify_password(const char *password, pgmlr_status *status);

/* Normalised CIDR ("10.0.0.1" -> "10.0.0.1/32"), or NULL with an error. */
char	   *pgmlr_hba_normalize_address(const char *address, pgmlr_status *status);
/* "scram-sha-256", "md5" or "cert", or NULL with an error. */
char	   *pgmlr_hba_normalize_method(const char *method, pgmlr_status *status);

/*
 * One edit of pg_hba.conf text: the new content, whether it differs, the rule
 * line concerned (NULL if none) and notices about hand-written lines. Role,
 * address and method are checked and normalised again here. Release with
 * pgmlr_hba_edit_free (usable with pgmlr_own_handle).
 */
typedef struct pgmlr_hba_edit pgmlr_hba_edit;
pgmlr_hba_edit *pgmlr_hba_allow(const char *content, const char *role, const char *address,
								const char *method, pgmlr_status *status);
pgmlr_hba_edit *pgmlr_hba_disallow(const char *content, const char *role, const char *address,
								   pgmlr_status *status);
const char *pgmlr_hba_edit_content(const pgmlr_hba_edit *edit);
bool		pgmlr_hba_edit_changed(const pgmlr_hba_edit *edit);
const char *pgmlr_hba_edit_rule(const pgmlr_hba_edit *edit);
int			pgmlr_hba_edit_notice_count(const pgmlr_hba_edit *edit);
const char *pgmlr_hba_edit_notice(const pgmlr_hba_edit *edit, int i);
void		pgmlr_hba_edit_free(void *edit);

/* END replication_user_hba */

/* ------------------------------------------------------------------ */
/* Archive and replication health                                       */
/* ------------------------------------------------------------------ */
/* BEGIN health */
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
/* END health */

/* ------------------------------------------------------------------ */
/* Operator toolkit: standby steps, PgCat config, pgBackRest info       */
/* ------------------------------------------------------------------ */
/* BEGIN operator */
/* END operator */

/* ------------------------------------------------------------------ */
/* HuggingFace cache scan, hashing and manifest                         */
/* ------------------------------------------------------------------ */
/* BEGIN hf_cache */
/* END hf_cache */

#ifdef __cplusplus
}
#endif

#endif							/* PGML_REPL_CORE_H */
