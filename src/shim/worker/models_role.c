/*
 * worker/models_role.c — the primary's declared models (issue 16): each
 * cycle, before the manifest is published, make the cache hold what
 * pgml_repl.wanted_models declares. Every model is resolved against the
 * Hub's API (a branch every cycle, so a new commit arrives; a commit once,
 * since its tree is kept in trees/<commit>.json), then one fetch pass from
 * the Hub brings what is missing, with the job a standby uses. Replicas
 * follow through the manifest the cycle publishes next. Files a model no
 * longer needs are never deleted.
 */
#include "worker/standby_role.h"

#include <stdio.h>

#include "catalog/namespace.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "pgml_repl/hf_models.h"
#include "hf_fetch/wanted_models.h"
#include "worker/standby_report.h"

/* One model's resolution may take this long, every page of its tree included. */
#define RESOLVE_TIMEOUT_MS 60000

/* After a 429 from the API, no model is resolved before this. */
static TimestampTz api_paused_until = 0;

typedef struct WantedRead
{
	MemoryContext cxt;			/* where the rows go: the cycle's context */
	pgmlr_wanted_model *rows;
	int			count;
} WantedRead;

static void
read_wanted(void *arg)
{
	WantedRead *read = (WantedRead *) arg;
	Oid			nsp = get_namespace_oid("pgml_repl", true);
	MemoryContext old;

	/* An extension not yet updated to 0.4.0 has no table: nothing is declared. */
	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("wanted_models", nsp)))
		return;
	pgstat_report_activity(STATE_RUNNING, "reading pgml_repl.wanted_models");
	old = MemoryContextSwitchTo(read->cxt);
	read->rows = pgmlr_wanted_models_read(&read->count);
	MemoryContextSwitchTo(old);
}

typedef struct ModelsPass
{
	int			count;
	pgmlr_model_listing **listings;	/* NULL: not resolved this cycle */
} ModelsPass;

static int64
add_model_rows(pgmlr_fetch_job *job, void *arg)
{
	ModelsPass *models = (ModelsPass *) arg;
	int64		rows = 0;

	for (int i = 0; i < models->count; i++)
	{
		pgmlr_model_listing *listing = models->listings[i];
		int			n = listing ? pgmlr_model_listing_count(listing) : 0;

		for (int k = 0; k < n; k++)
		{
			pgmlr_hf_manifest_row row;
			pgmlr_status st;

			if (pgmlr_model_listing_row(listing, k, &row))
			{
				(void) pgmlr_fetch_add_row(job, &row, &st);
				rows++;
			}
		}
	}
	return rows;
}

static const char *
outcome_state(pgmlr_model_outcome outcome)
{
	switch (outcome)
	{
		case PGMLR_MODEL_RESOLVED:
			return "resolved";
		case PGMLR_MODEL_REPO_NOT_FOUND:
			return "repo_not_found";
		case PGMLR_MODEL_REVISION_NOT_FOUND:
			return "revision_not_found";
		case PGMLR_MODEL_GATED:
			return "gated";
		case PGMLR_MODEL_RATE_LIMITED:
			return "rate_limited";
		case PGMLR_MODEL_UNREACHABLE:
			return "unreachable";
		case PGMLR_MODEL_BAD_ANSWER:
			return "bad_answer";
		case PGMLR_MODEL_CANCELED:
			return "canceled";
	}
	return "unknown";
}

/* The slot the previous cycle left for this model, if any. */
static const PrefetchModelSlot *
previous_slot(const PrefetchModelsView *before, const pgmlr_model_request *req)
{
	for (int i = 0; i < before->len; i++)
	{
		const PrefetchModelSlot *s = &before->models[i];

		if (strcmp(s->repo_type, req->repo_type) == 0 && strcmp(s->repo_id, req->repo_id) == 0 &&
			strcmp(s->revision, req->revision) == 0)
			return s;
	}
	return NULL;
}

