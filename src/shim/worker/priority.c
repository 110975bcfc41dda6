/*
 * worker/priority.c — the worker yields the CPU and the disk to queries.
 *
 * On Linux nice and the I/O priority belong to a thread, and a new thread
 * copies its creator's. The fetch core starts its threads (a writer/hasher
 * per transfer, curl's resolver, ...) from the worker's main thread while a
 * job runs, so setting both here, before each job, covers every thread of
 * that job. Threads of a running job keep the values they started with: a
 * reload applies from the next cycle.
 */
#include "worker/worker.h"

#include <errno.h>
#include <limits.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

#ifdef __linux__
/*
 * From <linux/ioprio.h>, defined here because older kernel headers declare
 * some of them as enum members (invisible to #ifdef) or not at all.
 */
#define PGMLR_IOPRIO_CLASS_SHIFT	13
#define PGMLR_IOPRIO_CLASS_BE		2
#define PGMLR_IOPRIO_WHO_PROCESS	1
#define PGMLR_IOPRIO_VALUE(class, level) (((class) << PGMLR_IOPRIO_CLASS_SHIFT) | (level))
#endif

/* Values whose failure was logged: a failure is said once, not every cycle. */
static int	nice_warned = INT_MIN;

#ifdef __linux__
static int	io_warned = INT_MIN;

/*
 * Best-effort class, with the level the kernel derives from nice for a
 * thread that never set one (nice -20..19 -> level 0..7).
 */
static int
set_io_priority(int nice_value)
{
	int			level = (nice_value + 20) / 5;

	return (int) syscall(SYS_ioprio_set, PGMLR_IOPRIO_WHO_PROCESS, 0,
						 PGMLR_IOPRIO_VALUE(PGMLR_IOPRIO_CLASS_BE, level));
}
#endif

/*
 * Applies pgml_replication.prefetch_nice to the calling (main) thread.
 * Idempotent and cheap: called before every cycle.
 */
void
pgmlr_prefetch_apply_priority(void)
{
	int			want = pgmlr_prefetch_nice;
	int			have;

	errno = 0;
	have = getpriority(PRIO_PROCESS, 0);	/* this thread, on Linux */
	if (have == -1 && errno != 0)
		have = INT_MIN;			/* unknown: set it anyway */

	if (have != want && setpriority(PRIO_PROCESS, 0, want) != 0)
	{
		int			save_errno = errno;

		if (nice_warned != want)
		{
			nice_warned = want;
			errno = save_errno;
			if ((save_errno == EACCES || save_errno == EPERM) && have != INT_MIN)
				ereport(WARNING,
						(errmsg("pgml_replication prefetch could not lower its nice value from %d to %d: %m",
								have, want),
						 errdetail("Raising a process's CPU priority needs the CAP_SYS_NICE capability; the worker keeps nice %d.",
								   have),
						 errhint("Restart the server to apply a lower value: the worker then starts from the server's own priority.")));
			else
				ereport(WARNING,
						(errmsg("pgml_replication prefetch could not set its nice value to %d: %m", want)));
		}
		if (have == INT_MIN)
			return;
		want = have;			/* the I/O priority follows the nice it has */
	}
	else
		nice_warned = INT_MIN;

#ifdef __linux__
	if (set_io_priority(want) != 0)
	{
		if (io_warned != want)
			ereport(WARNING,
					(errmsg("pgml_replication prefetch could not set its I/O priority to best-effort level %d: %m",
							(want + 20) / 5)));
		io_warned = want;
	}
	else
		io_warned = INT_MIN;
#endif
}
