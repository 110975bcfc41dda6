/*
 * hf_cache/blob_read.c — pgml_repl.hf_blob_read(blob, offset, length) and
 * hf_blob_read_rows(blob, offset, length): a byte range of a blob that this
 * server's manifest lists and its cache holds complete, for the replicas that
 * fetch from it (primary or standby); the first as one bytea, the second as
 * rows of 256 KiB that stream (what the replicas' workers use).
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

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "fmgr.h"
#include "funcapi.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "pgml_repl/hf_cache.h"
#include "hf_cache/large_send.h"
#include "hf_cache/manifest_table.h"

PG_FUNCTION_INFO_V1(pgmlr_hf_blob_read);
PG_FUNCTION_INFO_V1(pgmlr_hf_blob_read_rows);

#define READ_CHUNK_BYTES (1024 * 1024)
/* hf_blob_read_rows(): bytes per row (the client hands 256 KiB pieces on). */
#define ROW_BYTES (256 * 1024)

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

/*
 * The checks both functions share, in this order: the name, the manifest,
 * the range against the manifest's size, a reader slot, the file. Returns the
 * open blob (owned by CurrentMemoryContext) and the bytes to read in *span.
 */
static pgmlr_hf_blob *
open_blob_range(const char *blob, int64 offset, int32 length, int64 *span)
{
	pgmlr_manifest_blob_entry *entries;
	int			n;
	pgmlr_status st;
	char	   *cache_dir;
	pgmlr_hf_blob *b;
	int64		size = 0;

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
	(void) pgmlr_hf_blob_read_span(entries[0].size, offset, length, &st);
	pgmlr_report_status(&st);

	cache_dir = pgmlr_take_string(pgmlr_hf_default_cache_dir(pgmlr_hf_cache_dir, &st));
	pgmlr_report_status(&st);

	take_reader_slot();
	b = open_listed_blob(cache_dir, blob, entries, n, &size);
	*span = pgmlr_hf_blob_read_span(size, offset, length, &st);
	pgmlr_report_status(&st);
	return b;
}

static void
read_blob_bytes(const pgmlr_hf_blob *b, int64 offset, char *out, int64 len)
{
	pgmlr_status st;

	for (int64 done = 0; done < len;)
	{
		int64		chunk = Min(len - done, READ_CHUNK_BYTES);

		CHECK_FOR_INTERRUPTS();
		if (!pgmlr_hf_blob_pread(b, offset + done, out + done, (size_t) chunk, &st))
			pgmlr_report_status(&st);
		done += chunk;
	}
}

Datum
pgmlr_hf_blob_read(PG_FUNCTION_ARGS)
{
	char	   *blob = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		offset = PG_GETARG_INT64(1);
	int64		span;
	pgmlr_hf_blob *b = open_blob_range(blob, offset, PG_GETARG_INT32(2), &span);
	bytea	   *result = (bytea *) palloc(VARHDRSZ + span);

	SET_VARSIZE(result, VARHDRSZ + span);
	read_blob_bytes(b, offset, VARDATA(result), span);
	PG_RETURN_BYTEA_P(result);
}

/*
 * PostgreSQL 15 writes its 8 KiB send buffer to the socket as it fills, and
 * sets TCP_NODELAY, so the rows would leave as 8 KiB segments: most of the
 * receiving replica's kernel time went to them. Corked while the rows are
 * produced, the kernel sends full segments; uncorking pushes the rest. Best
 * effort: a Unix socket (or an unknown option) just stays as it is. The
 * rows are sent between calls, so the cork lasts from the first call to the
 * end of the query; a cursor left open between FETCHes keeps it, and the
 * kernel then sends what is held within 200 ms.
 */
static void
set_tcp_cork(int on)
{
	if (MyProcPort == NULL || MyProcPort->sock == PGINVALID_SOCKET || MyProcPort->laddr.addr.ss_family == AF_UNIX)
		return;
	(void) setsockopt(MyProcPort->sock, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
}

/* Also on an ERROR or a cancel: the multi-call context goes with the query. */
static void
uncork_callback(void *arg)
{
	set_tcp_cork(0);
	pgmlr_large_send_end();
}

/*
 * hf_blob_read_rows(): the same range as rows of at most ROW_BYTES, value
 * per call, so that in a SELECT list each row is sent before the next is
 * read. Memory stays at one row on both sides (the client reads rows with
 * libpq's single-row mode), and no allocation grows with the range: a
 * bytea of the whole range costs three fresh copies of it per call (the
 * value, byteasend's copy, the message), and the page faults of touching
 * that fresh memory were most of the server's time.
 */
typedef struct blob_rows_state
{
	pgmlr_hf_blob *blob;
	int64		next;
	int64		end;
	bytea	   *row;			/* reused: a row is sent before the next call */
	MemoryContextCallback uncork;
} blob_rows_state;

Datum
pgmlr_hf_blob_read_rows(PG_FUNCTION_ARGS)
{
	FuncCallContext *fctx;
	blob_rows_state *state;
	int64		len;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		int64		span;

		fctx = SRF_FIRSTCALL_INIT();
		/* The handle and the row buffer live until the last row (or an error). */
		old = MemoryContextSwitchTo(fctx->multi_call_memory_ctx);
		state = palloc0(sizeof(blob_rows_state));
		state->next = PG_GETARG_INT64(1);
		state->blob = open_blob_range(text_to_cstring(PG_GETARG_TEXT_PP(0)), state->next,
									  PG_GETARG_INT32(2), &span);
		state->end = state->next + span;
		state->row = (bytea *) palloc(VARHDRSZ + Min(span, ROW_BYTES));
		state->uncork.func = uncork_callback;
		MemoryContextRegisterResetCallback(fctx->multi_call_memory_ctx, &state->uncork);
		set_tcp_cork(1);
		pgmlr_large_send_begin();
		MemoryContextSwitchTo(old);
		fctx->user_fctx = state;
	}
	fctx = SRF_PERCALL_SETUP();
	state = (blob_rows_state *) fctx->user_fctx;
	if (state->next >= state->end)
		SRF_RETURN_DONE(fctx);
	len = Min(state->end - state->next, ROW_BYTES);
	read_blob_bytes(state->blob, state->next, VARDATA(state->row), len);
	SET_VARSIZE(state->row, VARHDRSZ + len);
	state->next += len;
	SRF_RETURN_NEXT(fctx, PointerGetDatum(state->row));
}
