/*
 * package: packing a build's program as a task (package.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "buf.h"
#include "error.h"
#include "fs.h"
#include "package.h"
#include "prune.h"
#include "str.h"
#include "xmalloc.h"

#ifndef HYDRO_VERSION
#define HYDRO_VERSION "unknown"
#endif

static void
discard(enum error_level level, const char *msg, void *arg)
{
}

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

/* the key: the build's, what the package is for, and each file it packs
 * with its contents' hash; -1 with the error reported (a file missing) */
static int
package_key(const struct pkg *p, struct hash *out)
{
	struct hasher h;
	char hex[HASH_HEX_LEN];
	struct hash fh;
	size_t i;
	int r = 0;

	hash_hex(p->src.key, hex);
	hasher_init(&h);
	hasher_addstr(&h, "hydro package 2");
	hasher_addstr(&h, HYDRO_VERSION);
	hasher_addstr(&h, archive_ext());
	hasher_addstr(&h, p->src.kind);
	hasher_addstr(&h, p->src.triple);
	hasher_addstr(&h, hex);
	for (i = 0; i < p->src.nfiles && r == 0; i++) {
		char *full = path_join(p->dir, p->src.files[i]);

		r = cache_hash_file(p->cache, full, &fh);
		if (r > 0)
			error("cannot pack '%s' (files=): no such file", p->src.files[i]);
		free(full);
		hash_hex(&fh, hex);
		hasher_addstr(&h, p->src.files[i]);
		hasher_addstr(&h, hex);
	}
	hasher_final(&h, out);
	return r ? -1 : 0;
}

