/*
 * hf_cache/extras.c — pgml_repl.hf_cache_extras(): what huggingface_hub
 * wrote into this server's cache besides blobs, snapshots and refs, for the
 * replicas that fetch from it: each trees/<commit>.json (kind 'tree', its
 * bytes) and each .no_exist/<commit>/<path> marker (kind 'no_exist',
 * content NULL) of every repo that pgml_repl.hf_manifest lists and the cache
 * holds.
 *
 * The repos come from the manifest (hf_cache/manifest_table.c, read-only,
 * with the caller's privileges); the files are read by the core
 * (src/core/hf_cache/extras.cpp: no link followed, names checked with the
 * Hub's rules, tree files over 16 MiB skipped). What the core skipped is a
 * WARNING; a repo folder that is a link or not a folder is a WARNING and
 * the repo is left out. Nothing is written (no table, no WAL), so a hot
 * standby serves too.
 */
#include "gucs.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"
#include "pgml_repl/hf_cache.h"
#include "pgml_repl/hf_extras.h"
#include "hf_cache/manifest_table.h"

PG_FUNCTION_INFO_V1(pgmlr_hf_cache_extras);

/* The rows of one repo into the tuplestore; warnings as WARNINGs. */
static void
put_repo_rows(ReturnSetInfo *rsinfo, const char *repo_type, const char *repo_id, const pgmlr_hf_extras *extras)
{
	int			n = pgmlr_hf_extras_count(extras);
	int			w = pgmlr_hf_extras_warning_count(extras);

	for (int i = 0; i < w; i++)
		ereport(WARNING,
				(errmsg("hf_cache_extras: %s", pgmlr_hf_extras_warning(extras, i)),
				 errhint("Replicas do not get what was skipped; huggingface_hub never writes such entries.")));
	for (int i = 0; i < n; i++)
	{
		pgmlr_hf_extra e;
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		if (!pgmlr_hf_extras_item(extras, i, &e))
			continue;
		values[0] = CStringGetTextDatum(repo_type);
		values[1] = CStringGetTextDatum(repo_id);
		values[2] = CStringGetTextDatum(e.kind);
		values[3] = CStringGetTextDatum(e.name);
		if (e.content != NULL)
		{
			bytea	   *b = (bytea *) palloc(VARHDRSZ + e.content_len);

			SET_VARSIZE(b, VARHDRSZ + e.content_len);
			memcpy(VARDATA(b), e.content, e.content_len);
			values[4] = PointerGetDatum(b);
		}
		else
			nulls[4] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

Datum
pgmlr_hf_cache_extras(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pgmlr_manifest_repo *repos;
	int			nrepos;
	pgmlr_status st;
	char	   *cache_dir;
	MemoryContext repo_cxt;

	InitMaterializedSRF(fcinfo, 0);
	repos = pgmlr_manifest_table_repos(&nrepos);
	cache_dir = pgmlr_take_string(pgmlr_hf_default_cache_dir(pgmlr_hf_cache_dir, &st));
	pgmlr_report_status(&st);

	/* One repo's listing (its trees' bytes) at a time. */
	repo_cxt = AllocSetContextCreate(CurrentMemoryContext, "pgml_repl hf cache extras", ALLOCSET_DEFAULT_SIZES);
	for (int r = 0; r < nrepos; r++)
	{
		MemoryContext old;
		pgmlr_hf_extras *extras;

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(repo_cxt);
		extras = pgmlr_hf_extras_list(cache_dir, repos[r].repo_type, repos[r].repo_id, &st);
		if (extras != NULL)
		{
			pgmlr_own_handle(extras, pgmlr_hf_extras_free);
			put_repo_rows(rsinfo, repos[r].repo_type, repos[r].repo_id, extras);
		}
		else if (st.code == PGMLR_ERR_PERMISSION || st.code == PGMLR_ERR_INVALID_PARAMETER)
			pgmlr_report_status_at(WARNING, &st);	/* this repo is left out */
		else
			pgmlr_report_status(&st);
		MemoryContextSwitchTo(old);
		MemoryContextReset(repo_cxt);
	}
	MemoryContextDelete(repo_cxt);
	return (Datum) 0;
}
