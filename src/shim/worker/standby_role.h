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

#endif							/* PGMLR_PREFETCH_CYCLE_H */
