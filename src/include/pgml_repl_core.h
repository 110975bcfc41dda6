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

/*
 * The candidate a misspelt role name most likely meant (small edit distance,
 * letter case ignored), malloc'd; NULL when none is close enough.
 */
char	   *pgmlr_nearest_name(const char *name, const char *const *candidates, int n_candidates,
							   pgmlr_status *status);

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
/*
 * True with a note in *note (message, detail, hint; code PGMLR_OK) when the
 * normalised address differs from what was written in a way worth a NOTICE:
 * host bits cleared ("10.0.12.5/24" -> "10.0.12.0/24"), or a bare address
 * that looks like a network taken as one host ("10.0.12.0" -> "/32").
 */
bool		pgmlr_hba_address_note(const char *address, pgmlr_status *note);
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
/* END health */

/* ------------------------------------------------------------------ */
/* Operator toolkit: standby steps, PgCat config, pgBackRest info       */
/* ------------------------------------------------------------------ */
/* BEGIN operator */
/*
 * standby_setup(): the bash script that turns a host into a streaming
 * replica, checking everything before it changes anything. NULL strings
 * mean "not given"; data_directory is required (NULL is an error with a
 * HINT: it is never guessed). Returns malloc'd text.
 */
typedef struct pgmlr_standby_setup_args
{
	const char *primary_host;
	int			primary_port;
	const char *role_name;
	const char *stanza;
	const char *data_directory;
	const char *pgbackrest_config;	/* NULL: pgBackRest's default file */
	const char *application_name;	/* NULL: derived on the replica host */
	bool		copy_model_cache;
} pgmlr_standby_setup_args;

char	   *pgmlr_standby_setup_script(const pgmlr_standby_setup_args *args, pgmlr_status *status);

/*
 * pgcat_config(): a PgCat [pools.<pool>] TOML block. replicas are "host" or
 * "host:port" ("[v6]:port"), duplicates dropped; n_replicas may be 0.
 * connected_hosts/connected_names are the standbys connected now (address,
 * "" for a Unix socket, and application_name): each is listed, on port.
 * Returns malloc'd text; *unknown_ports is NULL, or the malloc'd, quoted,
 * comma-separated names of connected standbys whose port is only a guess
 * (another server has their address and that port).
 */
typedef struct pgmlr_pgcat_args
{
	const char *pool;
	int			port;
	const char *primary_host;
	const char *const *replicas;
	int			n_replicas;
	const char *const *connected_hosts;
	const char *const *connected_names;
	int			n_connected;
	const char *database;
	const char *user_name;
} pgmlr_pgcat_args;

char	   *pgmlr_pgcat_config(const pgmlr_pgcat_args *args, char **unknown_ports, pgmlr_status *status);

/*
 * The primary's address for PgCat when none is given: the server address of
 * this connection, else the first listen address that names one host, else
 * "localhost". Either input may be NULL. Returns malloc'd text.
 */
char	   *pgmlr_pgcat_default_primary_host(const char *server_addr, const char *listen_addresses,
											 pgmlr_status *status);

/*
 * The /bin/sh command that runs "pgbackrest ... --output=json info" under
 * coreutils timeout, with stderr redirected to stderr_path. Values are
 * validated and shell-quoted here. Returns malloc'd text.
 */
char	   *pgmlr_pgbackrest_info_command(const char *stanza, const char *pgbackrest_config,
										  int timeout_seconds, const char *stderr_path,
										  pgmlr_status *status);

/*
 * Explains a non-zero pgbackrest exit in *status (always an error):
 * exit_code is the program's exit code, or -1 if it died from a signal.
 * stdout_text/stderr_text may be NULL.
 */
void		pgmlr_pgbackrest_exit_error(int exit_code, int timeout_seconds, const char *stdout_text,
										const char *stderr_text, pgmlr_status *status);

/*
 * Checks that text is pgBackRest info JSON (an array of stanza objects, each
 * with a name and status). The shim converts the very same text to jsonb, so
 * numbers such as system-id (> 2^53) stay exact.
 */
void		pgmlr_pgbackrest_info_validate(const char *json_text, pgmlr_status *status);

/*
 * The newest archived WAL segment (archive[].max) of the stanza's current
 * database, or NULL (no error) when nothing is archived yet. A stanza that
 * is missing or broken is an error with pgBackRest's status explained.
 */
char	   *pgmlr_pgbackrest_archive_max(const char *json_text, const char *stanza, pgmlr_status *status);
/* END operator */

/* ------------------------------------------------------------------ */
/* Doctor: check() and check_summary()                                  */
/* ------------------------------------------------------------------ */
/* BEGIN doctor */
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
/* END doctor */