static void
start_slot(PrefetchModelSlot *slot, const pgmlr_model_request *req, const PrefetchModelSlot *prev)
{
	memset(slot, 0, sizeof(*slot));
	strlcpy(slot->repo_type, req->repo_type, sizeof(slot->repo_type));
	strlcpy(slot->repo_id, req->repo_id, sizeof(slot->repo_id));
	strlcpy(slot->revision, req->revision, sizeof(slot->revision));
	/* Until the Hub answers again, what an earlier cycle found stays shown. */
	if (prev != NULL)
	{
		strlcpy(slot->commit, prev->commit, sizeof(slot->commit));
		slot->files_wanted = prev->files_wanted;
		slot->files_present = prev->files_present;
		slot->bytes_wanted = prev->bytes_wanted;
		slot->bytes_present = prev->bytes_present;
	}
	else
		slot->files_wanted = slot->files_present = slot->bytes_wanted = slot->bytes_present = -1;
	slot->checked_at = GetCurrentTimestamp();
}

/* A refusal or failure of the Hub's API, logged once per change. */
static void
note_unresolved(PrefetchModelSlot *slot, const pgmlr_model_resolution *res)
{
	char		message[PREFETCH_ERROR_LEN];

	strlcpy(slot->state, outcome_state(res->outcome), sizeof(slot->state));
	strlcpy(slot->detail, res->detail, sizeof(slot->detail));
	if (res->outcome == PGMLR_MODEL_CANCELED)
		return;
	snprintf(message, sizeof(message), "declared model %s %s@%s: %s", slot->repo_type, slot->repo_id,
			 slot->revision, res->detail);
	if (pgmlr_prefetch_error_is_new(message))
		ereport(WARNING,
				(errmsg("pgml_replication prefetch: %s", message),
				 errhint("SELECT * FROM pgml_repl.model_status(); shows every declared model.")));
	pgmlr_prefetch_record_error(message);
}

static void
resolve_all(const WantedRead *wanted, const char *root, const char *endpoint, const char *token,
			PrefetchModelSlot *slots, ModelsPass *models, const PrefetchModelsView *before)
{
	pgmlr_hub_api_options opts;

	memset(&opts, 0, sizeof(opts));
	opts.endpoint = endpoint;
	opts.token = token;
	opts.ca_file = (pgmlr_hf_ca_file && pgmlr_hf_ca_file[0]) ? pgmlr_hf_ca_file : NULL;
	opts.cache_root = root;
	opts.timeout_ms = RESOLVE_TIMEOUT_MS;
	opts.abort_flag = &ShutdownRequestPending;

	for (int i = 0; i < wanted->count; i++)
	{
		const pgmlr_model_request *req = &wanted->rows[i].request;
		PrefetchModelSlot *slot = &slots[i];
		pgmlr_model_resolution res;
		pgmlr_status st;
		char		activity[PREFETCH_ERROR_LEN];

		start_slot(slot, req, previous_slot(before, req));
		if (ShutdownRequestPending)
		{
			strlcpy(slot->state, "canceled", sizeof(slot->state));
			continue;
		}
		if (api_paused_until != 0 && GetCurrentTimestamp() < api_paused_until)
		{
			strlcpy(slot->state, "rate_limited", sizeof(slot->state));
			snprintf(slot->detail, sizeof(slot->detail), "not asked: the Hub's API rate limit pauses requests until %s",
					 timestamptz_to_str(api_paused_until));
			continue;
		}
		/* The table's CHECK constraints hold ids and revisions; patterns only want_model() checks. */
		if (!pgmlr_model_request_check(req, &st))
		{
			strlcpy(slot->state, "invalid", sizeof(slot->state));
			snprintf(slot->detail, sizeof(slot->detail), "%s; unwant it and want it again with valid arguments",
					 st.message);
			continue;
		}
		snprintf(activity, sizeof(activity), "resolving %s %s@%s on the Hub", req->repo_type, req->repo_id, req->revision);
		pgstat_report_activity(STATE_RUNNING, activity);
		pgmlr_prefetch_set_state("primary", "resolving", activity);
		memset(&res, 0, sizeof(res));
		models->listings[i] = pgmlr_model_resolve(req, &opts, &res, &st);
		if (models->listings[i] == NULL)
		{
			if (res.outcome == PGMLR_MODEL_RATE_LIMITED)
				api_paused_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), Max(res.retry_after_ms, 1000));
			note_unresolved(slot, &res);
			continue;
		}
		strlcpy(slot->commit, res.commit, sizeof(slot->commit));
		slot->files_wanted = pgmlr_model_listing_count(models->listings[i]);
		slot->bytes_wanted = pgmlr_model_listing_bytes(models->listings[i]);
		strlcpy(slot->state, "resolved", sizeof(slot->state));
	}
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* After the pass: trees written, what the cache holds, and the state it makes. */
static void
settle(PrefetchModelSlot *slot, pgmlr_model_listing *listing, const char *root, bool pass_ended)
{
	pgmlr_status st;
	int64_t		files = 0;
	int64_t		bytes = 0;

	if (!pgmlr_model_listing_write_tree(listing, root, &st))
		snprintf(slot->detail, sizeof(slot->detail), "trees/%s.json not written: %s; ", slot->commit, st.message);
	pgmlr_model_listing_present(listing, root, &files, &bytes, &st);
	if (st.code != PGMLR_OK)
	{
		strlcpy(slot->state, "error", sizeof(slot->state));
		snprintf(slot->detail, sizeof(slot->detail), "the cache could not be read: %s", st.message);
		return;
	}
	slot->files_present = files;
	slot->bytes_present = bytes;
	slot->checked_at = GetCurrentTimestamp();
	if (files == slot->files_wanted)
	{
		strlcpy(slot->state, "ready", sizeof(slot->state));
		snprintf(slot->detail + strlen(slot->detail), sizeof(slot->detail) - strlen(slot->detail),
				 "commit %s: every wanted file is in the cache", slot->commit);
	}
	else
	{
		strlcpy(slot->state, pass_ended ? "incomplete" : "downloading", sizeof(slot->state));
		snprintf(slot->detail + strlen(slot->detail), sizeof(slot->detail) - strlen(slot->detail),
				 pass_ended ? "commit %s: %lld of %lld files in the cache; pgml_repl.prefetch_queue() lists what failed, "
				 "retried next cycle" : "commit %s: %lld of %lld files in the cache so far",
				 slot->commit, (long long) files, (long long) slot->files_wanted);
	}
}

