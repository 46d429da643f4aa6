/*
 * package: TASK_PACKAGE tasks.  Every program a build makes becomes a
 * package (archive.h) in .hydro/packages, the form in which it is uploaded
 * to a host, by a task that runs after the build's and is cached like one:
 * its key covers the build's key, the service kind and the target, and an
 * up-to-date package whose file is intact is not made again.
 */
#ifndef HYDRO_PACKAGE_H
#define HYDRO_PACKAGE_H

#include "cache.h"
#include "graph.h"
#include "hash.h"

struct pkg;

/* the build a package is made from; the pointers stay valid while the
 * package task lives */
struct package_src {
	const char *label;	/* the build's, for the task's name "package LABEL" */
	const char *kind;	/* "crate", "hf" */
	const char *triple;	/* the target the program was built for */
	char *const *exe;	/* where the program's path is, once built */
	const struct hash *key;	/* the build's key, final once its task ended */
	int known;		/* the build is up to date: *exe and *key hold now */
};

/* add a task to g that packs src's program after task `after`, marked up
 * to date when it is; dir is the deployment's (packages go in
 * DIR/.hydro/packages) and cache the build's; never fails */
struct pkg *package_add(struct cache *cache, const char *dir, struct graph *g,
                        struct task *after, const struct package_src *src);
/* the package's path, known once its task has ended well or was up to date;
 * NULL otherwise */
const char *package_path(const struct pkg *p);
/* the package's task (an upload goes after it) */
struct task *package_task(const struct pkg *p);
/* the name in a package of the program built at exe ("bin/NAME"), new */
char *package_program(const char *exe);
/* why it would be made, or NULL: up to date */
const char *package_why(const struct pkg *p);
/* free it (its task belongs to the graph) */
void package_free(struct pkg *p);

#endif
