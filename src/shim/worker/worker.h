/*
 * worker/worker.h — the prefetch background worker: registration, main loop
 * (main.c) and CPU/I/O priority (priority.c). The cycles are in
 * worker/standby_role.h, the shared state in worker/state.h.
 */
#ifndef PGMLR_WORKER_H
#define PGMLR_WORKER_H

#include "gucs.h"

/* worker/priority.c */
extern void pgmlr_prefetch_apply_priority(void);

/* worker/main.c */
extern void pgmlr_register_prefetch_worker(void);
extern PGDLLEXPORT void pgmlr_prefetch_main(Datum main_arg);

#endif							/* PGMLR_WORKER_H */
