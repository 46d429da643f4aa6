/*
 * package: packing a build's program as a task (package.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "error.h"
#include "fs.h"
#include "package.h"
#include "xmalloc.h"

#ifndef HYDRO_VERSION
#define HYDRO_VERSION "unknown"
#endif

struct pkg {
	struct package_src src;
	struct cache *cache;
	char *dir;		/* the deployment's */
	char *outdir;		/* DIR/.hydro/packages */
	char *name;		/* its task and cache entry: "package LABEL" */
	struct task *task;
	char *why;		/* NULL: up to date */
	char *path;		/* the package, once made or known up to date */
};

static void
package_key(const struct pkg *p, struct hash *out)
{
	struct hasher h;
	char hex[HASH_HEX_LEN];

	hash_hex(p->src.key, hex);
	hasher_init(&h);
	hasher_addstr(&h, "hydro package 1");
	hasher_addstr(&h, HYDRO_VERSION);
	hasher_addstr(&h, archive_ext());
	hasher_addstr(&h, p->src.kind);
	hasher_addstr(&h, p->src.triple);
	hasher_addstr(&h, hex);
	hasher_final(&h, out);
}

/* the reason to make it, or NULL with p->path set */
static char *
package_decide(struct pkg *p)
{
	const struct cache_entry *e;
	struct hash key, h;
	int r;

	if (!p->src.known)
		return xstrdup("its program is to be built");
	e = cache_get(p->cache, p->name);
	if (!e)
		return xstrdup("never made");
	package_key(p, &key);
	if (memcmp(e->key.b, key.b, HASH_LEN) || e->noutputs != 1)
		return xstrdup("its program changed");
	r = cache_hash_file(p->cache, e->outputs[0].path, &h);
	if (r != 0)
		return xasprintf("'%s' is missing", e->outputs[0].path);
	if (memcmp(h.b, e->outputs[0].hash.b, HASH_LEN))
		return xasprintf("'%s' was changed", e->outputs[0].path);
	p->path = xstrdup(e->outputs[0].path);
	return NULL;
}

static int
package_run(struct task *task, void *arg)
{
	struct pkg *p = arg;
	const char *exe = *p->src.exe;
	struct package_file f;
	struct package pk;
	struct cache_file out;
	struct cache_entry e;
	char *name, *path;
	struct hash key;
	int ret;

	if (!exe)
		return error("%s: no program was built", p->name);
	cache_drop(p->cache, p->name);
	name = package_program(exe);
	f.path = exe;
	f.name = name;
	pk.kind = p->src.kind;
	pk.triple = p->src.triple;
	pk.files = &f;
	pk.nfiles = 1;
	ret = archive_pack(&pk, p->outdir, &path, &out.hash);
	free(name);
	if (ret < 0)
		return -1;
	package_key(p, &key);
	out.path = path;
	memset(&e, 0, sizeof(e));
	e.name = p->name;
	e.key = key;
	e.outputs = &out;
	e.noutputs = 1;
	task_set_key(task, &key);
	if (cache_put(p->cache, &e, p->dir) < 0) {
		free(path);
		return -1;
	}
	free(p->path);
	p->path = path;
	return 0;
}

struct pkg *
package_add(struct cache *cache, const char *dir, struct graph *g,
            struct task *after, const struct package_src *src)
{
	struct pkg *p = xcalloc(1, sizeof(*p));
	struct hash key;

	p->src = *src;
	p->cache = cache;
	p->dir = xstrdup(dir);
	p->outdir = path_join(dir, ".hydro/packages");
	p->name = xasprintf("package %s", src->label);
	p->task = graph_add(g, TASK_PACKAGE, p->name, package_run, p);
	task_after(p->task, after);
	p->why = package_decide(p);
	if (!p->why) {
		package_key(p, &key);
		task_set_key(p->task, &key);
		task_uptodate(p->task);
	}
	return p;
}

const char *
package_path(const struct pkg *p)
{
	return p ? p->path : NULL;
}

struct task *
package_task(const struct pkg *p)
{
	return p ? p->task : NULL;
}

char *
package_program(const char *exe)
{
	return xasprintf("bin/%s", path_basename(exe));
}

const char *
package_why(const struct pkg *p)
{
	return p ? p->why : NULL;
}

void
package_free(struct pkg *p)
{
	if (!p)
		return;
	free(p->dir);
	free(p->outdir);
	free(p->name);
	free(p->why);
	free(p->path);
	free(p);
}
