/*
 * shim.h — internal header of the C shim. Only shim files include it; they
 * are the only files that see PostgreSQL headers.
 */
#ifndef PGMLR_SHIM_H
#define PGMLR_SHIM_H

#include "postgres.h"

#include "pgml_repl_core.h"

/* errors.c */

/* Raises ERROR for a failed status (no-op for PGMLR_OK). */
extern void pgmlr_report_status(const pgmlr_status *status);
/* Same, at the given elevel (WARNING, NOTICE...) instead of ERROR. */
extern void pgmlr_report_status_at(int elevel, const pgmlr_status *status);
/* SQLSTATE for a core error code. */
extern int	pgmlr_sqlstate(pgmlr_errcode code);
/* pstrdup(s) in the current context, then pgmlr_free(s), even on ERROR. */
extern char *pgmlr_take_string(char *s);
/*
 * Ties a core handle to the current memory context: free_fn(handle) runs when
 * the context is reset or deleted, so an ERROR between creating and releasing
 * a handle never leaks it.
 */
extern void pgmlr_own_handle(void *handle, void (*free_fn) (void *));
/* Superuser check with the house error text. */
extern void pgmlr_require_superuser(const char *function_name);

/* commit_actions.c */

/*
 * Work deferred to COMMIT, so functions that edit server files behave like
 * the rest of the transaction: nothing is written before COMMIT, ROLLBACK
 * (also ROLLBACK TO SAVEPOINT) leaves the files untouched.
 *
 * At pre-commit every queued action's prepare() runs first (compute, validate,
 * write and fsync a temp file; may ERROR, which aborts the transaction), then
 * every install() (durable rename). cleanup() runs on abort and after install
 * and must not ERROR. If any action asks for it, the configuration is
 * reloaded once the transaction has committed.
 */
typedef struct PgmlrCommitAction
{
	void		(*prepare) (void *arg);
	void		(*install) (void *arg);
	void		(*cleanup) (void *arg);
	void	   *arg;			/* allocate in TopTransactionContext */
	bool		reload_after_commit;
} PgmlrCommitAction;

extern void pgmlr_commit_actions_init(void);
extern void pgmlr_at_commit(const PgmlrCommitAction *action);
/* For callers that overlay queued changes on what a file says now. */
extern int	pgmlr_pending_commit_actions(void);

/* GUC definitions, one function per area, called from _PG_init. */
extern void pgmlr_define_health_gucs(void);
extern void pgmlr_define_hf_cache_gucs(void);
extern void pgmlr_define_operator_gucs(void);

#endif							/* PGMLR_SHIM_H */
