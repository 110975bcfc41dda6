/*
 * worker/standby_report.c — a standby cycle's reports to shared memory
 * (worker/state.c): progress, the queue with the source asked last and
 * what an earlier source failed on, and the refused manifest rows.
 */
#include "worker/standby_report.h"

#include <stdio.h>

#include "lib/stringinfo.h"
#include "utils/timestamp.h"

#include "worker/fetch_sources.h"
#include "worker/state.h"

static const char *
queue_status(pgmlr_fetch_state state)
{
	switch (state)
	{
		case PGMLR_FETCH_PENDING:
			return "pending";
		case PGMLR_FETCH_ACTIVE:
			return "downloading";
		case PGMLR_FETCH_BACKOFF:
			return "retrying";
		case PGMLR_FETCH_FAILED:
			return "failed";
		case PGMLR_FETCH_HELD:
			return "held";
		case PGMLR_FETCH_DONE:
			break;
	}
	return "done";
}

/* Refusals of the previous cycle, so an unchanged set is logged once. */
static char last_refusals_logged[PREFETCH_ERROR_LEN + 32] = "";

int64
pgmlr_standby_publish_refusals(pgmlr_fetch_job *job)
{
	int			total = pgmlr_fetch_refused_count(job);
	int			shown = Min(total, PREFETCH_REFUSED_SLOTS);
	PrefetchQueueSlot *slots = palloc0(sizeof(PrefetchQueueSlot) * PREFETCH_REFUSED_SLOTS);
	StringInfoData detail;
	char		first[PREFETCH_ERROR_LEN] = "";
	char		summary[sizeof(last_refusals_logged)];

	initStringInfo(&detail);
	for (int k = 0; k < shown; k++)
	{
		pgmlr_fetch_refusal r;

		if (!pgmlr_fetch_refused_item(job, k, &r))
			break;
		snprintf(slots[k].repo, sizeof(slots[k].repo), "%s:%s", r.repo_type, r.repo_id);
		strlcpy(slots[k].revision, r.revision, sizeof(slots[k].revision));
		strlcpy(slots[k].path, r.path, sizeof(slots[k].path));
		strlcpy(slots[k].status, "refused", sizeof(slots[k].status));
		strlcpy(slots[k].last_error, r.reason, sizeof(slots[k].last_error));
		if (k == 0)
			snprintf(first, sizeof(first), "manifest row refused: %s: %s", r.label, r.reason);
		if (k < 10)
			appendStringInfo(&detail, "%s%s: %s", k > 0 ? "\n" : "", r.label, r.reason);
	}
	if (total > 10)
		appendStringInfo(&detail, "\n... and %d more", total - 10);

	pgmlr_prefetch_record_refusals(total, shown, slots);
	pfree(slots);

	snprintf(summary, sizeof(summary), "%d|%s", total, first);
	if (total > 0)
	{
		pgmlr_prefetch_record_error(first);
		if (strcmp(summary, last_refusals_logged) != 0)
			ereport(WARNING,
					(errmsg("pgml_replication prefetch: %d manifest rows refused", total),
					 errdetail_internal("%s", detail.data),
					 errhint("Nothing is written for them. SELECT * FROM pgml_repl.prefetch_queue() WHERE status = 'refused' "
							 "lists them; fix or delete them on the primary, where the CHECK constraints of "
							 "pgml_repl.hf_manifest refuse such rows unless they were dropped.")));
	}
	strlcpy(last_refusals_logged, summary, sizeof(last_refusals_logged));
	pfree(detail.data);
	return total;
}

typedef struct EarlierFailure
{
	char		blob[72];
	char		why[PREFETCH_ERROR_LEN];
} EarlierFailure;

static void
queue_slot_error(const SourcePass *pass, const pgmlr_fetch_queue_entry *e, char *out, size_t outlen)
{
	EarlierFailure *earlier = NULL;

	if (pass->earlier_failures != NULL)
		earlier = hash_search(pass->earlier_failures, e->blob, HASH_FIND, NULL);
	if (earlier == NULL)
		strlcpy(out, e->last_error, outlen);
	else if (e->last_error[0] == '\0')
		strlcpy(out, earlier->why, outlen);
	else
		snprintf(out, outlen, "%s (before: %s)", e->last_error, earlier->why);
}

void
pgmlr_standby_publish_progress(pgmlr_fetch_job *job, const SourcePass *pass, const char *state, const char *detail)
{
	const pgmlr_fetch_progress *p = &pass->progress;
	int			queued = pgmlr_fetch_queue_count(job);
	int			shown = Min(queued, PREFETCH_QUEUE_SLOTS);
	PrefetchQueueSlot *slots = palloc0(sizeof(PrefetchQueueSlot) * PREFETCH_QUEUE_SLOTS);
	char		failure[PREFETCH_ERROR_LEN] = "";
	TimestampTz now = GetCurrentTimestamp();

	for (int k = 0; k < shown; k++)
	{
		pgmlr_fetch_queue_entry e;

		if (!pgmlr_fetch_queue_item(job, k, &e))
			break;
		snprintf(slots[k].repo, sizeof(slots[k].repo), "%s:%s", e.repo_type, e.repo_id);
		strlcpy(slots[k].revision, e.revision, sizeof(slots[k].revision));
		strlcpy(slots[k].status, queue_status(e.state), sizeof(slots[k].status));
		strlcpy(slots[k].source, pgmlr_source_name(pass->kind), sizeof(slots[k].source));
		strlcpy(slots[k].path, e.path, sizeof(slots[k].path));
		strlcpy(slots[k].blob, e.blob, sizeof(slots[k].blob));
		slots[k].size = e.size;
		slots[k].attempts = e.attempts;
		queue_slot_error(pass, &e, slots[k].last_error, sizeof(slots[k].last_error));
		slots[k].next_try_at = e.next_try_ms >= 0 ? TimestampTzPlusMilliseconds(now, e.next_try_ms) : 0;
		if (failure[0] == '\0' && e.last_error[0] != '\0')
			snprintf(failure, sizeof(failure), "%s:%s %s: %s", e.repo_type, e.repo_id, e.path, e.last_error);
	}
	if (failure[0] == '\0' && p->last_publish_error[0] != '\0')
		strlcpy(failure, p->last_publish_error, sizeof(failure));

	pgmlr_prefetch_record_progress(p, state, detail, failure, queued, shown, slots);
	pgmlr_prefetch_record_pause(p->paused_ms > 0 ? TimestampTzPlusMilliseconds(now, p->paused_ms) : 0);
	pfree(slots);
}

HTAB *
pgmlr_standby_collect_failures(pgmlr_fetch_job *job)
{
	HASHCTL		ctl;
	HTAB	   *failures;
	int			queued = pgmlr_fetch_queue_count(job);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(((EarlierFailure *) NULL)->blob);
	ctl.entrysize = sizeof(EarlierFailure);
	ctl.hcxt = CurrentMemoryContext;
	failures = hash_create("pgml_replication earlier failures", Max(queued, 16), &ctl,
						   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	for (int k = 0; k < queued; k++)
	{
		pgmlr_fetch_queue_entry e;
		EarlierFailure *f;

		if (!pgmlr_fetch_queue_item(job, k, &e))
			break;
		if (e.last_error[0] == '\0' || e.blob[0] == '\0')
			continue;
		f = hash_search(failures, e.blob, HASH_ENTER, NULL);
		strlcpy(f->why, e.last_error, sizeof(f->why));
	}
	return failures;
}

