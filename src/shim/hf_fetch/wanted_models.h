/*
 * hf_fetch/wanted_models.h — pgml_repl.wanted_models, owned by
 * hf_fetch/wanted_models.c: no other C code reads or writes the table. The
 * SQL functions want_model() and unwant_model() write it (plain
 * transactional writes, so a migration's ROLLBACK wants nothing); the
 * primary's prefetch worker reads it each cycle.
 */
#ifndef PGMLR_WANTED_MODELS_H
#define PGMLR_WANTED_MODELS_H

#include "shim.h"

#include "pgml_repl/hf_models.h"

/* One row of the table; every pointer palloc'd in the caller's context. */
typedef struct pgmlr_wanted_model
{
	pgmlr_model_request request;	/* its arrays point into the row's own copies */
} pgmlr_wanted_model;

/*
 * Every row, in key order (repo_type, repo_id, revision), allocated in the
 * caller's memory context; *count rows. Read-only SPI with the caller's
 * privileges: call it inside a transaction with SPI not yet connected.
 */
extern pgmlr_wanted_model *pgmlr_wanted_models_read(int *count);

#endif							/* PGMLR_WANTED_MODELS_H */