/* ------------------------------------------------------------------ */
/* HuggingFace cache scan, hashing and manifest                         */
/* ------------------------------------------------------------------ */
/* BEGIN hf_cache */
/*
 * Scan of a HuggingFace hub cache folder. A scan is an opaque handle: the
 * shim reads its rows, repos and notices through the accessors below (every
 * pointer stays valid until the handle is freed) and ties it to a memory
 * context with pgmlr_own_handle(scan, pgmlr_hf_scan_free).
 */
typedef struct pgmlr_hf_scan pgmlr_hf_scan;

/* One file of one snapshot (or a stray blob download: revision/path NULL). */
typedef struct pgmlr_hf_file_row
{
	const char *repo_type;		/* model, dataset, space */
	const char *repo_id;		/* gpt2, org/name */
	const char *revision;		/* snapshot commit; NULL for a stray download */
	const char *const *refs;	/* refs pointing at revision, sorted */
	int32_t		nrefs;
	const char *path;			/* relative to the snapshot; NULL for a stray download */
	const char *blob;			/* blob name; NULL when unknown */
	int64_t		size;			/* bytes; -1 when unknown */
	const char *status;			/* ok, broken_symlink, ... (docs/hf_cache.md) */
	bool		verified;		/* content hashed and equal to the blob name */
} pgmlr_hf_file_row;

/* One repo, as `huggingface-cli scan-cache` shows it. */
typedef struct pgmlr_hf_repo_row
{
	const char *repo_type;
	const char *repo_id;
	int32_t		revisions;
	int32_t		files;			/* distinct blobs (plus real files of no-symlink snapshots) */
	int64_t		size_on_disk;	/* each blob counted once */
	bool		has_last_modified;
	int64_t		last_modified;	/* newest blob mtime, seconds since the Unix epoch */
	const char *const *refs;
	int32_t		nrefs;
} pgmlr_hf_repo_row;

/*
 * The cache folder to use: configured if non-empty, else HF_HUB_CACHE,
 * HUGGINGFACE_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub,
 * $HOME/.cache/huggingface/hub (the server's environment). malloc'd.
 */
char	   *pgmlr_hf_default_cache_dir(const char *configured, pgmlr_status *status);

/*
 * Lists cache_dir (absolute). A missing folder is no error: an empty scan
 * with a notice. Damage inside the cache becomes row statuses or notices.
 */
pgmlr_hf_scan *pgmlr_hf_scan_cache(const char *cache_dir, pgmlr_status *status);
/* Cancels and joins a running verification, then releases everything. */
void		pgmlr_hf_scan_free(void *scan);
/* False when the cache folder did not exist (the scan is then empty). */
bool		pgmlr_hf_scan_found(const pgmlr_hf_scan *scan);

size_t		pgmlr_hf_scan_file_count(const pgmlr_hf_scan *scan);
const pgmlr_hf_file_row *pgmlr_hf_scan_file(const pgmlr_hf_scan *scan, size_t i);
size_t		pgmlr_hf_scan_repo_count(const pgmlr_hf_scan *scan);
const pgmlr_hf_repo_row *pgmlr_hf_scan_repo(const pgmlr_hf_scan *scan, size_t i);
size_t		pgmlr_hf_scan_notice_count(const pgmlr_hf_scan *scan);
const char *pgmlr_hf_scan_notice(const pgmlr_hf_scan *scan, size_t i);

/*
 * Verification: hashes every distinct blob of the scan's ok rows on a pool
 * of threads (signals blocked, no PostgreSQL calls) while the caller waits
 * in slices and stays cancellable:
 *     pgmlr_hf_verify_start(scan, &st);
 *     while (!pgmlr_hf_verify_wait(scan, 100)) CHECK_FOR_INTERRUPTS();
 * wait returns true once every blob is hashed and the rows are updated
 * (verified, or status corrupt/unreadable). cancel asks the threads to stop;
 * pgmlr_hf_scan_free also cancels and joins them.
 */
void		pgmlr_hf_verify_start(pgmlr_hf_scan *scan, pgmlr_status *status);
bool		pgmlr_hf_verify_wait(pgmlr_hf_scan *scan, int timeout_ms);
void		pgmlr_hf_verify_cancel(pgmlr_hf_scan *scan);

/* A manifest row as stored in pgml_repl.hf_manifest (published_at aside). */
typedef struct pgmlr_hf_manifest_row
{
	const char *repo_type;
	const char *repo_id;
	const char *revision;
	const char *const *refs;
	int32_t		nrefs;
	const char *path;
	const char *blob;
	int64_t		size;
} pgmlr_hf_manifest_row;

typedef enum pgmlr_hf_change
{
	PGMLR_HF_INSERT = 0,
	PGMLR_HF_UPDATE,			/* same key, other refs/blob/size */
	PGMLR_HF_DELETE
} pgmlr_hf_change;

