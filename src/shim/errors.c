/*
 * errors.c — turns the core's status values into ereport().
 */
#include "shim.h"

#include "access/xlog.h"
#include "miscadmin.h"
#include "utils/memutils.h"

int
pgmlr_sqlstate(pgmlr_errcode code)
{
	switch (code)
	{
		case PGMLR_OK:
			return ERRCODE_SUCCESSFUL_COMPLETION;
		case PGMLR_ERR_INVALID_PARAMETER:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case PGMLR_ERR_INVALID_NAME:
			return ERRCODE_INVALID_NAME;
		case PGMLR_ERR_CONFIG_FILE:
			return ERRCODE_CONFIG_FILE_ERROR;
		case PGMLR_ERR_IO:
			return ERRCODE_IO_ERROR;
		case PGMLR_ERR_NOT_FOUND:
			return ERRCODE_UNDEFINED_FILE;
		case PGMLR_ERR_PERMISSION:
			return ERRCODE_INSUFFICIENT_PRIVILEGE;
		case PGMLR_ERR_OUT_OF_MEMORY:
			return ERRCODE_OUT_OF_MEMORY;
		case PGMLR_ERR_CANCELED:
			return ERRCODE_QUERY_CANCELED;
		case PGMLR_ERR_INTERNAL:
			break;
	}
	return ERRCODE_INTERNAL_ERROR;
}

void
pgmlr_report_status_at(int elevel, const pgmlr_status *status)
{
	if (status->code == PGMLR_OK)
		return;
	ereport(elevel,
			(errcode(pgmlr_sqlstate(status->code)),
			 errmsg("%s", status->message),
			 status->detail[0] ? errdetail("%s", status->detail) : 0,
			 status->hint[0] ? errhint("%s", status->hint) : 0));
}

void
pgmlr_report_status(const pgmlr_status *status)
{
	pgmlr_report_status_at(ERROR, status);
}

/*
 * Allocates without raising, so the core object can be released before any
 * ERROR is thrown.
 */
static void *
alloc_or_release(Size size, void *core_object, void (*release) (void *))
{
	void	   *p = MemoryContextAllocExtended(CurrentMemoryContext, size,
											   MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);

	if (p == NULL)
	{
		release(core_object);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	}
	return p;
}

char *
pgmlr_take_string(char *s)
{
	Size		len;
	char	   *copy;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	copy = (char *) alloc_or_release(len + 1, s, pgmlr_free);
	memcpy(copy, s, len + 1);
	pgmlr_free(s);
	return copy;
}

typedef struct OwnedHandle
{
	MemoryContextCallback cb;
	void	   *handle;
	void		(*free_fn) (void *);
} OwnedHandle;

static void
owned_handle_release(void *arg)
{
	OwnedHandle *owned = (OwnedHandle *) arg;

	if (owned->handle)
		owned->free_fn(owned->handle);
	owned->handle = NULL;
}

void
pgmlr_own_handle(void *handle, void (*free_fn) (void *))
{
	OwnedHandle *owned = (OwnedHandle *) alloc_or_release(sizeof(OwnedHandle), handle, free_fn);

	owned->handle = handle;
	owned->free_fn = free_fn;
	owned->cb.func = owned_handle_release;
	owned->cb.arg = owned;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &owned->cb);
}

void
pgmlr_require_superuser(const char *function_name)
{
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function %s", function_name),
				 errdetail("Only superusers may change the server's configuration files and roles.")));
}

void
pgmlr_refuse_on_standby(const char *message, const char *detail, const char *hint)
{
	if (!RecoveryInProgress())
		return;
	ereport(ERROR,
			(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
			 errmsg("%s", message),
			 errdetail("%s", detail),
			 errhint("%s", hint)));
}