/* the reason to make it, or NULL with p->path set */
static char *
package_decide(struct pkg *p)
{
	const struct cache_entry *e;
	struct hash key, h;
	void *arg;
	error_reporter *fn = error_get_reporter(&arg);
	int r;

	if (!p->src.known)
		return xstrdup("its program is to be built");
	if (p->src.files_pending)
		return xstrdup("a target is to make a file it packs");
	e = cache_get(p->cache, p->name);
	if (!e)
		return xstrdup("never made");
	/* a file gone is said by the packing, which fails on it */
	error_set_reporter(discard, NULL);
	r = package_key(p, &key);
	error_set_reporter(fn, arg);
	if (r < 0)
		return xstrdup("a file it packs is missing");
	if (memcmp(e->key.b, key.b, HASH_LEN) || e->noutputs != 1)
		return xstrdup(p->src.nfiles ? "its program or a file it packs changed" :
		               "its program changed");
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
	struct package_file *f;
	struct package pk;
	struct cache_file out;
	struct cache_entry e;
	char *path, **names;
	struct hash key;
	size_t i, n = 1 + p->src.nfiles;
	int ret;

	if (!exe)
		return error("%s: no program was built", p->name);
	cache_drop(p->cache, p->name);
	if (package_key(p, &key) < 0)
		return -1;
	f = xcalloc(n, sizeof(*f));
	names = xcalloc(2 * n, sizeof(*names));
	names[0] = package_program(exe);
	f[0].path = exe;
	f[0].name = names[0];
	for (i = 1; i < n; i++) {
		names[i] = xasprintf("files/%s", p->src.files[i - 1]);
		names[n + i] = path_join(p->dir, p->src.files[i - 1]);
		f[i].path = names[n + i];
		f[i].name = names[i];
	}
	pk.kind = p->src.kind;
	pk.triple = p->src.triple;
	pk.files = f;
	pk.nfiles = n;
	ret = archive_pack(&pk, p->outdir, &path, &out.hash);
	for (i = 0; i < 2 * n; i++)
		free(names[i]);
	free(names);
	free(f);
	if (ret < 0)
		return -1;
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
	if (!p->why && package_key(p, &key) == 0) {
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

/* --- pruning ------------------------------------------------------------ */

/* by the policy of prune.h: a package used within the hour is never
 * removed (a run may be about to upload it) */

struct used {
	char *name;
	long long when;		/* last used, in seconds since the epoch */
	int keep;
};

static int
by_recent(const void *a, const void *b)
{
	const struct used *x = a, *y = b;

	return x->keep != y->keep ? y->keep - x->keep :
	       x->when != y->when ? (x->when < y->when ? 1 : -1) : strcmp(x->name, y->name);
}

/* NAME WHEN lines of the usage file into *v */
static void
read_used(const char *path, struct used **v, size_t *n)
{
	struct buf b = BUF_INIT;
	char **lines;
	size_t i, nl;

	if (!path_exists(path) || read_file(path, &b) < 0) {
		buf_release(&b);
		return;
	}
	lines = str_split(buf_str(&b), '\n', &nl);
	for (i = 0; i < nl; i++) {
		char *sp = strchr(lines[i], ' ');

		if (!sp)
			continue;
		*sp = '\0';
		*v = xreallocarray(*v, *n + 1, sizeof(**v));
		(*v)[*n].name = xstrdup(lines[i]);
		(*v)[*n].when = strtoll(sp + 1, NULL, 10);
		(*v)[*n].keep = 0;
		(*n)++;
	}
	str_free_list(lines);
	buf_release(&b);
}

static struct used *
find_used(struct used *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

int
package_prune(const char *dir, const char *const *keep, size_t nkeep)
{
	char *pkgs = path_join(dir, ".hydro/packages");
	char *lockp = path_join(pkgs, ".lock"), *usedp = path_join(pkgs, ".used");
	struct used *old = NULL, *cur = NULL, *u;
	size_t nold = 0, ncur = 0, i, kept = 0;
	long long now = (long long)time(NULL);
	struct buf out = BUF_INIT;
	struct dirent *e;
	struct stat st;
	DIR *d;
	int fd, ret = 0;

	if (!(d = opendir(pkgs))) {
		free(pkgs);
		free(lockp);
		free(usedp);
		return 0;	/* nothing packed yet */
	}
	/* one pruner at a time, and none while another records its use */
	fd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		ret = error_errno("cannot lock '%s'", lockp);
		goto out;
	}
	read_used(usedp, &old, &nold);
	while ((e = readdir(d))) {
		char *full;

		if (e->d_name[0] == '.')
			continue;
		full = path_join(pkgs, e->d_name);
		if (path_stale_temp(e->d_name)) {
			unlink(full);	/* a packer that died */
		} else if ((str_ends(e->d_name, ".tar.zst") || str_ends(e->d_name, ".tar.gz")) &&
		           lstat(full, &st) == 0 && S_ISREG(st.st_mode)) {
			cur = xreallocarray(cur, ncur + 1, sizeof(*cur));
			u = &cur[ncur++];
			u->name = xstrdup(e->d_name);
			u->when = (long long)st.st_mtime;
			u->keep = 0;
			if ((u = find_used(old, nold, e->d_name)) && u->when > cur[ncur - 1].when)
				cur[ncur - 1].when = u->when;
			for (i = 0; i < nkeep; i++)
				if (!strcmp(path_basename(keep[i]), e->d_name))
					cur[ncur - 1].keep = 1;
			if (cur[ncur - 1].keep)
				cur[ncur - 1].when = now;
		}
		free(full);
	}
	if (ncur)
		qsort(cur, ncur, sizeof(*cur), by_recent);
	for (i = 0; i < ncur; i++) {
		u = &cur[i];
		if (!u->keep && prune_due(now, u->when, kept)) {
			char *full = path_join(pkgs, u->name);

			if (unlink(full) < 0)
				warning("cannot remove the old package '%s': %s", full, strerror(errno));
			free(full);
			continue;
		}
		if (!u->keep)
			kept++;
		buf_printf(&out, "%s %lld\n", u->name, u->when);
	}
	if (write_file_atomic(usedp, out.data ? out.data : "", out.len, 0644) < 0)
		ret = -1;
out:
	if (fd >= 0)
		close(fd);	/* and the lock with it */
	closedir(d);
	for (i = 0; i < nold; i++)
		free(old[i].name);
	for (i = 0; i < ncur; i++)
		free(cur[i].name);
	free(old);
	free(cur);
	buf_release(&out);
	free(pkgs);
	free(lockp);
	free(usedp);
	return ret;
}
