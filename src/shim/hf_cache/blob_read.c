/*
 * hf_cache/blob_read.c — pgml_repl.hf_blob_read(blob, offset, length): a byte
 * range of a blob that this server's manifest lists and its cache holds
 * complete, for the replicas that fetch from it (primary or standby).
 *
 * The name is checked with the core's rules, the blob looked up in the
 * manifest (hf_cache/manifest_table.c), the range checked against the
 * manifest's size, then the core opens the file (no link followed, a regular
 * file of that size: src/core/hf_cache/blob_read.cpp) and the bytes are read
 * in 1 MiB chunks with CHECK_FOR_INTERRUPTS() in between, so cancel and
 * statement_timeout stop a read. Every core call returns a status; the
 * ereport() happens here, in C frames only. Nothing is written (no table, no
 * WAL), so a hot standby serves too.
 *
 * Readers are limited by pgml_replication.max_blob_readers: a reading
 * transaction holds one of that many slots until it ends. A slot is a
 * transaction-level lock in PostgreSQL's lock table (shared memory that
 * exists with or without shared_preload_libraries), so COMMIT, ROLLBACK, an
 * ERROR, a cancel and a FATAL exit all release it, and no counter can leak.
 */
#include "gucs.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "pgml_repl/hf_cache.h"
#include "hf_cache/manifest_table.h"

PG_FUNCTION_INFO_V1(pgmlr_hf_blob_read);

#define READ_CHUNK_BYTES (1024 * 1024)

/*
 * The slots' lock tags: database 0 (the limit is the server's, and SQL's
 * advisory locks always carry a database), "pgml", "bl" + slot number.
 */
static void
reader_slot_tag(LOCKTAG *tag, int slot)
{
	SET_LOCKTAG_ADVISORY(*tag, InvalidOid, 0x70676d6c, 0x626c0000 | (uint32) slot, 2);
}

/* One slot for this transaction, or ERROR when every slot is taken. */
static void
take_reader_slot(void)
{
	int			max = pgmlr_max_blob_readers;
	LOCKTAG		tag;

	if (max <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("serving blobs is off on this server"),
				 errdetail("pgml_replication.max_blob_readers is 0."),
				 errhint("Fetch the blob from another source, or set pgml_replication.max_blob_readers above 0 "
						 "on this server and reload.")));
	/* A transaction that already reads holds its slot (lowered limits aside). */
	for (int slot = 0; slot < max; slot++)
	{
		reader_slot_tag(&tag, slot);
		if (LockHeldByMe(&tag, ExclusiveLock))
			return;
	}
	for (int slot = 0; slot < max; slot++)
	{
		reader_slot_tag(&tag, slot);
		if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
			return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_TOO_MANY_CONNECTIONS),
			 errmsg("too many blob readers on this server"),
			 errdetail("pgml_replication.max_blob_readers = %d transactions are reading blobs now.", max),
			 errhint("Retry later, or raise pgml_replication.max_blob_readers on this server.")));
}

static void
check_blob_name(const char *blob)
{
	pgmlr_status st;
	char	   *problem = pgmlr_take_string(pgmlr_hf_name_problem(PGMLR_HF_BLOB, blob, &st));

	pgmlr_report_status(&st);
	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid blob name"),
				 errdetail("The %s.", problem),
				 errhint("Pass a blob name as pgml_repl.hf_manifest lists it: 40 or 64 lower-case hex digits.")));
}

/* Opens the first of the manifest's repos whose cache holds the blob complete. */
static pgmlr_hf_blob *
open_listed_blob(const char *cache_dir, const char *blob, const pgmlr_manifest_blob_entry *entries, int n,
				 int64 *size)
{
	pgmlr_status first;
	pgmlr_status st;

	pgmlr_status_clear(&first);
	for (int i = 0; i < n; i++)
	{
		pgmlr_hf_blob *b = pgmlr_hf_blob_open(cache_dir, entries[i].repo_type, entries[i].repo_id, blob,
											  entries[i].size, &st);

		if (b != NULL)
		{
			pgmlr_own_handle(b, pgmlr_hf_blob_close);
			*size = entries[i].size;
			return b;
		}
		if (first.code == PGMLR_OK)
			first = st;
	}
	pgmlr_report_status(&first);
	return NULL;				/* not reached */
}

Datum
pgmlr_hf_blob_read(PG_FUNCTION_ARGS)
{
	char	   *blob = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		offset = PG_GETARG_INT64(1);
	int32		length = PG_GETARG_INT32(2);
	pgmlr_manifest_blob_entry *entries;
	int			n;
	pgmlr_status st;
	char	   *cache_dir;
	pgmlr_hf_blob *b;
	int64		size = 0;
	int64		span;
	bytea	   *result;

	check_blob_name(blob);
	entries = pgmlr_manifest_table_find_blob(blob, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("blob %s is not in pgml_repl.hf_manifest", blob),
				 errdetail("This server serves only blobs that its manifest lists."),
				 errhint("On a standby, wait until the manifest row has replicated; on the primary, "
						 "run SELECT * FROM pgml_repl.publish_hf_manifest();")));
	/* Range errors first: they do not depend on the cache. */
	span = pgmlr_hf_blob_read_span(entries[0].size, offset, length, &st);
	pgmlr_report_status(&st);

	cache_dir = pgmlr_take_string(pgmlr_hf_default_cache_dir(pgmlr_hf_cache_dir, &st));
	pgmlr_report_status(&st);

	take_reader_slot();
	b = open_listed_blob(cache_dir, blob, entries, n, &size);
	span = pgmlr_hf_blob_read_span(size, offset, length, &st);
	pgmlr_report_status(&st);

	result = (bytea *) palloc(VARHDRSZ + span);
	SET_VARSIZE(result, VARHDRSZ + span);
	for (int64 done = 0; done < span;)
	{
		int64		chunk = Min(span - done, READ_CHUNK_BYTES);

		CHECK_FOR_INTERRUPTS();
		if (!pgmlr_hf_blob_pread(b, offset + done, VARDATA(result) + done, (size_t) chunk, &st))
			pgmlr_report_status(&st);
		done += chunk;
	}
	PG_RETURN_BYTEA_P(result);
}
