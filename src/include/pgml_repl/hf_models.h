/*
 * pgml_repl/hf_models.h — declared models (issue 16): checking a
 * want_model() request, and resolving a wanted model against the Hub's API
 * into the manifest rows a fetch job downloads.
 *
 * Plain C, seen by the shim and by src/core/hf_fetch/api_model*.cpp only.
 * Rules: pgml_repl/status.h.
 */
#ifndef PGML_REPL_HF_MODELS_H
#define PGML_REPL_HF_MODELS_H

#include <signal.h>
#include "pgml_repl/hf_cache.h"
#include "pgml_repl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One wanted model, as want_model() takes it and wanted_models stores it. */
typedef struct pgmlr_model_request
{
	const char *repo_type;		/* "model", "dataset" or "space" */
	const char *repo_id;		/* "org/name" or "name" */
	const char *revision;		/* branch, tag, "refs/pr/N" or a 40-hex commit */
	const char *const *allow_patterns;	/* NULL: every file (allow_patterns IS NULL) */
	int			n_allow;
	const char *const *ignore_patterns; /* NULL: none */
	int			n_ignore;
} pgmlr_model_request;

/*
 * Whether want_model() may record the request: the Hub's rules for the repo
 * type, id and revision (hf_cache/names.hpp), and patterns that are fnmatch
 * patterns over repo paths (not empty, no control character, at most 1024
 * bytes, at most 256 of each kind; a NULL element is refused). True when
 * fine; else false with *status set: PGMLR_ERR_INVALID_PARAMETER, a message
 * naming the argument ("repo_id ...", "allow_patterns[2] ..."), and a hint.
 */
bool		pgmlr_model_request_check(const pgmlr_model_request *request, pgmlr_status *status);

/* Where and how the Hub's API is asked. */
typedef struct pgmlr_hub_api_options
{
	const char *endpoint;		/* e.g. "https://huggingface.co", no trailing '/' */
	const char *token;			/* bearer token or NULL; sent to the endpoint host only */
	const char *ca_file;		/* extra CA bundle (tests) or NULL */
	const char *cache_root;		/* huggingface_hub cache: trees/<commit>.json is read from
								 * here when present instead of listing the tree again */
	int			timeout_ms;		/* the whole resolution, every page */
	volatile sig_atomic_t *abort_flag;	/* set: return PGMLR_MODEL_CANCELED soon */
} pgmlr_hub_api_options;

/* What the Hub said, as model_status().state shows it. */
typedef enum pgmlr_model_outcome
{
	PGMLR_MODEL_RESOLVED = 0,	/* commit and file list known */
	PGMLR_MODEL_REPO_NOT_FOUND, /* 404 RepoNotFound (or a private repo without access) */
	PGMLR_MODEL_REVISION_NOT_FOUND, /* 404 RevisionNotFound */
	PGMLR_MODEL_GATED,			/* 401/403: gated or private, token missing or refused */
	PGMLR_MODEL_RATE_LIMITED,	/* 429: retry_after_ms says how long */
	PGMLR_MODEL_UNREACHABLE,	/* connection refused, timeout, 5xx */
	PGMLR_MODEL_BAD_ANSWER,		/* an answer that is not what the Hub sends */
	PGMLR_MODEL_CANCELED		/* abort_flag */
} pgmlr_model_outcome;

typedef struct pgmlr_model_resolution
{
	pgmlr_model_outcome outcome;
	char		commit[41];		/* "" unless resolved */
	int			http_status;	/* of the failing answer; 0 if none */
	char		hub_error[64];	/* its X-Error-Code ("RepoNotFound", "GatedRepo"), or "" */
	int64_t		retry_after_ms; /* RATE_LIMITED: from RateLimit / Retry-After; else 0 */
	char		detail[512];	/* one line for model_status().detail; never the token */
	bool		tree_from_cache;	/* the listing came from trees/<commit>.json */
} pgmlr_model_resolution;

/* A resolved model: every file of the commit, and those the patterns keep. */
typedef struct pgmlr_model_listing pgmlr_model_listing;

/*
 * Resolves the revision (GET {endpoint}/api/{type}s/{repo_id}/revision/{rev},
 * skipped when the revision is a commit), then lists the commit's files
 * (trees/<commit>.json when the cache has a valid one, else GET
 * .../tree/{commit}?recursive=true, every page of its Link header).
 * Blocking, bounded by timeout_ms, abortable. Returns the listing when
 * resolution->outcome is PGMLR_MODEL_RESOLVED, else NULL; the Hub's
 * refusals are outcomes, not statuses. *status is set only for bad
 * arguments or out of memory (then the outcome is BAD_ANSWER).
 */
pgmlr_model_listing *pgmlr_model_resolve(const pgmlr_model_request *request, const pgmlr_hub_api_options *opts,
										 pgmlr_model_resolution *resolution, pgmlr_status *status);

/* Files the patterns keep (filter_repo_objects' rules), and their bytes. */
int			pgmlr_model_listing_count(const pgmlr_model_listing *listing);
int64_t		pgmlr_model_listing_bytes(const pgmlr_model_listing *listing);

/*
 * The index-th kept file as a manifest row for a fetch job: revision = the
 * commit, refs = { the requested revision } when it is a branch or tag
 * (none when it is a commit), blob = the LFS SHA-256 or the git blob id.
 * The strings belong to the listing. False when index is out of range.
 */
bool		pgmlr_model_listing_row(const pgmlr_model_listing *listing, int index, pgmlr_hf_manifest_row *out);

/*
 * How many kept files the cache holds for the commit: the snapshot entry
 * resolves to a regular file of the listed size (no hashing; the fetch job
 * verified what it published).
 */
void		pgmlr_model_listing_present(const pgmlr_model_listing *listing, const char *cache_root,
										int64_t *files_present, int64_t *bytes_present, pgmlr_status *status);

/*
 * Writes <repo folder>/trees/<commit>.json byte for byte as huggingface_hub
 * >= 1.22 does (every file of the commit, not only the kept ones), by temp
 * file, fsync and rename, only when absent or different. Folders are opened
 * one component at a time without following links.
 */
bool		pgmlr_model_listing_write_tree(const pgmlr_model_listing *listing, const char *cache_root,
										   pgmlr_status *status);

void		pgmlr_model_listing_free(pgmlr_model_listing *listing);

#ifdef __cplusplus
}
#endif

#endif							/* PGML_REPL_HF_MODELS_H */
