/*
 * replication/blob_fetch.c — what a role needs to fetch blobs from this
 * server with pgml_repl.hf_blob_read() over a normal connection: EXECUTE on
 * it, on hf_blob_read_rows() and on hf_cache_extras() (trees and .no_exist
 * markers), SELECT on hf_manifest (hf_cache/manifest_table.c grants it),
 * USAGE on the schema, and a marked "host <database> <role> <address>
 * scram-sha-256" line in pg_hba.conf (hba_rules.c queues it for COMMIT).
 * allow_blob_fetch() and disallow_blob_fetch() give and take it;
 * create_replication_user() gives it too.
 *
 * The database is pgml_replication.database when the library is preloaded
 * (where the worker, and so the manifest, is), else the current database.
 * On a standby, privileges arrive with the WAL: only the line is edited,
 * and a NOTICE says when the role lacks the privileges.
 */
#include "gucs.h"
#include "spi.h"

#include "access/xlog.h"
#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/tuplestore.h"
#include "pgml_repl/replication.h"
#include "hf_cache/manifest_table.h"

#define BLOB_READ_FUNCTION "pgml_repl.hf_blob_read(text, bigint, integer)"
#define BLOB_ROWS_FUNCTION "pgml_repl.hf_blob_read_rows(text, bigint, integer)"
#define EXTRAS_FUNCTION "pgml_repl.hf_cache_extras()"

const char *
pgmlr_blob_fetch_database(void)
{
	if (pgmlr_prefetch_database != NULL && pgmlr_prefetch_database[0] != '\0')
		return pgmlr_prefetch_database;
	return get_database_name(MyDatabaseId);
}

static Oid
existing_role(const char *role)
{
	Oid			roleid = get_role_oid(role, true);

	if (!OidIsValid(roleid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"%s\" does not exist", role),
				 errhint("Create it with SELECT * FROM pgml_repl.create_replication_user('%s');", role)));
	return roleid;
}

static bool
may_execute(Oid roleid, const char *signature)
{
	Oid			fn = DatumGetObjectId(DirectFunctionCall1(regprocedurein, CStringGetDatum(signature)));

	return pg_proc_aclcheck(fn, roleid, ACL_EXECUTE) == ACLCHECK_OK;
}

/* EXECUTE on hf_blob_read(_rows) and hf_cache_extras, SELECT on hf_manifest and USAGE on the schema. */
static bool
role_can_fetch(Oid roleid)
{
	return pg_namespace_aclcheck(get_namespace_oid("pgml_repl", false), roleid, ACL_USAGE) == ACLCHECK_OK &&
		may_execute(roleid, BLOB_READ_FUNCTION) && may_execute(roleid, BLOB_ROWS_FUNCTION) &&
		may_execute(roleid, EXTRAS_FUNCTION) && pgmlr_manifest_table_readable_by(roleid);
}

static void
run_grant(const char *sql_format, const char *role)
{
	char	   *sql = psprintf(sql_format, quote_identifier(role));

	(void) pgmlr_spi_exec(NULL, sql, false, 0, SPI_OK_UTILITY);
}

static void
notice_privileges_from_primary(const char *role, bool allow)
{
	ereport(NOTICE,
			(errmsg("role \"%s\" %s fetch blobs here: privileges come from the primary", role,
					allow ? "cannot yet" : "can still"),
			 errdetail("This server is a standby; only its pg_hba.conf is edited."),
			 errhint("Run SELECT * FROM pgml_repl.%s_blob_fetch(role_name => '%s'); on the primary.",
					 allow ? "allow" : "disallow", role)));
}

