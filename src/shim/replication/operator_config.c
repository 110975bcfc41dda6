/*
 * operator_config.c — the operator toolkit's SQL functions: standby_setup(),
 * pgcat_config(), pgbackrest_info() and pgbackrest_archive_max(). The core
 * validates, quotes and renders; this file gathers server facts (settings,
 * pg_stat_replication) and runs pgbackrest.
 */
#include "gucs.h"
#include "spi.h"

#include <sys/wait.h>
#include <unistd.h>

#include "catalog/pg_authid.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "postmaster/postmaster.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "pgml_repl/replication.h"

PG_FUNCTION_INFO_V1(pgmlr_fn_standby_setup);
PG_FUNCTION_INFO_V1(pgmlr_fn_pgcat_config);
PG_FUNCTION_INFO_V1(pgmlr_fn_pgbackrest_info);
PG_FUNCTION_INFO_V1(pgmlr_fn_pgbackrest_archive_max);

/* pgbackrest info output larger than this is not an info listing */
#define PGBACKREST_MAX_OUTPUT (64 * 1024 * 1024)
#define PGBACKREST_MAX_STDERR (64 * 1024)

static char *
text_arg(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

static void
require_not_null(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
}

Datum
pgmlr_fn_standby_setup(PG_FUNCTION_ARGS)
{
	pgmlr_standby_setup_args args;
	pgmlr_status st;
	char	   *script;

	memset(&args, 0, sizeof(args));
	require_not_null(fcinfo, 2, "role_name");
	require_not_null(fcinfo, 3, "stanza");
	require_not_null(fcinfo, 7, "copy_model_cache");

	args.primary_host = text_arg(fcinfo, 0);
	/* NULL: this server's own port (a SQL default cannot read a setting). */
	args.primary_port = PG_ARGISNULL(1) ? PostPortNumber : PG_GETARG_INT32(1);
	args.role_name = NameStr(*PG_GETARG_NAME(2));
	args.stanza = text_arg(fcinfo, 3);
	/* Required: the core refuses NULL, never guessing the primary's own. */
	args.data_directory = text_arg(fcinfo, 4);
	args.pgbackrest_config = text_arg(fcinfo, 5);
	args.application_name = text_arg(fcinfo, 6);
	args.copy_model_cache = PG_GETARG_BOOL(7);

	script = pgmlr_standby_setup_script(&args, &st);
	pgmlr_report_status(&st);
	PG_RETURN_TEXT_P(cstring_to_text(pgmlr_take_string(script)));
}

/*
 * The standbys connected now: address ("" for a Unix socket) and
 * application_name, one per walsender that streams to a standby
 * (pg_basebackup and logical walsenders left out). Copied into "into".
 */
static int
connected_standbys(MemoryContext into, const char ***hosts, const char ***names)
{
	int			n;

	pgmlr_spi_connect();
	n = (int) pgmlr_spi_select("SELECT coalesce(host(r.client_addr), ''), r.application_name"
							   " FROM pg_catalog.pg_stat_replication r"
							   " WHERE r.state IS DISTINCT FROM 'backup'"
							   "   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots s"
							   "                   WHERE s.active_pid = r.pid AND s.slot_type = 'logical')"
							   " ORDER BY 1, 2");
	*hosts = MemoryContextAllocZero(into, sizeof(char *) * (n + 1));
	*names = MemoryContextAllocZero(into, sizeof(char *) * (n + 1));
	for (int i = 0; i < n; i++)
	{
		char	   *h = pgmlr_spi_string(i, 1);
		char	   *a = pgmlr_spi_string(i, 2);

		(*hosts)[i] = MemoryContextStrdup(into, h ? h : "");
		(*names)[i] = MemoryContextStrdup(into, a ? a : "");
	}
	pgmlr_spi_finish();
	return n;
}

static char *
server_address(MemoryContext into)
{
	char	   *addr = NULL;

	pgmlr_spi_connect();
	if (pgmlr_spi_exec(NULL, "SELECT host(pg_catalog.inet_server_addr())", true, 1, SPI_OK_SELECT) == 1)
	{
		char	   *v = pgmlr_spi_string(0, 1);

		if (v)
			addr = MemoryContextStrdup(into, v);
	}
	pgmlr_spi_finish();
	return addr;
}

Datum
pgmlr_fn_pgcat_config(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;
	pgmlr_pgcat_args args;
	pgmlr_status st;
	const char **replicas = NULL;
	const char **connected_hosts = NULL;
	const char **connected_names = NULL;
	int			n = 0;
	char	   *out;
	char	   *unknown_ports = NULL;

	memset(&args, 0, sizeof(args));
	require_not_null(fcinfo, 1, "pool");

	if (!PG_ARGISNULL(0))
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
		Datum	   *elems;
		bool	   *nulls;

		if (ARR_NDIM(arr) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("replicas must be a one-dimensional array")));
		deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
		replicas = palloc0(sizeof(char *) * (n + 1));
		for (int i = 0; i < n; i++)
			replicas[i] = nulls[i] ? NULL : TextDatumGetCString(elems[i]);
	}
	else
		args.n_connected = connected_standbys(cxt, &connected_hosts, &connected_names);

	args.pool = text_arg(fcinfo, 1);
	/* NULL: this server's own port (a SQL default cannot read a setting). */
	args.port = PG_ARGISNULL(2) ? PostPortNumber : PG_GETARG_INT32(2);
	args.replicas = replicas;
	args.n_replicas = n;
	args.connected_hosts = connected_hosts;
	args.connected_names = connected_names;
	if (PG_ARGISNULL(3))
	{
		char	   *h = pgmlr_pgcat_default_primary_host(server_address(cxt),
														 GetConfigOption("listen_addresses", false, false),
														 &st);

		pgmlr_report_status(&st);
		args.primary_host = pgmlr_take_string(h);
	}
	else
		args.primary_host = text_arg(fcinfo, 3);
	if (PG_ARGISNULL(4))
	{
		args.database = get_database_name(MyDatabaseId);
		if (args.database == NULL)
			elog(ERROR, "current database not found");
	}
	else
		args.database = text_arg(fcinfo, 4);
	args.user_name = PG_ARGISNULL(5) ? GetUserNameFromId(GetUserId(), false) : text_arg(fcinfo, 5);

	out = pgmlr_pgcat_config(&args, &unknown_ports, &st);
	unknown_ports = pgmlr_take_string(unknown_ports);
	pgmlr_report_status(&st);
	if (unknown_ports)
		ereport(NOTICE,
				(errmsg("the port of standby %s is not known", unknown_ports),
				 errdetail("It connects from the address of another server in the pool; pg_stat_replication "
						   "shows its address but not the port it listens on, so port %d is only a guess.",
						   args.port),
				 errhint("Pass replicas => ARRAY['host:port', ...] with each replica's address and port.")));
	PG_RETURN_TEXT_P(cstring_to_text(pgmlr_take_string(out)));
}

