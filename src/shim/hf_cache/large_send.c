/*
 * hf_cache/large_send.c — a row of hf_blob_read_rows() (256 KiB) leaves in
 * one write instead of 32: PostgreSQL 15 copies every message through its
 * 8 KiB send buffer and sends the buffer each time it fills, so a replica
 * streaming a blob cost the serving backend one memcpy and one send() per
 * 8 KiB, most of its CPU time against a web server's sendfile(). While the
 * rows stream, PqCommMethods (the hook parallel workers use to redirect
 * their output) is swapped for methods that flush what is buffered, then
 * write a large message's header and body straight to the socket with
 * secure_write() (TLS included, blocking, interrupts handled as for any
 * client write); small messages and everything else take the usual path,
 * in order. PostgreSQL 17 sends large messages this way itself, so the
 * detour is compiled for older servers only.
 */
#include "postgres.h"

#include "hf_cache/large_send.h"

#include <errno.h>

#include "libpq/libpq.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "port/pg_bswap.h"
#include "tcop/tcopprot.h"

#if PG_VERSION_NUM < 170000

/* Below this, the 8 KiB buffer's copies cost less than a write of their own. */
#define LARGE_MESSAGE_BYTES (64 * 1024)

static const PQcommMethods *usual_methods = NULL;
static int	large_send_depth = 0;

/* Like pqcomm.c's internal_flush on failure: the connection is gone. */
static int
write_all(const char *p, size_t len)
{
	while (len > 0)
	{
		ssize_t		n;

		MyProcPort->noblock = false;
		n = secure_write(MyProcPort, (void *) p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			ereport(COMMERROR,
					(errcode_for_socket_access(),
					 errmsg("could not send data to client: %m")));
			ClientConnectionLost = 1;
			InterruptPending = 1;
			return EOF;
		}
		p += n;
		len -= (size_t) n;
	}
	return 0;
}

static int
large_putmessage(char msgtype, const char *s, size_t len)
{
	char		header[5];
	uint32		n32;

	if (len < LARGE_MESSAGE_BYTES)
		return usual_methods->putmessage(msgtype, s, len);
	/* What the buffer holds goes first: the stream stays in order. */
	if (usual_methods->flush() != 0)
		return EOF;
	header[0] = msgtype;
	n32 = pg_hton32((uint32) (len + 4));
	memcpy(header + 1, &n32, 4);
	if (write_all(header, sizeof(header)) != 0)
		return EOF;
	return write_all(s, len);
}

static void
usual_comm_reset(void)
{
	usual_methods->comm_reset();
}

static int
usual_flush(void)
{
	return usual_methods->flush();
}

static int
usual_flush_if_writable(void)
{
	return usual_methods->flush_if_writable();
}

static bool
usual_is_send_pending(void)
{
	return usual_methods->is_send_pending();
}

static void
usual_putmessage_noblock(char msgtype, const char *s, size_t len)
{
	usual_methods->putmessage_noblock(msgtype, s, len);
}

static const PQcommMethods large_send_methods = {
	usual_comm_reset,
	usual_flush,
	usual_flush_if_writable,
	usual_is_send_pending,
	large_putmessage,
	usual_putmessage_noblock
};

void
pgmlr_large_send_begin(void)
{
	/* Only a client connection's own socket; a parallel worker's queue stays. */
	if (large_send_depth++ > 0 || MyProcPort == NULL || whereToSendOutput != DestRemote)
		return;
	usual_methods = PqCommMethods;
	PqCommMethods = &large_send_methods;
}

void
pgmlr_large_send_end(void)
{
	if (large_send_depth == 0 || --large_send_depth > 0)
		return;
	if (PqCommMethods == &large_send_methods)
		PqCommMethods = usual_methods;
	usual_methods = NULL;
}

#else

void
pgmlr_large_send_begin(void)
{
}

void
pgmlr_large_send_end(void)
{
}

#endif
