/*
 * hba_rules.c — allow_replica() and disallow_replica(): replication rules in
 * the server's pg_hba.conf, written at COMMIT.
 *
 * A call only records the edit (role, address, method) in a per-transaction
 * list and reports what it will do; one commit action re-reads the file at
 * commit, replays the list on it, checks the result with the server's own
 * hba parser, and replaces the file durably. The text work is in the core
 * (src/core/replication/hba_file.cpp).
 */
#include "shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmgr.h"
#include "funcapi.h"
#include "libpq/hba.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "postmaster/postmaster.h"
#include "storage/fd.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"
#include "pgml_repl/replication.h"

/* Refuse to load absurd files into memory. */
#define HBA_MAX_BYTES (16 * 1024 * 1024)

typedef enum HbaOp
{
	HBA_ALLOW,
	HBA_DISALLOW
} HbaOp;

/* One edit of the commit action, one per call. */
typedef struct PendingHbaEdit
{
	HbaOp		op;
	char	   *role;
	char	   *address;		/* normalised */
	char	   *method;			/* normalised; NULL for disallow */
	char	   *database;		/* NULL: a replication rule */
} PendingHbaEdit;

/* One per transaction, in TopTransactionContext; the commit action's arg. */
typedef struct HbaCommitState
{
	PgmlrFileReplacement file;	/* target: pg_hba.conf, symlinks resolved */
	bool		install_needed;
} HbaCommitState;

/* ------------------------------------------------------------------ */
/* Files                                                                */
/* ------------------------------------------------------------------ */

/* The file the server reads, with symlinks resolved so rename() replaces it. */
static char *
hba_target_path(void)
{
	char	   *resolved = realpath(HbaFileName, NULL);
	char	   *result;

	if (resolved == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not resolve path \"%s\": %m", HbaFileName)));
	result = pstrdup(resolved);
	free(resolved);
	return result;
}

static char *
read_hba_file(const char *path)
{
	FILE	   *f = AllocateFile(path, PG_BINARY_R);
	StringInfoData buf;
	char		chunk[8192];
	size_t		n;

	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\" for reading: %m", path)));
	initStringInfo(&buf);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
	{
		if (buf.len + n > HBA_MAX_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("file \"%s\" is too large", path),
					 errdetail("pg_hba.conf files over 16 MB are not edited.")));
		appendBinaryStringInfo(&buf, chunk, n);
	}
	if (ferror(f))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", path)));
	FreeFile(f);
	if (memchr(buf.data, '\0', buf.len) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("file \"%s\" contains a NUL byte", path),
				 errhint("Remove the NUL byte by hand; pg_hba.conf is a text file.")));
	return buf.data;
}

/* ------------------------------------------------------------------ */
/* Validation with the server's own parser                              */
/* ------------------------------------------------------------------ */

/*
 * Records the first line the server's parser refuses. A line that parses
 * but carries a message (hostssl while ssl is off) is what load_hba()
 * accepts too, so it passes.
 */
static void
check_tokenized_lines(List *lines, const char *what)
{
	ListCell   *lc;

	foreach(lc, lines)
	{
		TokenizedAuthLine *tok = (TokenizedAuthLine *) lfirst(lc);
		char	   *err = tok->err_msg;

		if (err == NULL && parse_hba_line(tok, DEBUG3) == NULL)
			err = tok->err_msg ? tok->err_msg : "invalid line";
		if (err != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("the edited %s would not load", what),
					 errdetail("Line %d: %s.", tok->line_num, err),
					 errhint("pg_hba.conf was not changed. Fix the line by hand if it was already wrong.")));
	}
}

#if PG_VERSION_NUM >= 160000

/*
 * PostgreSQL 16 tokenizes through open_auth_file()/free_auth_file(), which
 * require a FILE from AllocateFile(): validation reads the temp file written
 * at commit. (Written from the PG 16 headers; not yet tested on 16.)
 */
static void
validate_hba_text(const char *content, const char *path)
{
	/* Checked on the temp file in hba_prepare(). */
}

static void
validate_hba_temp_file(const char *temp_path)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "pgml_repl hba check",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	List	   *lines = NIL;
	FILE	   *f = open_auth_file(temp_path, ERROR, 0, NULL);

	tokenize_auth_file(temp_path, f, &lines, DEBUG3, 0);
	check_tokenized_lines(lines, "pg_hba.conf");
	free_auth_file(f, 0);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

#else							/* PostgreSQL 15 */

static void
close_memstream(void *arg)
{
	fclose((FILE *) arg);
}

/*
 * Runs the candidate text through tokenize_auth_file() and parse_hba_line(),
 * as the pg_hba_file_rules view does, at DEBUG3 so nothing reaches the log.
 * path names the file for @-inclusions relative to its folder.
 */
