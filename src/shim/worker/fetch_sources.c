/*
 * worker/fetch_sources.c — a standby cycle's sources: the parsed
 * pgml_replication.hf_sources, and the upstream's conninfo built by the core
 * (pgml_repl/fetch_sources.h) from pgml_replication.upstream_conninfo or
 * primary_conninfo, whichever applies now. A log-shipping standby has no
 * primary_conninfo: it has no upstream and fetches from the Hub.
 */
#include "worker/fetch_sources.h"

#include <stdio.h>

#include "access/xlogrecovery.h"
#include "storage/fd.h"

#include "gucs.h"
#include "shim.h"

/* The name the upstream sees in pg_stat_activity.application_name. */
#define UPSTREAM_APPLICATION_NAME "pgml_replication prefetch"

const char *
pgmlr_source_name(pgmlr_fetch_source_kind kind)
{
	return kind == PGMLR_SOURCE_UPSTREAM ? "upstream" : "hub";
}

static bool
lists_upstream(const pgmlr_fetch_source_list *list)
{
	for (int i = 0; i < list->count; i++)
		if (list->kinds[i] == PGMLR_SOURCE_UPSTREAM)
			return true;
	return false;
}

void
pgmlr_cycle_sources(CycleSources *out)
{
	pgmlr_status st;
	const char *base;
	const char *setting;
	char	   *conninfo;
	char	   *label;

	memset(out, 0, sizeof(*out));
	/* The check hook refused anything else; a parse failure here is a bug. */
	if (!pgmlr_fetch_sources_parse(pgmlr_hf_sources, &out->list, &st))
	{
		pgmlr_report_status_at(WARNING, &st);
		out->list.count = 1;
		out->list.kinds[0] = PGMLR_SOURCE_HUB;
	}
	if (!lists_upstream(&out->list))
		return;

	if (pgmlr_upstream_conninfo && pgmlr_upstream_conninfo[0])
	{
		base = pgmlr_upstream_conninfo;
		setting = "pgml_replication.upstream_conninfo";
	}
	else if (PrimaryConnInfo && PrimaryConnInfo[0])
	{
		base = PrimaryConnInfo;
		setting = "primary_conninfo";
	}
	else
	{
		snprintf(out->no_upstream, sizeof(out->no_upstream),
				 "no upstream: primary_conninfo is empty (a log-shipping standby) and "
				 "pgml_replication.upstream_conninfo is not set");
		return;
	}

	conninfo = pgmlr_upstream_conninfo_from_primary(base, pgmlr_prefetch_database, UPSTREAM_APPLICATION_NAME, &st);
	if (conninfo == NULL)
	{
		snprintf(out->no_upstream, sizeof(out->no_upstream), "no upstream: %s: %s", setting, st.message);
		return;
	}
	out->upstream_conninfo = pgmlr_take_string(conninfo);
	label = pgmlr_upstream_label(out->upstream_conninfo, &st);
	strlcpy(out->upstream_label, label ? label : "upstream", sizeof(out->upstream_label));
	pgmlr_free(label);
}

int
pgmlr_reserve_fetch_fds(int want)
{
	int			got = 0;

	while (got < want && AcquireExternalFD())
		got++;
	return got;
}

void
pgmlr_release_fetch_fds(int n)
{
	while (n-- > 0)
		ReleaseExternalFD();
}
