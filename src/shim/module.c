/*
 * module.c — the library's entry point: PG_MODULE_MAGIC and _PG_init.
 */
#include "shim.h"

#include "fmgr.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	pgmlr_define_health_gucs();
	pgmlr_define_hf_cache_gucs();
	pgmlr_define_operator_gucs();
	MarkGUCPrefixReserved("pgml_replication");

	pgmlr_commit_actions_init();
}