/*
 * Diff of the published manifest against a scan's healthy (ok) rows. Key:
 * repo_type, repo_id, revision, path. The shim adds the table's rows (copied),
 * computes, then applies the changes.
 */
typedef struct pgmlr_hf_diff pgmlr_hf_diff;

pgmlr_hf_diff *pgmlr_hf_diff_new(pgmlr_status *status);
void		pgmlr_hf_diff_free(void *diff);
void		pgmlr_hf_diff_add_published(pgmlr_hf_diff *diff, const pgmlr_hf_manifest_row *row,
										pgmlr_status *status);
void		pgmlr_hf_diff_compute(pgmlr_hf_diff *diff, const pgmlr_hf_scan *scan, pgmlr_status *status);
size_t		pgmlr_hf_diff_count(const pgmlr_hf_diff *diff, pgmlr_hf_change change);
const pgmlr_hf_manifest_row *pgmlr_hf_diff_row(const pgmlr_hf_diff *diff, pgmlr_hf_change change, size_t i);
size_t		pgmlr_hf_diff_unchanged(const pgmlr_hf_diff *diff);
/* Scan rows left out because their status is not ok. */
size_t		pgmlr_hf_diff_unhealthy(const pgmlr_hf_diff *diff);

/*
 * Cache entries left out because their names break the Hub's rules
 * (src/core/hf_names.hpp): files, and repo folders no valid repo id names
 * (folder: repo_id is then the folder's name, revision and path are NULL).
 */
typedef struct pgmlr_hf_refused_entry
{
	const char *repo_type;
	const char *repo_id;
	const char *revision;		/* NULL for a folder */
	const char *path;			/* NULL for a folder */
	bool		folder;
	const char *reason;			/* "path contains a backslash" */
	const char *label;			/* the entry for a message, values quoted and escaped */
} pgmlr_hf_refused_entry;

size_t		pgmlr_hf_diff_refused_count(const pgmlr_hf_diff *diff);
bool		pgmlr_hf_diff_refused(const pgmlr_hf_diff *diff, size_t i, pgmlr_hf_refused_entry *out);

/*
 * The rules of one manifest column, for the table's CHECK constraints: NULL
 * when value follows them, else a malloc'd "<column> <problem>" text.
 */
typedef enum pgmlr_hf_name_kind
{
	PGMLR_HF_REPO_ID = 0,
	PGMLR_HF_REVISION,
	PGMLR_HF_REF,
	PGMLR_HF_PATH,
	PGMLR_HF_BLOB
} pgmlr_hf_name_kind;

char	   *pgmlr_hf_name_problem(pgmlr_hf_name_kind kind, const char *value, pgmlr_status *status);
/* END hf_cache */

/* ------------------------------------------------------------------ */
/* HuggingFace Hub fetcher (replica prefetch)                           */
/* ------------------------------------------------------------------ */
/* BEGIN hf_fetch */
#include <signal.h>

/*
 * A fetch job downloads the blobs a manifest lists into a huggingface_hub
 * cache and publishes them (blob, then snapshot symlinks, then refs LAST).
 * The caller stays in control: pgmlr_fetch_step() runs libcurl for at most
 * max_ms and returns, so a background worker can check its latch, update
 * shared memory and stop on SIGTERM between steps. No thread of the core
 * ever calls back into the caller.
 */
typedef struct pgmlr_fetch_job pgmlr_fetch_job;

typedef struct pgmlr_fetch_options
{
	const char *cache_root;		/* huggingface_hub cache ("hub" folder) */
	const char *endpoint;		/* e.g. "https://huggingface.co" */
	const char *token;			/* bearer token or NULL; sent to the endpoint host only */
	const char *ca_file;		/* extra CA bundle (tests) or NULL */
	int			max_parallel;	/* concurrent transfers, 1..64 */
	int64_t		min_free_disk;	/* bytes that must stay free after a download */
	int			connect_timeout_ms;
	int			low_speed_limit;	/* bytes/s; slower for low_speed_time_s aborts */
	int			low_speed_time_s;
	int			max_retries;	/* failed attempts without progress, per file */
	int			backoff_base_ms;	/* first retry delay, doubled each retry */
	int			backoff_max_ms;
	int			lock_wait_ms;	/* how long a busy blob lock is retried */
	bool		verify_present;	/* hash blobs already present (slow) */
	int64_t		max_bytes_per_second;	/* all transfers together; 0 = no limit */
	volatile sig_atomic_t *abort_flag;	/* checked by curl's progress callback */
} pgmlr_fetch_options;

/* One manifest row. Every field is untrusted input. */
typedef struct pgmlr_fetch_row
{
	const char *repo_type;		/* model | dataset | space */
	const char *repo_id;
	const char *revision;		/* 40-hex commit */
	const char *ref;			/* branch/tag naming the commit, or NULL/"" */
	const char *path;			/* file path inside the snapshot */
	const char *blob;			/* 40-hex git blob id or 64-hex sha256 */
	int64_t		size;
} pgmlr_fetch_row;

