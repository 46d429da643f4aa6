/*
 * progress: what a run shows while its tasks go.
 *
 * On a terminal watched by a person (term_interactive(2)), one live line per
 * running task with its time, redrawn in place, and finished tasks scrolling
 * above, as cargo does:
 *     [3/12] target gen 4.2s
 * In a pipe or under CI, one plain line per event; with --json, one JSON
 * object per line on stdout; with -q, only failures; with -v, the commands.
 * Everything is written from the scheduler's thread (sched.h's events).
 */
#ifndef HYDRO_PROGRESS_H
#define HYDRO_PROGRESS_H

#include "cli.h"
#include "sched.h"

struct progress;

/* a display for the invocation's options o (NULL: the defaults) */
struct progress *progress_new(const struct options *o);
/* clear the live lines and free */
void progress_free(struct progress *p);
/* the events to hand to sched_run(), with the progress as their argument */
const struct sched_events *progress_events(void);

#endif