void
pgmlr_prefetch_models_pass(void)
{
	WantedRead	wanted;
	ModelsPass	models;
	PrefetchModelsView *before;
	PrefetchModelSlot *slots;
	SourcePass	pass;
	char	   *root;
	char	   *endpoint = NULL;
	char	   *token = NULL;
	bool		any = false;

	memset(&wanted, 0, sizeof(wanted));
	wanted.cxt = CurrentMemoryContext;
	if (!pgmlr_prefetch_in_transaction(read_wanted, &wanted))
		return;
	if (wanted.count == 0)
	{
		pgmlr_prefetch_record_models(0, NULL);
		return;
	}
	if ((root = pgmlr_prefetch_cache_root(true)) == NULL || !pgmlr_prefetch_hub_access(&endpoint, &token))
		return;

	before = palloc(sizeof(PrefetchModelsView));
	pgmlr_prefetch_read_models(before);
	slots = palloc0(sizeof(PrefetchModelSlot) * wanted.count);
	models.count = wanted.count;
	models.listings = palloc0(sizeof(pgmlr_model_listing *) * wanted.count);

	resolve_all(&wanted, root, endpoint, token, slots, &models, before);
	if (token)
		pfree(token);			/* the job reads the setting again */
	for (int i = 0; i < models.count; i++)
		any = any || models.listings[i] != NULL;
	pgmlr_prefetch_record_models(wanted.count, slots);

	if (any && !ShutdownRequestPending)
	{
		memset(&pass, 0, sizeof(pass));
		pass.kind = PGMLR_SOURCE_HUB;
		pass.add_rows = add_model_rows;
		pass.add_rows_arg = &models;
		pgmlr_prefetch_run_rows_pass(root, &pass);
		for (int i = 0; i < models.count; i++)
			if (models.listings[i] != NULL)
				settle(&slots[i], models.listings[i], root, pass.ran_to_end);
		pgmlr_prefetch_record_models(wanted.count, slots);
	}
	for (int i = 0; i < models.count; i++)
		if (models.listings[i] != NULL)
			pgmlr_model_listing_free(models.listings[i]);
}