typedef struct pgmlr_fetch_progress
{
	int64_t		files_wanted;	/* blobs to download */
	int64_t		files_done;
	int64_t		files_failed;	/* gave up in this job */
	int64_t		files_active;
	int64_t		bytes_wanted;
	int64_t		bytes_done;		/* bytes of verified, published blobs */
	int64_t		bytes_failed;
	int64_t		bytes_received;	/* every body byte written so far */
	int64_t		links_created;
	int64_t		refs_written;
	int64_t		links_failed;	/* snapshot links or refs that could not be written */
	int64_t		partials_removed;	/* stale partial downloads removed while planning */
	char		last_publish_error[512];	/* the latest of those, "" if none */
	double		throughput_bps;	/* bytes_received / seconds since first step */
	char		current_repo[256];
	char		current_path[1025];
	int64_t		current_bytes;
	int64_t		current_total;
	bool		canceled;
} pgmlr_fetch_progress;

typedef enum pgmlr_fetch_state
{
	PGMLR_FETCH_PENDING = 0,
	PGMLR_FETCH_ACTIVE,
	PGMLR_FETCH_BACKOFF,		/* waiting before a retry */
	PGMLR_FETCH_FAILED,
	PGMLR_FETCH_DONE
} pgmlr_fetch_state;

typedef struct pgmlr_fetch_queue_entry
{
	char		repo_type[16];
	char		repo_id[200];
	char		revision[41];
	char		path[1025];
	char		blob[65];
	int64_t		size;
	int64_t		bytes_done;
	int			attempts;
	pgmlr_fetch_state state;
	char		last_error[512];
} pgmlr_fetch_queue_entry;

/* A manifest row the job will not act on (validation or a conflict). */
typedef struct pgmlr_fetch_refusal
{
	char		repo_type[16];
	char		repo_id[200];
	char		revision[48];
	char		path[1025];
	char		reason[512];
	char		label[512];		/* the row for a log line, values quoted and escaped */
} pgmlr_fetch_refusal;

/* curl_global_init; call once in the worker process, never the postmaster. */
void		pgmlr_fetch_global_init(pgmlr_status *status);

/* Fills *opts with defaults (every pointer NULL). */
void		pgmlr_fetch_options_init(pgmlr_fetch_options *opts);

/* NULL with *status set on bad options. Free with pgmlr_fetch_free. */
pgmlr_fetch_job *pgmlr_fetch_new(const pgmlr_fetch_options *opts, pgmlr_status *status);

/* Validates and adds one row. A refused row sets *status (the message names
 * the column), is recorded among the job's refusals and is not acted on; the
 * job stays usable. */
bool		pgmlr_fetch_add_row(pgmlr_fetch_job *job, const pgmlr_fetch_row *row, pgmlr_status *status);

/* Computes what is missing (blobs, symlinks, refs). Call once, after the rows.
 * Rows that contradict each other refuse their repo only (recorded among the
 * refusals). Then removes the job's own partial downloads
 * (blobs/<blob>.pgml.incomplete) of blobs no transfer of this job wants,
 * each under its blob lock. */
void		pgmlr_fetch_plan(pgmlr_fetch_job *job, pgmlr_status *status);

/* Rows refused by pgmlr_fetch_add_row or pgmlr_fetch_plan, each file once. */
int			pgmlr_fetch_refused_count(const pgmlr_fetch_job *job);
bool		pgmlr_fetch_refused_item(const pgmlr_fetch_job *job, int index, pgmlr_fetch_refusal *out);

/* Runs transfers for at most about max_ms. Returns true once the job is
 * finished (every file done or failed, or canceled: then status is
 * PGMLR_ERR_CANCELED). Per-file failures are data (queue entries), not a
 * status. out may be NULL. */
bool		pgmlr_fetch_step(pgmlr_fetch_job *job, int max_ms, pgmlr_fetch_progress *out, pgmlr_status *status);

/* Blobs not yet present (pending, active, backing off or failed). */
int			pgmlr_fetch_queue_count(const pgmlr_fetch_job *job);
bool		pgmlr_fetch_queue_item(const pgmlr_fetch_job *job, int index, pgmlr_fetch_queue_entry *out);

/* Stops every transfer, removes temp files, releases locks. Published
 * files stay. The job is finished afterwards. */
void		pgmlr_fetch_cancel(pgmlr_fetch_job *job);
void		pgmlr_fetch_free(pgmlr_fetch_job *job);
/* END hf_fetch */

#ifdef __cplusplus
}
#endif

#endif							/* PGML_REPL_CORE_H */
