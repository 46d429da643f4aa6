/*
 * build: a deployment's make-style targets, as TASK_TARGET tasks.  Its Rust
 * crates are built in the same build (struct build) by crate.h.
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
 */
#ifndef HYDRO_BUILD_H
#define HYDRO_BUILD_H

#include "cli.h"
#include "deploy.h"
#include "graph.h"
#include "state.h"

struct build;

/* open the cache of d (d->dir/.hydro/cache); st (may be NULL: nothing is
 * recorded, for plan) is where commands are recorded; o the invocation's
 * options (NULL: the defaults) */
struct build *build_open(struct deployment *d, struct state *st, const struct options *o);
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

/* one step of a build, as plan shows it: a target, or a crate (crate.h) */
struct build_step {
	const char *name;	/* the target's name, or the crate's label */
	const char *users;	/* a crate's services ("'a', 'b'"), or NULL */
	const char *why;	/* why it would run, or NULL: up to date */
	struct task *task;
};

/* the i-th target as a step in *out, after build_add_targets(); 0 past the
 * last */
int build_step(const struct build *b, size_t i, struct build_step *out);

/* make the "command" kind of state records known (for hydro down) */
void build_register_state(void);

#endif
