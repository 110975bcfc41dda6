/*
 * auto_conf_file.h — reading postgresql.auto.conf and writing it at COMMIT.
 */
#ifndef PGMLR_AUTO_CONF_FILE_H
#define PGMLR_AUTO_CONF_FILE_H

#include "shim.h"
#include "pgml_repl/replication.h"

/*
 * Adds the file's entries to conf, parsed by PostgreSQL's own ParseConfigFp.
 * With raw_out, also returns the file's bytes (palloc; NULL when the file
 * does not exist) and their length. The caller holds AutoFileLock.
 */
extern void pgmlr_auto_conf_load(pgmlr_auto_conf *conf, char **raw_out, Size *raw_len);

/* Applies the settings queued by this transaction (later calls win). */
extern void pgmlr_auto_conf_overlay_pending(pgmlr_auto_conf *conf);

/*
 * Queues name = value settings for COMMIT. Every call of a transaction adds
 * to ONE commit action (AutoFileLock is not re-entrant); ROLLBACK TO
 * SAVEPOINT forgets what the subtransaction added.
 */
extern void pgmlr_auto_conf_queue(int count, const char *const *names, const char *const *values);

#endif							/* PGMLR_AUTO_CONF_FILE_H */