static void
validate_hba_text(const char *content, const char *path)
{
	MemoryContext cxt;
	MemoryContext old;
	MemoryContextCallback *cb;
	List	   *lines = NIL;
	FILE	   *f;

	if (content[0] == '\0')
		return;
	cxt = AllocSetContextCreate(CurrentMemoryContext, "pgml_repl hba check", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	f = fmemopen((void *) content, strlen(content), "r");
	if (f == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not open a memory stream: %m")));
	/* Closes the stream on ERROR too, when the context goes. */
	cb = palloc(sizeof(MemoryContextCallback));
	cb->func = close_memstream;
	cb->arg = f;
	MemoryContextRegisterResetCallback(cxt, cb);

	(void) tokenize_auth_file(path, f, &lines, DEBUG3);
	check_tokenized_lines(lines, "pg_hba.conf");
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

static void
validate_hba_temp_file(const char *temp_path)
{
	/* Checked as text before the temp file was written. */
}

#endif

/* ------------------------------------------------------------------ */
/* Edits                                                                */
/* ------------------------------------------------------------------ */

/*
 * Applies one edit to content; returns the new content (palloc'd). With
 * changed/rule non-NULL, also reports the outcome and raises the core's
 * notices about hand-written lines.
 */
static char *
apply_edit(const char *content, const PendingHbaEdit *e, bool *changed, char **rule)
{
	pgmlr_status st;
	pgmlr_hba_edit *edit;
	char	   *result;

	if (e->database != NULL)
		edit = e->op == HBA_ALLOW
			? pgmlr_hba_allow_database(content, e->database, e->role, e->address, &st)
			: pgmlr_hba_disallow_database(content, e->database, e->role, e->address, &st);
	else if (e->op == HBA_ALLOW)
		edit = pgmlr_hba_allow(content, e->role, e->address, e->method, &st);
	else
		edit = pgmlr_hba_disallow(content, e->role, e->address, &st);
	pgmlr_report_status(&st);
	pgmlr_own_handle(edit, pgmlr_hba_edit_free);

	result = pstrdup(pgmlr_hba_edit_content(edit));
	if (changed)
		*changed = pgmlr_hba_edit_changed(edit);
	if (rule)
		*rule = pgmlr_hba_edit_rule(edit) ? pstrdup(pgmlr_hba_edit_rule(edit)) : NULL;
	if (changed)
	{
		int			n = pgmlr_hba_edit_notice_count(edit);

		for (int i = 0; i < n; i++)
			ereport(NOTICE, (errmsg("%s", pgmlr_hba_edit_notice(edit, i))));
	}
	return result;
}

static char *
apply_pending_edits(char *content, List *edits)
{
	ListCell   *lc;

	foreach(lc, edits)
		content = apply_edit(content, (PendingHbaEdit *) lfirst(lc), NULL, NULL);
	return content;
}

/* ------------------------------------------------------------------ */
/* Commit action                                                        */
/* ------------------------------------------------------------------ */

static void
hba_prepare(void *arg, List *edits)
{
	HbaCommitState *s = (HbaCommitState *) arg;
	char	   *current = read_hba_file(s->file.target);
	char	   *updated = apply_pending_edits(current, edits);
	struct stat stbuf;

	s->install_needed = strcmp(current, updated) != 0;
	if (!s->install_needed)
		return;
	validate_hba_text(updated, s->file.target);

	/* The new file keeps the old one's permissions. */
	if (stat(s->file.target, &stbuf) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", s->file.target)));
	s->file.mode = stbuf.st_mode & (S_IRWXU | S_IRWXG | S_IRWXO);
	pgmlr_file_replacement_write(&s->file, updated, strlen(updated));
	validate_hba_temp_file(s->file.temp_path);
}

static void
hba_install(void *arg)
{
	HbaCommitState *s = (HbaCommitState *) arg;

	if (!s->install_needed)
		return;
	pgmlr_file_replacement_install(&s->file);
}

static void
hba_cleanup(void *arg)
{
	HbaCommitState *s = (HbaCommitState *) arg;

	pgmlr_file_replacement_discard(&s->file);
}

static void *
hba_begin(void)
{
	HbaCommitState *s = (HbaCommitState *) palloc0(sizeof(HbaCommitState));

	s->file.target = hba_target_path();
	s->file.temp_path = psprintf("%s.pgml_repl.tmp", s->file.target);
	return s;
}

static const PgmlrCommitAction hba_action = {
	.begin = hba_begin,
	.prepare = hba_prepare,
	.install = hba_install,
	.cleanup = hba_cleanup,
	.reload_after_commit = true,
};

/* One editor of pg_hba.conf at a time, cluster-wide, until COMMIT/ROLLBACK. */
static void
lock_hba_editing(void)
{
	LOCKTAG		tag;

	/* Database 0: the file belongs to the cluster, not to one database. */
	SET_LOCKTAG_ADVISORY(tag, InvalidOid, 0x70676d6c, 0x68626121, 2);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/*
 * Checks the edit against the file as it is plus this transaction's earlier
 * edits, reports the outcome, and queues it for COMMIT.
 */
static void
queue_hba_edit(HbaOp op, const char *database, const char *role, const char *address, const char *method,
			   bool *changed, char **rule)
{
	HbaCommitState *s;
	PendingHbaEdit *e;
	MemoryContext old;
	char	   *current;
	char	   *overlaid;
	char	   *updated;
	PendingHbaEdit probe = {op, (char *) role, (char *) address, (char *) method, (char *) database};

	lock_hba_editing();
	s = (HbaCommitState *) pgmlr_commit_action_arg(&hba_action);
	current = read_hba_file(s->file.target);
	overlaid = apply_pending_edits(current, pgmlr_commit_action_edits(&hba_action));
	updated = apply_edit(overlaid, &probe, changed, rule);
	if (*changed)
		validate_hba_text(updated, s->file.target);

	old = MemoryContextSwitchTo(TopTransactionContext);
	e = (PendingHbaEdit *) palloc0(sizeof(PendingHbaEdit));
	e->op = op;
	e->role = pstrdup(role);
	e->address = pstrdup(address);
	e->method = method ? pstrdup(method) : NULL;
	e->database = database ? pstrdup(database) : NULL;
	pgmlr_commit_action_add_edit(&hba_action, e);
	MemoryContextSwitchTo(old);
}

/*
 * The database rule "host <database> <role> <address> scram-sha-256" that
 * blob fetching needs (replication/blob_fetch.c), queued like the SQL
 * functions' edits. address must be normalised; *rule is the line.
 */
void
pgmlr_hba_queue_database_rule(bool allow, const char *database, const char *role, const char *address,
							  bool *changed, char **rule)
{
	queue_hba_edit(allow ? HBA_ALLOW : HBA_DISALLOW, database, role, address, allow ? "scram-sha-256" : NULL,
				   changed, rule);
}

/* ------------------------------------------------------------------ */
/* SQL functions                                                        */
/* ------------------------------------------------------------------ */

static char *
required_text_arg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", argname)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static const char *
required_name_arg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", argname)));
	return NameStr(*PG_GETARG_NAME(argno));
}

static char *
checked(char *value, pgmlr_status *st)
{
	pgmlr_report_status(st);
	return pgmlr_take_string(value);
}

static void
return_rule_row(FunctionCallInfo fcinfo, const char *rule, bool changed)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	InitMaterializedSRF(fcinfo, 0);
	values[0] = rule ? CStringGetTextDatum(rule) : (Datum) 0;
	nulls[0] = rule == NULL;
	values[1] = BoolGetDatum(changed);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * The arguments allow_replica() and disallow_replica() share, checked:
 * superuser, the role (returned in *role) and the address: normalized, and
 * as given in *address_in (for the notice, once every argument passed).
 */
static char *
rule_address_and_role(FunctionCallInfo fcinfo, const char *function, const char **role, char **address_in)
{
	pgmlr_status st;

	pgmlr_require_superuser(function);
	*address_in = required_text_arg(fcinfo, 0, "address");
	*role = required_name_arg(fcinfo, 1, "role_name");
	pgmlr_check_role_name(*role, &st);
	pgmlr_report_status(&st);
	return checked(pgmlr_hba_normalize_address(*address_in, &st), &st);
}

PG_FUNCTION_INFO_V1(pgmlr_allow_replica);
Datum
pgmlr_allow_replica(PG_FUNCTION_ARGS)
{
	pgmlr_status st;
	const char *role;
	char	   *address_in;
	char	   *address;
	char	   *method;
	bool		changed = false;
	char	   *rule = NULL;

	address = rule_address_and_role(fcinfo, "allow_replica", &role, &address_in);
	method = checked(pgmlr_hba_normalize_method(required_text_arg(fcinfo, 2, "method"), &st), &st);
	pgmlr_hba_notice_address(address_in);

	queue_hba_edit(HBA_ALLOW, NULL, role, address, method, &changed, &rule);

	pgmlr_hba_notice_missing_role(role, address);
	pgmlr_hba_notice_on_standby("allow_replica");

	if (strcmp(method, "cert") == 0 && !EnableSSL)
		ereport(WARNING,
				(errmsg("the cert rule cannot match while ssl is off"),
				 errdetail("cert authentication needs an SSL connection; the rule uses hostssl."),
				 errhint("Set ssl = on and configure the server certificate and ssl_ca_file.")));
	return_rule_row(fcinfo, rule, changed);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgmlr_disallow_replica);
Datum
pgmlr_disallow_replica(PG_FUNCTION_ARGS)
{
	const char *role;
	char	   *address_in;
	char	   *address;
	bool		changed = false;
	char	   *rule = NULL;

	address = rule_address_and_role(fcinfo, "disallow_replica", &role, &address_in);
	pgmlr_hba_notice_address(address_in);
	queue_hba_edit(HBA_DISALLOW, NULL, role, address, NULL, &changed, &rule);
	pgmlr_hba_notice_on_standby("disallow_replica");
	return_rule_row(fcinfo, rule, changed);
	return (Datum) 0;
}