/* The COPY ... PROGRAM rule: running a server program needs this much. */
static void
require_execute_server_program(const char *function_name)
{
	if (!superuser() && !has_privs_of_role(GetUserId(), ROLE_PG_EXECUTE_SERVER_PROGRAM))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function %s", function_name),
				 errdetail("It runs pgbackrest on the database server, which needs the privileges of the \"pg_execute_server_program\" role."),
				 errhint("A superuser can GRANT pg_execute_server_program to the role.")));
}

static char *
read_stderr_file(const char *path)
{
	StringInfoData buf;
	FILE	   *f = AllocateFile(path, PG_BINARY_R);

	initStringInfo(&buf);
	if (f)
	{
		char		chunk[4096];
		size_t		got;

		while (buf.len < PGBACKREST_MAX_STDERR && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			appendBinaryStringInfo(&buf, chunk, (int) got);
		FreeFile(f);
	}
	return buf.data;
}

/*
 * Runs "pgbackrest info" and returns its stdout, or raises an ERROR that
 * explains a failure. stderr goes to a temp file under base/pgsql_tmp, which
 * the server also clears at startup.
 */
static char *
run_pgbackrest_info(FunctionCallInfo fcinfo)
{
	char	   *stanza;
	char	   *config;
	char	   *tmpdir;
	char	   *errpath;
	char	   *command;
	pgmlr_status st;
	FILE	   *pipe;
	StringInfoData out;
	char		chunk[8192];
	size_t		got;
	int			wstatus;
	int			exit_code;
	char	   *errtext;

	require_not_null(fcinfo, 0, "stanza");
	stanza = text_arg(fcinfo, 0);
	config = text_arg(fcinfo, 1);

	tmpdir = psprintf("%s/base/%s", DataDir, PG_TEMP_FILES_DIR);
	if (MakePGDirectory(tmpdir) < 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", tmpdir)));
	errpath = psprintf("%s/%s_pgmlr_pgbackrest.%d.err", tmpdir, PG_TEMP_FILE_PREFIX, MyProcPid);

	command = pgmlr_take_string(pgmlr_pgbackrest_info_command(stanza, config, pgmlr_pgbackrest_timeout,
															  errpath, &st));
	pgmlr_report_status(&st);

	pipe = OpenPipeStream(command, PG_BINARY_R);
	if (pipe == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not run pgbackrest: %m")));

	initStringInfo(&out);
	while ((got = fread(chunk, 1, sizeof(chunk), pipe)) > 0)
	{
		if (out.len + got > PGBACKREST_MAX_OUTPUT)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("pgbackrest info printed more than %d MB", PGBACKREST_MAX_OUTPUT / (1024 * 1024))));
		appendBinaryStringInfo(&out, chunk, (int) got);
		CHECK_FOR_INTERRUPTS();
	}
	wstatus = ClosePipeStream(pipe);
	if (wstatus == -1)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close pipe to pgbackrest: %m")));
	exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;

	errtext = read_stderr_file(errpath);
	unlink(errpath);

	if (exit_code != 0)
	{
		pgmlr_pgbackrest_exit_error(exit_code, pgmlr_pgbackrest_timeout, out.data, errtext, &st);
		pgmlr_report_status(&st);
	}
	if (strlen(out.data) != (size_t) out.len)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("pgbackrest info output contains a NUL byte")));
	pgmlr_pgbackrest_info_validate(out.data, &st);
	pgmlr_report_status(&st);
	return out.data;
}

Datum
pgmlr_fn_pgbackrest_info(PG_FUNCTION_ARGS)
{
	char	   *json;

	require_execute_server_program("pgbackrest_info");
	json = run_pgbackrest_info(fcinfo);
	/* jsonb stores numbers as numeric: system-id (> 2^53) stays exact. */
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}

Datum
pgmlr_fn_pgbackrest_archive_max(PG_FUNCTION_ARGS)
{
	char	   *json;
	char	   *stanza;
	char	   *max;
	pgmlr_status st;

	require_execute_server_program("pgbackrest_archive_max");
	json = run_pgbackrest_info(fcinfo);
	stanza = text_arg(fcinfo, 0);
	max = pgmlr_pgbackrest_archive_max(json, stanza, &st);
	pgmlr_report_status(&st);
	if (max == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(pgmlr_take_string(max)));
}
