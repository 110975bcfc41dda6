/*
 * worker/standby_role.h — one cycle of the prefetch worker, by role. Called
 * by the main loop (worker/main.c); reports through worker/state.h.
 */
#ifndef PGMLR_PREFETCH_CYCLE_H
#define PGMLR_PREFETCH_CYCLE_H

#include "worker/state.h"

extern void pgmlr_prefetch_cycle_init(void);
extern void pgmlr_prefetch_standby_cycle(void);
extern void pgmlr_prefetch_primary_cycle(void);	/* worker/primary_role.c */
extern bool pgmlr_prefetch_extension_ready(const char *role);

struct SourcePass;

/* The cache folder (palloc'd), or NULL with the failure recorded. */
extern char *pgmlr_prefetch_cache_root(bool mkdir_if_missing);
/* The Hub's endpoint and token (palloc'd; token may be NULL), or false with the failure recorded. */
extern bool pgmlr_prefetch_hub_access(char **endpoint, char **token);
/* A Hub pass over pass->add_rows' rows (worker/models_role.c uses it). */
extern void pgmlr_prefetch_run_rows_pass(const char *root, struct SourcePass *pass);

/* worker/models_role.c: the primary's declared models, before it publishes. */
extern void pgmlr_prefetch_models_pass(void);

#endif							/* PGMLR_PREFETCH_CYCLE_H */
