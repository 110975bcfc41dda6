/*
 * worker/standby_role.h — one cycle of the prefetch worker, by role, and the
 * helpers the cycles share with the main loop (worker/main.c).
 */
#ifndef PGMLR_PREFETCH_CYCLE_H
#define PGMLR_PREFETCH_CYCLE_H

#include "worker/worker.h"

extern void pgmlr_prefetch_cycle_init(void);
extern void pgmlr_prefetch_standby_cycle(void);
extern void pgmlr_prefetch_primary_cycle(void);	/* worker/primary_role.c */
extern bool pgmlr_prefetch_extension_ready(const char *role);

extern void pgmlr_prefetch_set_state(const char *role, const char *state, const char *detail);
extern void pgmlr_prefetch_record_error(const char *message);
extern bool pgmlr_prefetch_in_transaction(void (*fn) (void *), void *arg);

#endif							/* PGMLR_PREFETCH_CYCLE_H */
