/*
 * prune: how long hydro keeps what it makes, one policy for all of it
 * (docs/internals/packages.md, "Pruning").  Packages, here in
 * .hydro/packages and on SSH hosts in ~/.hydro/pkgs, go by their last use:
 * one used within PRUNE_RECENT stays, and of the others the PRUNE_KEEP
 * last used stay unless unused for PRUNE_AGE.  Run folders, here in
 * .hydro/runs and on SSH hosts in ~/.hydro/runs, go by count: the
 * prune_runs_kept() most recent stay, and so does every run still live;
 * nothing is removed whose name is not one hydro gives a run's folder, and
 * no symbolic link is followed.  The SSH backend hands these numbers to
 * the script that prunes there (ssh_proc.c).
 */
#ifndef HYDRO_PRUNE_H
#define HYDRO_PRUNE_H

#include <stddef.h>

#define PRUNE_RECENT (60 * 60)
#define PRUNE_AGE (7 * 24 * 60 * 60)
#define PRUNE_KEEP 8
/* run folders kept when HYDRO_KEEP_RUNS is not set */
#define PRUNE_RUNS 20

/* whether a package last used at when (seconds since the epoch) goes at
 * now, when kept others used later than it stay */
int prune_due(long long now, long long when, size_t kept);
/* the number of run folders kept: HYDRO_KEEP_RUNS (0 and up), else
 * PRUNE_RUNS, with a warning (once) for a value that is not a number */
unsigned prune_runs_kept(void);
/* whether name is one hydro gives a run's folder: DATE-TIME-PID-SEQ
 * (run.c), "20260105-143000-4242-0" */
int prune_run_name(const char *name);
/* remove the folders of runs (prune_run_name) in DIR/.hydro/runs beyond
 * the prune_runs_kept() most recent, but current's and those live() says
 * still run (their records in the state file); folders only, never through
 * a symbolic link; problems are warnings, for a run goes on without it */
void prune_runs(const char *dir, const char *current,
                int (*live)(const char *run, void *arg), void *arg);

#endif
