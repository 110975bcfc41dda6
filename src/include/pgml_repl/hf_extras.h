/*
 * pgml_repl/hf_extras.h — the cache's extras for pgml_repl.hf_cache_extras():
 * trees/<commit>.json (huggingface_hub >= 1.22) and .no_exist/<commit>/<path>
 * markers of one repo folder, read without following links
 * (src/core/hf_cache/extras.hpp says how). The shim asks once per repo the
 * manifest lists and ties the handle to a memory context with
 * pgmlr_own_handle(extras, pgmlr_hf_extras_free).
 */
#ifndef PGML_REPL_HF_EXTRAS_H
#define PGML_REPL_HF_EXTRAS_H

#include "pgml_repl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PGMLR_HF_TREE_MAX_BYTES (16 * 1024 * 1024)	/* larger tree files are skipped */

typedef struct pgmlr_hf_extras pgmlr_hf_extras;

typedef struct pgmlr_hf_extra
{
	const char *kind;			/* "tree" or "no_exist" */
	const char *name;			/* "<commit>" or "<commit>/<path>" */
	const char *content;		/* a tree's bytes; NULL for a marker */
	size_t		content_len;
} pgmlr_hf_extra;

/*
 * The extras of repo_type/repo_id in cache_dir. A repo folder that does not
 * exist gives an empty listing. NULL with an error: INVALID_PARAMETER (a
 * name breaks the Hub's rules), CONFIG_FILE (a relative cache folder),
 * PERMISSION (the repo folder is a link or not a folder), IO.
 */
pgmlr_hf_extras *pgmlr_hf_extras_list(const char *cache_dir, const char *repo_type, const char *repo_id,
									  pgmlr_status *status);
int			pgmlr_hf_extras_count(const pgmlr_hf_extras *extras);
/* Item i (0 .. count - 1; false outside); the strings live as long as the handle. */
bool		pgmlr_hf_extras_item(const pgmlr_hf_extras *extras, int i, pgmlr_hf_extra *out);
/* What was skipped (links, odd names, oversized trees), one sentence each; NULL outside 0 .. count - 1. */
int			pgmlr_hf_extras_warning_count(const pgmlr_hf_extras *extras);
const char *pgmlr_hf_extras_warning(const pgmlr_hf_extras *extras, int i);
void		pgmlr_hf_extras_free(void *extras);

#ifdef __cplusplus
}
#endif

#endif							/* PGML_REPL_HF_EXTRAS_H */
