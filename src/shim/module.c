/*
 * module.c — the library's entry point: PG_MODULE_MAGIC and _PG_init.
 */
#include "shim.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "gucs.h"
#include "worker/state.h"
#include "worker/worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	pgmlr_define_gucs();
	MarkGUCPrefixReserved("pgml_replication");

	pgmlr_commit_actions_init();

	/* The worker and its shared state exist only when preloaded. */
	if (process_shared_preload_libraries_in_progress)
	{
		pgmlr_prefetch_shmem_init();
		pgmlr_register_prefetch_worker();
	}
}
