/*
 * worker/primary_role.c — the prefetch worker's cycle on the primary:
 * fetch the declared models (worker/models_role.c), then publish the local
 * cache into pgml_repl.hf_manifest, the way publish_hf_manifest() does (the
 * same routine, called directly), so replicas learn what to fetch through
 * the WAL.
 */
#include "worker/standby_role.h"

#include <stdio.h>

#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "worker/state.h"
#include "hf_cache/manifest_table.h"

static void
publish_manifest(void *arg)
{
	int64	   *refused = (int64 *) arg;
	pgmlr_hf_publish_result result;

	pgstat_report_activity(STATE_RUNNING, "pgml_repl.publish_hf_manifest()");
	/* Quiet: its WARNING naming refused entries would repeat every naptime. */
	pgmlr_hf_publish(NULL, false, &result);
	*refused = result.refused;
	pgmlr_prefetch_record_publish(result.added, result.removed, result.refused);
}

void
pgmlr_prefetch_primary_cycle(void)
{
	static int64 refused_logged = 0;
	int64		refused = 0;
	char		detail[PREFETCH_ERROR_LEN];

	if (!pgmlr_prefetch_extension_ready("primary"))
		return;
	/* A promoted standby's refusals were about the manifest it received. */
	pgmlr_prefetch_clear_refusals();

	pgmlr_prefetch_models_pass();
	if (ShutdownRequestPending)
		return;

	pgmlr_prefetch_set_state("primary", "publishing", NULL);
	if (!pgmlr_prefetch_in_transaction(publish_manifest, &refused))
	{
		pgmlr_prefetch_set_state("primary", "error", "publishing the manifest failed; see last_error");
		return;
	}
	if (refused > 0)
	{
		snprintf(detail, sizeof(detail),
				 "manifest published from the local cache; %lld cache entries refused because their names break "
				 "the Hub's rules (SELECT * FROM pgml_repl.publish_hf_manifest() names them)", (long long) refused);
		if (refused != refused_logged)
			ereport(WARNING,
					(errmsg("pgml_replication prefetch: %lld cache entries were not published because their names break the Hub's rules",
							(long long) refused),
					 errhint("SELECT * FROM pgml_repl.publish_hf_manifest(); names them in a WARNING.")));
	}
	else
		strlcpy(detail, "manifest published from the local cache", sizeof(detail));
	refused_logged = refused;
	pgmlr_prefetch_set_state("primary", "idle", detail);
}
