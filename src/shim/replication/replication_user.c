/*
 * replication_user.c — create_replication_user(): a LOGIN REPLICATION role
 * whose password is always stored as a SCRAM-SHA-256 verifier.
 *
 * The verifier is built here, so CREATE/ALTER ROLE (run through SPI) only
 * ever carries the verifier: the plaintext appears in no statement text and
 * no log line of ours, and password_encryption = md5 cannot weaken it.
 *
 * The role also gets what fetching blobs from this server needs
 * (replication/blob_fetch.c); with allow_from, pg_hba.conf gets both the
 * replication line and the database line.
 */
#include "spi.h"

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/crypt.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"
#include "pgml_repl/replication.h"

typedef struct ExistingRole
{
	bool		exists;
	bool		superuser;
	bool		has_scram;
} ExistingRole;

static ExistingRole
lookup_role(const char *role)
{
	ExistingRole r = {false, false, false};
	HeapTuple	tup = SearchSysCache1(AUTHNAME, CStringGetDatum(role));

	if (HeapTupleIsValid(tup))
	{
		Form_pg_authid form = (Form_pg_authid) GETSTRUCT(tup);
		bool		isnull;
		Datum		pw;

		r.exists = true;
		r.superuser = form->rolsuper;
		pw = SysCacheGetAttr(AUTHNAME, tup, Anum_pg_authid_rolpassword, &isnull);
		if (!isnull)
		{
			char	   *secret = TextDatumGetCString(pw);

			r.has_scram = get_password_type(secret) == PASSWORD_TYPE_SCRAM_SHA_256;
			pfree(secret);
		}
		ReleaseSysCache(tup);
	}
	return r;
}

/* SCRAM-SHA-256 verifier for a plaintext password, whatever password_encryption says. */
static char *
scram_verifier(const char *role, const char *plaintext)
{
	char	   *verifier = encrypt_password(PASSWORD_TYPE_SCRAM_SHA_256, role, plaintext);

	if (verifier == NULL || get_password_type(verifier) != PASSWORD_TYPE_SCRAM_SHA_256)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not build a SCRAM-SHA-256 verifier")));
	return verifier;
}

static void
run_role_statement(const char *role, bool exists, const char *verifier)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql, "%s ROLE %s WITH LOGIN REPLICATION",
					 exists ? "ALTER" : "CREATE", quote_identifier(role));
	if (verifier)
		appendStringInfo(&sql, " PASSWORD %s", quote_literal_cstr(verifier));
	/* Named, not quoted: the statement carries the password verifier. */
	(void) pgmlr_spi_exec(exists ? "ALTER ROLE" : "CREATE ROLE", sql.data, false, 0, SPI_OK_UTILITY);
}

/* allow_replica() in the same transaction; the line it reports. */
static char *
add_hba_rule(const char *role, const char *address)
{
	Oid			argtypes[2] = {TEXTOID, NAMEOID};
	Datum		args[2];
	NameData	rolename;
	bool		isnull;
	Datum		d;

	namestrcpy(&rolename, role);
	args[0] = CStringGetTextDatum(address);
	args[1] = NameGetDatum(&rolename);
	if (pgmlr_spi_exec_args("SELECT hba_rule FROM pgml_repl.allow_replica($1, $2, 'scram-sha-256')",
							2, argtypes, args, NULL, false, 1, SPI_OK_SELECT) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("allow_replica returned no rule")));
	d = pgmlr_spi_datum(0, 1, &isnull);
	return isnull ? NULL : TextDatumGetCString(d);
}

PG_FUNCTION_INFO_V1(pgmlr_create_replication_user);
Datum
pgmlr_create_replication_user(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pgmlr_status st;
	const char *role;
	char	   *password = NULL;
	char	   *allow_from = NULL;
	char	   *allow_address = NULL;	/* allow_from normalised */
	char	   *fetch_rule = NULL;
	int			kind = PGMLR_PASSWORD_PLAINTEXT;
	ExistingRole existing;
	char	   *generated = NULL;
	char	   *verifier = NULL;
	char	   *rule = NULL;
	bool		kept_password = false;
	MemoryContext caller_cxt = CurrentMemoryContext;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	pgmlr_require_superuser("create_replication_user");
	pgmlr_refuse_on_standby("create_replication_user() cannot run on a standby",
							"This server is in recovery: roles are created on the primary and reach every standby "
							"with the WAL.",
							"Run it on the primary. For a cascading standby that connects to this server, "
							"pgml_repl.allow_replica() adds the rule to this server's pg_hba.conf.");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("role_name must not be null")));
	role = NameStr(*PG_GETARG_NAME(0));
	pgmlr_check_role_name(role, &st);
	pgmlr_report_status(&st);

	/* Bad input fails before anything changes. */
	if (!PG_ARGISNULL(2))
	{
		char	   *normalized;

		allow_from = text_to_cstring(PG_GETARG_TEXT_PP(2));
		normalized = pgmlr_hba_normalize_address(allow_from, &st);
		pgmlr_report_status(&st);
		allow_address = pgmlr_take_string(normalized);
	}
	if (!PG_ARGISNULL(1))
	{
		password = text_to_cstring(PG_GETARG_TEXT_PP(1));
		kind = pgmlr_classify_password(password, &st);
		pgmlr_report_status(&st);
	}

	existing = lookup_role(role);
	if (existing.superuser)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" is a superuser", role),
				 errdetail("create_replication_user() does not change superuser roles."),
				 errhint("Choose another role name: a replica should connect with a role that has REPLICATION but not SUPERUSER.")));

	if (password != NULL)
	{
		verifier = kind == PGMLR_PASSWORD_SCRAM_VERIFIER ? pstrdup(password) : scram_verifier(role, password);
		if (get_password_type(verifier) != PASSWORD_TYPE_SCRAM_SHA_256)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("PostgreSQL does not accept this SCRAM-SHA-256 verifier"),
					 errhint("Pass the verifier exactly as pg_authid.rolpassword shows it.")));
		explicit_bzero(password, strlen(password));
	}
	else if (!existing.exists || !existing.has_scram)
	{
		generated = pgmlr_generate_password(&st);
		pgmlr_report_status(&st);
		generated = pgmlr_take_string(generated);
		verifier = scram_verifier(role, generated);
	}
	else
		kept_password = true;

	pgmlr_spi_connect();
	run_role_statement(role, existing.exists, verifier);
	if (allow_from)
	{
		char	   *r = add_hba_rule(role, allow_from);

		if (r)
			rule = MemoryContextStrdup(caller_cxt, r);
	}
	/* Fetching blobs from this server (hf_blob_read) over a database connection. */
	(void) pgmlr_blob_fetch_allow(role, allow_address, &fetch_rule);
	pgmlr_spi_finish();

	if (kept_password)
		ereport(NOTICE,
				(errmsg("role \"%s\" keeps its password", role),
				 errdetail("It already has a SCRAM-SHA-256 password; only a password generated by this call is "
						   "returned, so password is NULL."),
				 errhint("To replace it, pass password => '...' (stored as SCRAM-SHA-256), or run "
						 "\\password %s in psql; then update the replicas' password files.", role)));

	InitMaterializedSRF(fcinfo, 0);
	values[0] = PG_GETARG_DATUM(0);
	values[1] = generated ? CStringGetTextDatum(generated) : (Datum) 0;
	nulls[1] = generated == NULL;
	values[2] = BoolGetDatum(!existing.exists);
	values[3] = rule ? CStringGetTextDatum(rule) : (Datum) 0;
	nulls[3] = rule == NULL;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
