/*
 * prefetch_cycle.c — what one cycle does on each role.
 */
#include "prefetch_cycle.h"

#include "executor/spi.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

void
pgmlr_prefetch_cycle_init(void)
{
}

static void
publish_manifest(void *arg)
{
	int			rc;

	pgstat_report_activity(STATE_RUNNING, "pgml_repl.publish_hf_manifest()");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute("SELECT added, removed FROM pgml_repl.publish_hf_manifest()", false, 1);
	if (rc == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		int64		added = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		int64		removed = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

		LWLockAcquire(prefetch_shared->lock, LW_EXCLUSIVE);
		prefetch_shared->published_added = added;
		prefetch_shared->published_removed = removed;
		prefetch_shared->last_published_at = GetCurrentTimestamp();
		LWLockRelease(prefetch_shared->lock);
	}
	SPI_finish();
}

static void
check_extension(void *arg)
{
	bool	   *installed = (bool *) arg;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgml_replication'", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up the pgml_replication extension");
	*installed = (SPI_processed == 1);
	SPI_finish();
}

/* Until CREATE EXTENSION has run in pgml_replication.database, wait quietly. */
static bool
extension_ready(const char *role)
{
	bool		installed = false;

	if (!pgmlr_prefetch_in_transaction(check_extension, &installed))
		return false;
	if (!installed)
	{
		char		detail[PREFETCH_ERROR_LEN];

		snprintf(detail, sizeof(detail),
				 "extension pgml_replication is not installed in database \"%s\" (pgml_replication.database)",
				 pgmlr_prefetch_database);
		pgmlr_prefetch_set_state(role, "waiting", detail);
	}
	return installed;
}

void
pgmlr_prefetch_primary_cycle(void)
{
	if (!extension_ready("primary"))
		return;
	pgmlr_prefetch_set_state("primary", "publishing", NULL);
	if (pgmlr_prefetch_in_transaction(publish_manifest, NULL))
		pgmlr_prefetch_set_state("primary", "idle", "manifest published from the local cache");
	else
		pgmlr_prefetch_set_state("primary", "error", "publishing the manifest failed; see last_error");
}

void
pgmlr_prefetch_standby_cycle(void)
{
	/* Filled in once the fetch core lands (issue 4). */
	pgmlr_prefetch_set_state("standby", "idle", NULL);
}
