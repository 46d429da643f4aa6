/*
 * build: a deployment's make-style targets, as TASK_TARGET tasks, and its
 * Rust crates, as TASK_BUILD tasks that run cargo (cargo.h).
 *
 * Each target becomes one task that runs after the targets it needs.  Before
 * anything runs, build_add_targets() finds which targets are up to date (the
 * same key as last time, outputs unchanged: cache.h) and marks them so, on
 * this thread, without hashing files whose stat data did not change: a
 * no-op build starts no thread and no process.  A target that runs has its
 * command started in a process group of its own, recorded in the state file
 * (kind "command") from before it exists until it and whatever it started
 * are gone, its output kept and shown if it fails; a declared output
 * missing afterwards fails it.
 *
 * A crate service (without a standin) is built by one task per distinct
 * crate, binary, profile and features, shared by the services that use the
 * same; its key covers the crate's sources (and its path dependencies'), the
 * flags and the toolchain, and an up-to-date crate with its program intact
 * does not run cargo at all.
 *
 * `hydro build`, `hydro plan` and `hydro down` for a deployment are here too.
 */
#ifndef HYDRO_BUILD_H
#define HYDRO_BUILD_H

#include "deploy.h"
#include "graph.h"
#include "state.h"

struct build;

/* open the cache of d (d->dir/.hydro/cache); st (may be NULL: nothing is
 * recorded, for plan) is where commands are recorded */
struct build *build_open(struct deployment *d, struct state *st);
/* save the cache and free */
int build_close(struct build *b);

/* add a task per target of the deployment to g, each after the targets it
 * needs, those up to date marked so; -1 with the error reported */
int build_add_targets(struct build *b, struct graph *g);
/* the task of target t after build_add_targets() (a launch goes after it) */
struct task *build_task(const struct build *b, const struct target *t);
/* why target t would run ("never built", "input 'a.c' changed"...), or NULL
 * when it is up to date; valid after build_add_targets() */
const char *build_why(const struct build *b, const struct target *t);

/* add a build task per crate that the deployment's services run (those with
 * a standin are not built), those up to date marked so; -1 with the error
 * reported (a crate directory without Cargo.toml) */
int build_add_crates(struct build *b, struct graph *g);
/* the task that builds service s's crate, or NULL (a launch goes after it) */
struct task *build_crate_task(const struct build *b, const struct service *s);
/* the program built for service s: known once its task has ended well or
 * was up to date; NULL otherwise */
const char *build_crate_exe(const struct build *b, const struct service *s);

/* make the "command" kind of state records known (for hydro down) */
void build_register_state(void);

/* hydro build: make every target of d that is not up to date */
int build_deployment(struct deployment *d);
/* hydro plan: say what would be made and why; json: the model and the plan */
int build_plan(struct deployment *d, int json);
/* hydro down: remove what DIR/.hydro/state.json lists (path: a directory or
 * a config beside which .hydro lives; NULL: the current directory) */
int build_down(const char *path, int dry_run);

#endif
