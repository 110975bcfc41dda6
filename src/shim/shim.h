/*
 * shim.h — internal header of the C shim. Only shim files include it; they
 * are the only files that see PostgreSQL headers.
 */
#ifndef PGMLR_SHIM_H
#define PGMLR_SHIM_H

#include "postgres.h"

#include "nodes/pg_list.h"

#include "pgml_repl/status.h"

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
/*
 * An SQL-callable function whose body is one call, for SQL functions that
 * share a C body and differ in an argument:
 * PGMLR_FMGR_FORWARD(pgmlr_hf_blob_problem, name_problem(fcinfo, PGMLR_HF_BLOB))
 * (PG_FUNCTION_INFO_V1 also declares the function.)
 */
#define PGMLR_FMGR_FORWARD(name, call) \
	PG_FUNCTION_INFO_V1(name); \
	Datum name(PG_FUNCTION_ARGS) { return call; }

/* Superuser check with the house error text. */
extern void pgmlr_require_superuser(const char *function_name);
/*
 * For functions that only make sense on a primary: on a standby (in
 * recovery) raises ERROR with SQLSTATE 25006 (read_only_sql_transaction, the
 * code PostgreSQL gives writes during recovery) and the caller's message,
 * detail and hint. Call it before anything is read or queued.
 */
extern void pgmlr_refuse_on_standby(const char *message, const char *detail, const char *hint);

/* hba_notices.c: NOTICEs of allow_replica() / disallow_replica() */

/* The address as normalised means something else than it reads. */
extern void pgmlr_hba_notice_address(const char *address_in);
/* On a standby: the edit is of this standby's own pg_hba.conf. */
extern void pgmlr_hba_notice_on_standby(const char *function_name);
/* The role does not exist; the HINT names the nearest replication role. */
extern void pgmlr_hba_notice_missing_role(const char *role, const char *address);

/* replication/hba_rules.c: a database rule queued for COMMIT (blob fetching) */
extern void pgmlr_hba_queue_database_rule(bool allow, const char *database, const char *role, const char *address,
										  bool *changed, char **rule);

/* replication/blob_fetch.c: what fetching blobs from this server needs */

/*
 * Grants role EXECUTE on hf_blob_read, SELECT on hf_manifest and USAGE on
 * the schema (on a primary; a standby only checks them), and with address
 * (normalised) queues the database rule. *rule: the line, or NULL. Returns
 * whether anything changed. Runs inside the caller's SPI connection.
 */
extern bool pgmlr_blob_fetch_allow(const char *role, const char *address, char **rule);
/* The database replicas fetch from: pgml_replication.database when preloaded, else this one. */
extern const char *pgmlr_blob_fetch_database(void);

/* commit_actions.c */

/*
 * Work deferred to COMMIT, so functions that edit server files behave like
 * the rest of the transaction: nothing is written before COMMIT, ROLLBACK
 * (also ROLLBACK TO SAVEPOINT) leaves the files untouched.
 *
 * One action per file and transaction, whatever the number of calls: two
 * writers of one file in one commit would race each other, and AutoFileLock
 * is not re-entrant. A static PgmlrCommitAction is the action's key. Each
 * call adds an edit (opaque, palloc'd in TopTransactionContext); the edit
 * belongs to the subtransaction that added it, so ROLLBACK TO SAVEPOINT drops
 * exactly the edits made since the savepoint, and callers keep no savepoint
 * or end-of-transaction state of their own.
 *
 * At pre-commit every action's prepare() runs first (compute, validate,
 * write and fsync a temp file; may ERROR, which aborts the transaction), then
 * every install() (durable rename). An action whose edits were all rolled
 * back is skipped: no prepare, no install, no reload. cleanup() runs at
 * transaction end (also after an ERROR in prepare or install) and when
 * ROLLBACK TO SAVEPOINT drops an action queued inside the savepoint; it must
 * not ERROR. If any installed action asks for it, the configuration is
 * reloaded once the transaction has committed. PREPARE TRANSACTION is
 * refused while an action is queued: the write could not wait for COMMIT
 * PREPARED.
 */
typedef struct PgmlrCommitAction
{
	/* Per-transaction state (the arg below); runs in TopTransactionContext. */
	void	   *(*begin) (void);
	/* edits: this transaction's surviving edits, in the order added. */
	void		(*prepare) (void *arg, List *edits);
	void		(*install) (void *arg);
	void		(*cleanup) (void *arg);
	bool		reload_after_commit;
} PgmlrCommitAction;

extern void pgmlr_commit_actions_init(void);
/* Queues the action on first use in this transaction; returns its arg. */
extern void *pgmlr_commit_action_arg(const PgmlrCommitAction *action);
/* Queues the action if needed and adds edit to it. */
extern void pgmlr_commit_action_add_edit(const PgmlrCommitAction *action, void *edit);
/*
 * The surviving edits, in order (a new list; NIL when none), for callers
 * that overlay what is queued on what a file says now.
 */
extern List *pgmlr_commit_action_edits(const PgmlrCommitAction *action);

/*
 * Replacing a server file durably at COMMIT, the way ALTER SYSTEM does: a
 * commit action's prepare() writes the new content to temp_path (every byte,
 * looping over short writes), fsyncs and closes it; install() renames it over
 * target and fsyncs the folder (durable_rename); cleanup() discards a temp
 * file left behind. Set target, temp_path, mode and the wording fields, then
 * zero the rest (palloc0).
 */
typedef struct PgmlrFileReplacement
{
	const char *target;
	const char *temp_path;
	mode_t		mode;			/* of the temp file, so of the new file */
	/* "could not open file" as ALTER SYSTEM says, else "could not create file" */
	bool		alter_system_wording;
	const char *open_hint;		/* errhint when the temp file cannot be opened, or NULL */
	bool		temp_written;	/* a temp file of ours may exist */
} PgmlrFileReplacement;

extern void pgmlr_file_replacement_write(PgmlrFileReplacement *r, const char *data, Size len);
extern void pgmlr_file_replacement_install(PgmlrFileReplacement *r);
/* Removes the temp file if one of ours may exist; never ERRORs. */
extern void pgmlr_file_replacement_discard(PgmlrFileReplacement *r);

#endif							/* PGMLR_SHIM_H */
