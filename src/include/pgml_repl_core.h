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
/* END auto_conf */

/* ------------------------------------------------------------------ */
/* Role names, passwords and pg_hba.conf                                */
/* ------------------------------------------------------------------ */
/* BEGIN replication_user_hba */
/* END replication_user_hba */

/* ------------------------------------------------------------------ */
/* Archive and replication health                                       */
/* ------------------------------------------------------------------ */
/* BEGIN health */
/* END health */

/* ------------------------------------------------------------------ */
/* Operator toolkit: standby steps, PgCat config, pgBackRest info       */
/* ------------------------------------------------------------------ */
/* BEGIN operator */
/*
 * standby_setup(): the shell steps that turn a host into a streaming replica.
 * NULL strings mean "not given"; data_directory is required here (the shim
 * fills in the primary's own data_directory). Returns malloc'd text.
 */
typedef struct pgmlr_standby_setup_args
{
	const char *primary_host;
	int			primary_port;
	const char *role_name;
	const char *stanza;
	const char *data_directory;
	bool		data_directory_from_primary;	/* says so in a comment */
	const char *pgbackrest_config;	/* NULL: pgBackRest's default file */
	const char *application_name;	/* NULL: derived on the replica host */
	bool		copy_model_cache;
} pgmlr_standby_setup_args;

char	   *pgmlr_standby_setup_script(const pgmlr_standby_setup_args *args, pgmlr_status *status);

/*
 * pgcat_config(): a PgCat [pools.<pool>] TOML block. replicas are "host" or
 * "host:port" ("[v6]:port"); n_replicas may be 0. Returns malloc'd text.
 */
typedef struct pgmlr_pgcat_args
{
	const char *pool;
	int			port;
	const char *primary_host;
	const char *const *replicas;
	int			n_replicas;
	const char *database;
	const char *user_name;
} pgmlr_pgcat_args;

char	   *pgmlr_pgcat_config(const pgmlr_pgcat_args *args, pgmlr_status *status);

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
/* HuggingFace cache scan, hashing and manifest                         */
/* ------------------------------------------------------------------ */
/* BEGIN hf_cache */
/* END hf_cache */

#ifdef __cplusplus
}
#endif

#endif							/* PGML_REPL_CORE_H */
