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
/* END health */

/* ------------------------------------------------------------------ */
/* HuggingFace cache scan, hashing and manifest                         */
/* ------------------------------------------------------------------ */
/* BEGIN hf_cache */
/* END hf_cache */

#ifdef __cplusplus
}
#endif

#endif							/* PGML_REPL_CORE_H */
