/*
 * hba_notices.c — the NOTICEs of allow_replica() and disallow_replica() when
 * what they do may differ from what the caller meant: an address the server
 * normalised, a role that does not exist (with the nearest replication role),
 * an edit of a standby's own pg_hba.conf.
 */
#include "spi.h"

#include "access/xlog.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "pgml_repl/replication.h"

/* The normalised address differs from what was written in a way worth saying. */
void
pgmlr_hba_notice_address(const char *address_in)
{
	pgmlr_status note;

	if (pgmlr_hba_address_note(address_in, &note))
		ereport(NOTICE,
				(errmsg("%s", note.message),
				 note.detail[0] ? errdetail("%s", note.detail) : 0,
				 note.hint[0] ? errhint("%s", note.hint) : 0));
}

/*
 * A standby may edit its own pg_hba.conf: a cascading standby connects to it,
 * and after a promotion its replicas do. Saying so avoids the other reading,
 * that the primary's file was changed.
 */
void
pgmlr_hba_notice_on_standby(const char *function_name)
{
	if (RecoveryInProgress())
		ereport(NOTICE,
				(errmsg("%s() edits this standby's own pg_hba.conf", function_name),
				 errdetail("The rule is for replicas that connect to this server: a cascading standby now, any "
						   "replica after a promotion. The primary's pg_hba.conf is a separate file."),
				 errhint("To change who may replicate from the primary, run %s() on the primary.",
						 function_name)));
}

/* The non-superuser replication roles, for a "did you mean" hint. */
static char *
nearest_replication_role(const char *role)
{
	const char **names;
	char	   *best;
	pgmlr_status st;
	uint64		n;

	pgmlr_spi_connect();
	n = pgmlr_spi_select("SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolreplication AND NOT rolsuper "
						 "ORDER BY rolname");
	names = palloc0(sizeof(char *) * (n + 1));
	for (uint64 i = 0; i < n; i++)
		names[i] = pgmlr_spi_string(i, 1);
	best = pgmlr_nearest_name(role, names, (int) n, &st);
	pgmlr_spi_finish();
	pgmlr_report_status(&st);
	return pgmlr_take_string(best);
}

/* Likely a typo; still allowed, so the rule can precede the role. */
void
pgmlr_hba_notice_missing_role(const char *role, const char *address)
{
	char	   *nearest;

	if (OidIsValid(get_role_oid(role, true)))
		return;
	nearest = nearest_replication_role(role);
	if (nearest)
		ereport(NOTICE,
				(errmsg("role \"%s\" does not exist", role),
				 errdetail("The rule matches nobody until a role of that name exists."),
				 errhint("The nearest replication role is \"%s\". If you meant it, remove this rule with "
						 "SELECT * FROM pgml_repl.disallow_replica('%s', '%s'); and allow role_name => '%s'.",
						 nearest, address, role, nearest)));
	else
		ereport(NOTICE,
				(errmsg("role \"%s\" does not exist", role),
				 errdetail("The rule matches nobody until a role of that name exists."),
				 errhint("No replication role has a similar name. SELECT rolname FROM pg_roles WHERE "
						 "rolreplication; lists them; pgml_repl.create_replication_user() creates one with its rule.")));
}
