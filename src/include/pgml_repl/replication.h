/*
 * pgml_repl/replication.h — replication set-up: postgresql.auto.conf, roles and pg_hba.conf, standby and pooler configuration.
 *
 * Plain C, seen by the shim and by src/core/replication/api.cpp only. Rules: pgml_repl/status.h.
 */
#ifndef PGML_REPL_REPLICATION_H
#define PGML_REPL_REPLICATION_H

#include "pgml_repl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* postgresql.auto.conf (configure_primary)                             */
/* ------------------------------------------------------------------ */

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


/* ------------------------------------------------------------------ */
/* Role names, passwords and pg_hba.conf                                */
/* ------------------------------------------------------------------ */

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
/*
 * The same for a database rule, "host <database> <role> <address>
 * scram-sha-256" (the connection a replica fetches blobs over): placed
 * before the first line that could match a connection to a database.
 * database must be 1 to 63 of [A-Za-z0-9_$.-].
 */
pgmlr_hba_edit *pgmlr_hba_allow_database(const char *content, const char *database, const char *role,
										 const char *address, pgmlr_status *status);
pgmlr_hba_edit *pgmlr_hba_disallow_database(const char *content, const char *database, const char *role,
											const char *address, pgmlr_status *status);
const char *pgmlr_hba_edit_content(const pgmlr_hba_edit *edit);
bool		pgmlr_hba_edit_changed(const pgmlr_hba_edit *edit);
const char *pgmlr_hba_edit_rule(const pgmlr_hba_edit *edit);
int			pgmlr_hba_edit_notice_count(const pgmlr_hba_edit *edit);
const char *pgmlr_hba_edit_notice(const pgmlr_hba_edit *edit, int i);
void		pgmlr_hba_edit_free(void *edit);


/* ------------------------------------------------------------------ */
/* Operator toolkit: standby steps, PgCat config, pgBackRest info       */
/* ------------------------------------------------------------------ */
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

#ifdef __cplusplus
}
#endif

#endif							/* PGML_REPL_REPLICATION_H */
