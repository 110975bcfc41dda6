/*
 * hf_fetch/model_status.c — pgml_repl.model_status(): each row of
 * wanted_models beside what the primary's prefetch worker last found for it
 * (worker/state.h, shared memory). A model the worker has not reached yet,
 * or a node where no worker resolves models, still gets its row, with a
 * state that says why nothing is known.
 */
#include "shim.h"

#include "access/xlog.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "hf_fetch/wanted_models.h"
#include "worker/state.h"

#define MODEL_STATUS_COLUMNS 11

/* Where no slot exists: why, as state and detail. */
static void
unknown_state(const PrefetchModelsView *view, bool replica, const char **state, const char **detail)
{
	if (!view->shmem)
	{
		*state = "no_worker";
		*detail = "no prefetch worker: add pgml_replication to shared_preload_libraries and restart the server";
	}
	else if (replica)
	{
		*state = "replica";
		*detail = "the primary resolves and fetches declared models; this replica follows its manifest "
			"(pgml_repl.prefetch_status())";
	}
	else if (view->worker_pid == 0)
	{
		*state = "no_worker";
		*detail = "the prefetch worker is not running (pgml_replication.prefetch, or see the server log)";
	}
	else if (!pgmlr_prefetch_enabled)
	{
		*state = "disabled";
		*detail = "pgml_replication.prefetch is off";
	}
	else if (view->len >= PREFETCH_MODEL_SLOTS)
	{
		*state = "untracked";
		*detail = "fetched like every declared model, but model_status() shows the first 256 only";
	}
	else
	{
		*state = "pending";
		*detail = "declared; the prefetch worker resolves it in its next cycle (pgml_repl.prefetch_now() starts one)";
	}
}

static Datum
count_or_null(int64 v, bool *isnull)
{
	*isnull = v < 0;
	return Int64GetDatum(v);
}

PG_FUNCTION_INFO_V1(pgmlr_model_status);
Datum
pgmlr_model_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PrefetchModelsView *view = palloc(sizeof(PrefetchModelsView));
	pgmlr_wanted_model *wanted;
	int			count = 0;
	bool		replica = RecoveryInProgress();

	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != MODEL_STATUS_COLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the SQL definition of pgml_repl.model_status() does not match this pgml_replication library"),
				 errhint("Install the pgml_replication library that matches the extension version, then restart the server.")));
	pgmlr_prefetch_read_models(view);
	wanted = pgmlr_wanted_models_read(&count);

	for (int i = 0; i < count; i++)
	{
		const pgmlr_model_request *req = &wanted[i].request;
		const PrefetchModelSlot *slot = NULL;
		Datum		values[MODEL_STATUS_COLUMNS];
		bool		nulls[MODEL_STATUS_COLUMNS];
		const char *state;
		const char *detail;

		/* Not on a replica: what its shared memory holds predates a promotion's cycle. */
		for (int k = 0; k < view->len && !replica; k++)
			if (strcmp(view->models[k].repo_type, req->repo_type) == 0 &&
				strcmp(view->models[k].repo_id, req->repo_id) == 0 &&
				strcmp(view->models[k].revision, req->revision) == 0)
				slot = &view->models[k];

		memset(nulls, 0, sizeof(nulls));
		values[0] = CStringGetTextDatum(req->repo_type);
		values[1] = CStringGetTextDatum(req->repo_id);
		values[2] = CStringGetTextDatum(req->revision);
		if (slot == NULL)
		{
			unknown_state(view, replica, &state, &detail);
			for (int c = 3; c <= 7; c++)
				nulls[c] = true;
			values[8] = CStringGetTextDatum(state);
			values[9] = CStringGetTextDatum(detail);
			nulls[10] = true;
		}
		else
		{
			nulls[3] = slot->commit[0] == '\0';
			values[3] = nulls[3] ? (Datum) 0 : CStringGetTextDatum(slot->commit);
			values[4] = count_or_null(slot->files_wanted, &nulls[4]);
			values[5] = count_or_null(slot->files_present, &nulls[5]);
			values[6] = count_or_null(slot->bytes_wanted, &nulls[6]);
			values[7] = count_or_null(slot->bytes_present, &nulls[7]);
			values[8] = CStringGetTextDatum(slot->state);
			values[9] = CStringGetTextDatum(slot->detail);
			nulls[10] = slot->checked_at == 0;
			values[10] = TimestampTzGetDatum(slot->checked_at);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
