/*
 * configure_primary.c — pgml_repl.configure_primary(): archive_mode,
 * wal_level, archive_command and max_wal_senders in postgresql.auto.conf,
 * written at COMMIT (unlike ALTER SYSTEM, it works inside BEGIN ... COMMIT).
 */
#include "shim.h"

#include "replication/auto_conf_file.h"

#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "storage/lwlock.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "pgml_repl/replication.h"

PG_FUNCTION_INFO_V1(pgmlr_configure_primary);

#define CONFIGURE_PRIMARY_COLS 5

static char *
text_arg_or_null(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/*
 * Lets the server parse the value and run its check hooks exactly as when it
 * reads the file, without changing anything (changeVal = false). Its error
 * gets a hint naming the function's argument.
 */
static void
validate_as_server(const char *name, const char *value)
{
	MemoryContext caller = CurrentMemoryContext;

	PG_TRY();
	{
		(void) set_config_option(name, value, PGC_POSTMASTER, PGC_S_FILE,
								 GUC_ACTION_SET, false, ERROR, false);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		FlushErrorState();
		if (edata->hint == NULL)
			edata->hint = psprintf("PostgreSQL rejects this value for %s; postgresql.auto.conf was not changed.",
								   name);
		ReThrowError(edata);
	}
	PG_END_TRY();
}

static void
notice_pending_restart(pgmlr_primary_plan *plan)
{
	StringInfoData names;
	int			i;

	initStringInfo(&names);
	for (i = 0; i < pgmlr_primary_plan_count(plan); i++)
	{
		if (!pgmlr_primary_plan_pending_restart(plan, i))
			continue;
		if (names.len > 0)
			appendStringInfoString(&names, ", ");
		appendStringInfoString(&names, pgmlr_primary_plan_name(plan, i));
	}
	if (names.len == 0)
		return;
	ereport(NOTICE,
			(errmsg("server restart required to apply %s", names.data),
			 errdetail("These settings are read only at server start; until a restart the server keeps its current values."),
			 errhint("Restart PostgreSQL after COMMIT, for example with \"pg_ctl restart -D <data directory>\" or \"systemctl restart postgresql\".")));
}

Datum
pgmlr_configure_primary(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *stanza;
	char	   *archive_command;
	char	   *pgbackrest_config;
	int64_t		max_wal_senders;
	pgmlr_primary_plan *plan;
	pgmlr_auto_conf *conf;
	pgmlr_status status;
	const char *names[4];
	const char *values[4];
	int			count;
	int			i;
	bool		any_changed = false;

	pgmlr_require_superuser("configure_primary");
	pgmlr_refuse_on_standby("configure_primary() cannot run on a standby",
							"This server is in recovery. The archiving and WAL settings configure_primary() writes "
							"belong to the primary; a standby copies them with its base backup.",
							"Run it on the primary, where SELECT pg_is_in_recovery(); returns false.");

	stanza = text_arg_or_null(fcinfo, 0);
	archive_command = text_arg_or_null(fcinfo, 1);
	if (!PG_ARGISNULL(2))
		max_wal_senders = PG_GETARG_INT32(2);
	pgbackrest_config = text_arg_or_null(fcinfo, 3);

	plan = pgmlr_primary_plan_create(stanza, archive_command,
									 PG_ARGISNULL(2) ? NULL : &max_wal_senders,
									 pgbackrest_config, &status);
	pgmlr_report_status(&status);
	pgmlr_own_handle(plan, pgmlr_primary_plan_free);
	count = pgmlr_primary_plan_count(plan);
	Assert(count == 4);

	for (i = 0; i < count; i++)
		validate_as_server(pgmlr_primary_plan_name(plan, i), pgmlr_primary_plan_desired(plan, i));

	if (pgmlr_primary_plan_archive_command_lacks_path(plan))
		ereport(NOTICE,
				(errmsg("archive_command does not contain %%p"),
				 errdetail("PostgreSQL replaces %%p with the path of the WAL segment to archive; a command without it cannot know which file to copy."),
				 errhint("Use %%p for the file's path and %%f for its name; write %%%% for a literal percent sign.")));

	/* What is configured now: the file, plus what this transaction queued. */
	conf = pgmlr_auto_conf_create(&status);
	pgmlr_report_status(&status);
	pgmlr_own_handle(conf, pgmlr_auto_conf_free);
	LWLockAcquire(AutoFileLock, LW_SHARED);
	pgmlr_auto_conf_load(conf, NULL, NULL);
	LWLockRelease(AutoFileLock);
	pgmlr_auto_conf_overlay_pending(conf);

	for (i = 0; i < count; i++)
	{
		const char *name = pgmlr_primary_plan_name(plan, i);

		pgmlr_primary_plan_observe(plan, i, pgmlr_auto_conf_get(conf, name),
								   GetConfigOption(name, false, false), &status);
		pgmlr_report_status(&status);
		names[i] = name;
		values[i] = pgmlr_primary_plan_value(plan, i);
		if (pgmlr_primary_plan_changed(plan, i))
			any_changed = true;
	}

	/* All four, so pg_file_settings shows the complete set after COMMIT. */
	if (any_changed)
		pgmlr_auto_conf_queue(count, names, values);

	notice_pending_restart(plan);

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < count; i++)
	{
		Datum		row[CONFIGURE_PRIMARY_COLS];
		bool		nulls[CONFIGURE_PRIMARY_COLS] = {false};

		row[0] = CStringGetTextDatum(pgmlr_primary_plan_name(plan, i));
		row[1] = CStringGetTextDatum(pgmlr_primary_plan_previous(plan, i));
		row[2] = CStringGetTextDatum(pgmlr_primary_plan_value(plan, i));
		row[3] = BoolGetDatum(pgmlr_primary_plan_changed(plan, i));
		row[4] = BoolGetDatum(pgmlr_primary_plan_pending_restart(plan, i));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}
