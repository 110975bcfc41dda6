/*
 * pgml_repl/status.h — error values crossing the boundary between the C++
 * core and the C shim, and the rules every header in pgml_repl/ follows.
 *
 * Plain C: no PostgreSQL type, no C++ type. Every function here is noexcept
 * in effect: the core catches everything and reports failures through a
 * pgmlr_status the caller owns. Strings and handles returned by the core are
 * allocated with malloc and released with the matching pgmlr_*_free call;
 * never pfree them, and never hand palloc'd memory to the core to keep.
 */
#ifndef PGML_REPL_STATUS_H
#define PGML_REPL_STATUS_H

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

#ifdef __cplusplus
}
#endif

#endif							/* PGML_REPL_STATUS_H */