bool
pgmlr_blob_fetch_allow(const char *role, const char *address, char **rule)
{
	Oid			roleid = existing_role(role);
	bool		could = role_can_fetch(roleid);
	bool		hba_changed = false;

	*rule = NULL;
	if (!RecoveryInProgress())
	{
		run_grant("GRANT USAGE ON SCHEMA pgml_repl TO %s", role);
		run_grant("GRANT EXECUTE ON FUNCTION " BLOB_READ_FUNCTION " TO %s", role);
		run_grant("GRANT EXECUTE ON FUNCTION " BLOB_ROWS_FUNCTION " TO %s", role);
		run_grant("GRANT EXECUTE ON FUNCTION " EXTRAS_FUNCTION " TO %s", role);
		pgmlr_manifest_table_set_select(role, true);
	}
	else if (!could)
		notice_privileges_from_primary(role, true);
	if (address != NULL)
		pgmlr_hba_queue_database_rule(true, pgmlr_blob_fetch_database(), role, address, &hba_changed, rule);
	return hba_changed || (!could && !RecoveryInProgress());
}

/* USAGE on the schema stays: it grants nothing by itself, and other grants may need it. */
static bool
blob_fetch_disallow(const char *role, const char *address, char **rule)
{
	Oid			roleid = existing_role(role);
	bool		could = role_can_fetch(roleid);
	bool		hba_changed = false;

	*rule = NULL;
	if (!RecoveryInProgress())
	{
		run_grant("REVOKE EXECUTE ON FUNCTION " BLOB_READ_FUNCTION " FROM %s", role);
		run_grant("REVOKE EXECUTE ON FUNCTION " BLOB_ROWS_FUNCTION " FROM %s", role);
		run_grant("REVOKE EXECUTE ON FUNCTION " EXTRAS_FUNCTION " FROM %s", role);
		pgmlr_manifest_table_set_select(role, false);
	}
	else if (could)
		notice_privileges_from_primary(role, false);
	if (address != NULL)
		pgmlr_hba_queue_database_rule(false, pgmlr_blob_fetch_database(), role, address, &hba_changed, rule);
	return hba_changed || (could && !RecoveryInProgress() && !role_can_fetch(roleid));
}

/* allow_blob_fetch(address, role_name) and disallow_blob_fetch(address, role_name). */
static Datum
blob_fetch_function(FunctionCallInfo fcinfo, bool allow)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pgmlr_status st;
	const char *role;
	char	   *address_in = NULL;
	char	   *address = NULL;
	char	   *rule = NULL;
	char	   *rule_copy = NULL;
	bool		changed;
	MemoryContext caller_cxt = CurrentMemoryContext;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	pgmlr_require_superuser(allow ? "allow_blob_fetch" : "disallow_blob_fetch");
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("role_name must not be null")));
	role = NameStr(*PG_GETARG_NAME(1));
	pgmlr_check_role_name(role, &st);
	pgmlr_report_status(&st);
	if (!PG_ARGISNULL(0))
	{
		address_in = text_to_cstring(PG_GETARG_TEXT_PP(0));
		address = pgmlr_hba_normalize_address(address_in, &st);
		pgmlr_report_status(&st);
		address = pgmlr_take_string(address);
		pgmlr_hba_notice_address(address_in);
	}

	pgmlr_spi_connect();
	changed = allow ? pgmlr_blob_fetch_allow(role, address, &rule) : blob_fetch_disallow(role, address, &rule);
	if (rule)
		rule_copy = MemoryContextStrdup(caller_cxt, rule);
	pgmlr_spi_finish();
	if (address != NULL)
		pgmlr_hba_notice_on_standby(allow ? "allow_blob_fetch" : "disallow_blob_fetch");

	InitMaterializedSRF(fcinfo, 0);
	values[0] = rule_copy ? CStringGetTextDatum(rule_copy) : (Datum) 0;
	nulls[0] = rule_copy == NULL;
	values[1] = BoolGetDatum(changed);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

PGMLR_FMGR_FORWARD(pgmlr_allow_blob_fetch, blob_fetch_function(fcinfo, true))

PGMLR_FMGR_FORWARD(pgmlr_disallow_blob_fetch, blob_fetch_function(fcinfo, false))
