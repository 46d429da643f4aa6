#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cache.h"
#include "error.h"
#include "fs.h"
#include "hash.h"
#include "str.h"
#include "xmalloc.h"

#define CACHE_HEADER "hydro-cache 1\n"
/* a file changed less than this before it was hashed may change again
 * unseen within the same timestamp tick: it is hashed again next time */
#define RACY_NS 1000000000LL

struct filerec {
	char *path;		/* absolute */
	struct hash hash;
	long long size, ino;
	long long mtime, ctime;	/* nanoseconds */
	long long hashed;	/* wall clock, nanoseconds, when it was hashed */
};

struct entry {
	struct cache_entry e;
	char *dir;		/* what the entry's paths are relative to */
};

/* string-keyed open addressing; values own their key */
struct table {
	void **slots;
	size_t cap, n;
	const char *(*key)(const void *);
};

struct cache {
	char *dir, *index, *newdir;
	pthread_mutex_t mu;
	struct table files;	/* struct filerec by path */
	struct table entries;	/* struct entry by name */
	char **loose;		/* entry files to remove once folded in */
	size_t nloose, caploose;
	int dirty;
	int warned;
};

static const char *filerec_key(const void *p) { return ((const struct filerec *)p)->path; }
static const char *entry_key(const void *p) { return ((const struct entry *)p)->e.name; }

static uint64_t
strhash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static void **
table_slot(struct table *t, const char *key)
{
	size_t i;

	if (!t->cap)
		return NULL;
	for (i = strhash(key) & (t->cap - 1); t->slots[i]; i = (i + 1) & (t->cap - 1))
		if (!strcmp(t->key(t->slots[i]), key))
			return &t->slots[i];
	return &t->slots[i];
}

static void *
table_get(struct table *t, const char *key)
{
	void **s = table_slot(t, key);

	return s ? *s : NULL;
}

/* insert v, returning the value it replaces (or NULL) */
static void *
table_put(struct table *t, void *v)
{
	void **s, *old;
	size_t i;

	if ((t->n + 1) * 2 > t->cap) {
		struct table big = { NULL, t->cap ? t->cap * 2 : 64, 0, t->key };

		big.slots = xcalloc(big.cap, sizeof(void *));
		for (i = 0; i < t->cap; i++)
			if (t->slots[i])
				*table_slot(&big, t->key(t->slots[i])) = t->slots[i];
		big.n = t->n;
		free(t->slots);
		*t = big;
	}
	s = table_slot(t, t->key(v));
	old = *s;
	*s = v;
	if (!old)
		t->n++;
	return old;
}

/* remove and return the value of key, keeping the probe chains whole */
static void *
table_del(struct table *t, const char *key)
{
	void **s = table_slot(t, key), *old;
	size_t i, j;

	if (!s || !*s)
		return NULL;
	old = *s;
	*s = NULL;
	t->n--;
	i = (size_t)(s - t->slots);
	for (j = (i + 1) & (t->cap - 1); t->slots[j]; j = (j + 1) & (t->cap - 1)) {
		void *v = t->slots[j];

		t->slots[j] = NULL;
		*table_slot(t, t->key(v)) = v;
	}
	return old;
}

static void
filerec_free(void *p)
{
	struct filerec *f = p;

	free(f->path);
	free(f);
}

void
cache_entry_release(struct cache_entry *e)
{
	size_t i;

	for (i = 0; i < e->ninputs; i++)
		free(e->inputs[i].path);
	for (i = 0; i < e->noutputs; i++)
		free(e->outputs[i].path);
	for (i = 0; i < e->ndeps; i++)
		free(e->deps[i].path);
	free(e->inputs);
	free(e->outputs);
	free(e->deps);
	free(e->decl);
	free(e->name);
	memset(e, 0, sizeof(*e));
}

static void
entry_free(void *p)
{
	struct entry *e = p;

	if (!e)
		return;
	cache_entry_release(&e->e);
	free(e->dir);
	free(e);
}

static void
table_clear(struct table *t, void (*fn)(void *))
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		if (t->slots[i])
			fn(t->slots[i]);
	free(t->slots);
	t->slots = NULL;
	t->cap = t->n = 0;
}

static long long
ns(struct timespec ts)
{
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- reading ---- */

/* hash_parse() and sscanf() are too slow for a file read on every run: these
 * parse the index's fixed forms */
static signed char hexdig[256];
static pthread_once_t hexdig_once = PTHREAD_ONCE_INIT;

static void
hexdig_init(void)
{
	int i;

	for (i = 0; i < 256; i++)
		hexdig[i] = -1;
	for (i = 0; i < 10; i++)
		hexdig['0' + i] = (signed char)i;
	for (i = 0; i < 6; i++)
		hexdig['a' + i] = hexdig['A' + i] = (signed char)(10 + i);
}

/* 64 hex digits followed by a space or the end of the line */
static int
parse_hash(const char *s, struct hash *h)
{
	int i, hi, lo;

	for (i = 0; i < HASH_LEN; i++) {
		hi = hexdig[(unsigned char)s[2 * i]];
		lo = hexdig[(unsigned char)s[2 * i + 1]];
		if (hi < 0 || lo < 0)
			return -1;
		h->b[i] = (unsigned char)(hi << 4 | lo);
	}
	return s[64] == ' ' || s[64] == '\0' ? 0 : -1;
}

/* a decimal number (maybe negative) and the space after it; more digits
 * than a long long holds are damage */
static int
parse_num(char **p, long long *out)
{
	char *s = *p;
	long long v = 0;
	int neg = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		if (v > (LLONG_MAX - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s++ - '0');
	}
	if (*s != ' ')
		return -1;
	*out = neg ? -v : v;
	*p = s + 1;
	return 0;
}

static void
add_file(struct cache_file **v, size_t *n, const char *path, const struct hash *h)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[*n].path = xstrdup(path);
	(*v)[*n].hash = *h;
	(*n)++;
}

/* Parse one block, lines [p, end) up to and including its "s" line, already
 * checked; take its entry and file records. */
static void
take_block(struct cache *c, char *p, char *end)
{
	struct entry *e = xcalloc(1, sizeof(*e));
	struct filerec *f;
	struct hash h;
	char *line, *nl, *rest;

	for (line = p; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			break;	/* the checksum line, cut by read_blocks() */
		*nl = '\0';
		if (line[0] == 's' || !line[1])
			continue;
		if (line[0] == 'd') {
			free(e->dir);
			e->dir = xstrdup(line + 2);
			continue;
		}
		if (line[0] == 'c') {
			free(e->e.decl);
			e->e.decl = xstrdup(line + 2);
			continue;
		}
		if (strnlen(line, 2 + 64 + 1) < 2 + 64 + 1 || parse_hash(line + 2, &h) < 0)
			continue;
		rest = line + 2 + 64 + 1;
		switch (line[0]) {
		case 't':
			free(e->e.name);
			e->e.name = xstrdup(rest);
			e->e.key = h;
			break;
		case 'i':
			add_file(&e->e.inputs, &e->e.ninputs, rest, &h);
			break;
		case 'o':
			add_file(&e->e.outputs, &e->e.noutputs, rest, &h);
			break;
		case 'n':
			add_file(&e->e.deps, &e->e.ndeps, rest, &h);
			break;
		case 'f':
			f = xcalloc(1, sizeof(*f));
			f->hash = h;
			if (parse_num(&rest, &f->size) < 0 || parse_num(&rest, &f->ino) < 0 ||
			    parse_num(&rest, &f->mtime) < 0 || parse_num(&rest, &f->ctime) < 0 ||
			    parse_num(&rest, &f->hashed) < 0 || *rest != '/') {
				free(f);
				break;
			}
			f->path = xstrdup(rest);
			{
				struct filerec *old = table_get(&c->files, f->path);

				if (old && old->hashed > f->hashed) {
					filerec_free(f);
					break;
				}
				old = table_put(&c->files, f);
				if (old)
					filerec_free(old);
			}
			break;
		}
	}
	if (!e->e.name || !e->dir) {
		entry_free(e);
		return;
	}
	entry_free(table_put(&c->entries, e));
}

/* read an index or entry file: blocks, each ended by an "s" line with its
 * length (no checksum: reading it must not cost a hash, and damage can only
 * make a recorded hash differ, which means a rebuild) */
static int
read_blocks(struct cache *c, const char *path)
{
	struct buf b = BUF_INIT;
	char *p, *start, *end, *nl;
	long long len;
	int damaged = 0;

	if (read_file(path, &b) < 0)
		return -1;
	if (!str_starts(buf_str(&b), CACHE_HEADER)) {
		buf_release(&b);
		return 1;
	}
	end = b.data + b.len;
	start = p = b.data + strlen(CACHE_HEADER);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			damaged = 1;	/* a last line cut short */
			break;
		}
		if (p[0] == 's' && p[1] == ' ') {
			char *q = p + 2;

			*nl = ' ';
			if (parse_num(&q, &len) == 0 && q == nl + 1 && len == p - start) {
				*nl = '\0';
				take_block(c, start, nl + 1);
			} else {
				damaged = 1;
			}
			start = nl + 1;
		}
		p = nl + 1;
	}
	if (start < end)
		damaged = 1;	/* a block without its checksum */
	buf_release(&b);
	return damaged;
}

struct cache *
cache_open(const char *dir)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	struct dirent *de;
	DIR *d;
	int r;

	pthread_once(&hexdig_once, hexdig_init);
	c->dir = xstrdup(dir);
	c->index = path_join(dir, "index");
	c->newdir = path_join(dir, "new");
	c->files.key = filerec_key;
	c->entries.key = entry_key;
	pthread_mutex_init(&c->mu, NULL);
	if (path_exists(c->index)) {
		r = read_blocks(c, c->index);
		if (r) {
			warning("ignoring the damaged part of '%s'", c->index);
			c->dirty = 1;
		}
	}
	/* entries of tasks that ended after the last index was written (the
	 * run was killed): they are newer; and the temporaries of entries
	 * that a killed run was writing, which nobody else will remove */
	d = opendir(c->newdir);
	while (d && (de = readdir(d))) {
		char *path;

		if (de->d_name[0] == '.')
			continue;
		if (strchr(de->d_name, '.')) {
			if (path_stale_temp(de->d_name)) {
				path = path_join(c->newdir, de->d_name);
				unlink(path);
				free(path);
			}
			continue;
		}
		path = path_join(c->newdir, de->d_name);
		if (read_blocks(c, path))
			warning("ignoring the damaged cache entry '%s'", path);
		ALLOC_GROW(c->loose, c->nloose, c->caploose);
		c->loose[c->nloose++] = path;
		c->dirty = 1;
	}
	if (d)
		closedir(d);
	return c;
}

void
cache_free(struct cache *c)
{
	size_t i;

	if (!c)
		return;
	table_clear(&c->files, filerec_free);
	table_clear(&c->entries, entry_free);
	for (i = 0; i < c->nloose; i++)
		free(c->loose[i]);
	free(c->loose);
	pthread_mutex_destroy(&c->mu);
	free(c->dir);
	free(c->index);
	free(c->newdir);
	free(c);
}

/* ---- files ---- */

static int
stat_matches(const struct filerec *f, const struct stat *st)
{
	return f->size == (long long)st->st_size && f->ino == (long long)st->st_ino &&
	       f->mtime == ns(st->st_mtim) && f->ctime == ns(st->st_ctim);
}

static int
racy(const struct filerec *f)
{
	/* a write updates mtime; a touch that only moves ctime (chmod, utime)
	 * changes no contents, and ctime still takes part in stat_matches() */
	return f->mtime + RACY_NS > f->hashed;
}

int
cache_hash_file(struct cache *c, const char *path, struct hash *out)
{
	struct filerec *f, *old;
	struct timespec now;
	struct stat st;
	int fd, trusted = 0;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 1;
		return error_errno("cannot stat '%s'", path);
	}
	/* before open(): opening a FIFO would wait for a writer */
	if (!S_ISREG(st.st_mode))
		return error("cannot hash '%s': not a regular file", path);
	pthread_mutex_lock(&c->mu);
	f = table_get(&c->files, path);
	if (f && stat_matches(f, &st) && !racy(f)) {
		*out = f->hash;
		trusted = 1;
	}
	pthread_mutex_unlock(&c->mu);
	if (trusted)
		return 0;

	clock_gettime(CLOCK_REALTIME, &now);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		return error_errno("cannot open '%s'", path);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return error("cannot hash '%s': not a regular file", path);
	}
	if (hash_fd(fd, out) < 0) {
		error_errno("cannot read '%s'", path);
		close(fd);
		return -1;
	}
	close(fd);

	f = xcalloc(1, sizeof(*f));
	f->path = xstrdup(path);
	f->hash = *out;
	f->size = (long long)st.st_size;
	f->ino = (long long)st.st_ino;
	f->mtime = ns(st.st_mtim);
	f->ctime = ns(st.st_ctim);
	f->hashed = ns(now);
	pthread_mutex_lock(&c->mu);
	old = table_put(&c->files, f);
	if (old)
		filerec_free(old);
	c->dirty = 1;
	pthread_mutex_unlock(&c->mu);
	return 0;
}

/* ---- entries ---- */

const struct cache_entry *
cache_get(struct cache *c, const char *name)
{
	struct entry *e;

	pthread_mutex_lock(&c->mu);
	e = table_get(&c->entries, name);
	pthread_mutex_unlock(&c->mu);
	return e ? &e->e : NULL;
}

/* with c->mu held */
static void
emit_file(struct cache *c, struct buf *b, const char *dir, const char *path)
{
	char *abs = path_join(dir, path), hex[HASH_HEX_LEN];
	struct filerec *f = table_get(&c->files, abs);

	if (f) {
		hash_hex(&f->hash, hex);
		buf_printf(b, "f %s %lld %lld %lld %lld %lld %s\n", hex, f->size, f->ino,
		           f->mtime, f->ctime, f->hashed, f->path);
	}
	free(abs);
}

/* with c->mu held: an entry's block, ending with its checksum */
static void
emit_entry(struct cache *c, struct buf *b, const struct entry *e)
{
	char hex[HASH_HEX_LEN];
	size_t start = b->len, i;

	hash_hex(&e->e.key, hex);
	buf_printf(b, "t %s %s\nd %s\n", hex, e->e.name, e->dir);
	if (e->e.decl)
		buf_printf(b, "c %s\n", e->e.decl);
	for (i = 0; i < e->e.ndeps; i++) {
		hash_hex(&e->e.deps[i].hash, hex);
		buf_printf(b, "n %s %s\n", hex, e->e.deps[i].path);
	}
	for (i = 0; i < e->e.ninputs; i++) {
		hash_hex(&e->e.inputs[i].hash, hex);
		buf_printf(b, "i %s %s\n", hex, e->e.inputs[i].path);
	}
	for (i = 0; i < e->e.noutputs; i++) {
		hash_hex(&e->e.outputs[i].hash, hex);
		buf_printf(b, "o %s %s\n", hex, e->e.outputs[i].path);
	}
	for (i = 0; i < e->e.ninputs; i++)
		emit_file(c, b, e->dir, e->e.inputs[i].path);
	for (i = 0; i < e->e.noutputs; i++)
		emit_file(c, b, e->dir, e->e.outputs[i].path);
	buf_printf(b, "s %zu\n", b->len - start);
}

static int
printable(const char *s)
{
	return !strchr(s, '\n');
}

int
cache_put(struct cache *c, const struct cache_entry *src, const char *dir)
{
	struct entry *e;
	struct buf b = BUF_INIT;
	struct hash nh;
	char hex[HASH_HEX_LEN], *path;
	size_t i;
	int ret;

	/* a name or path with a newline cannot be written: never cached */
	if (!printable(src->name) || !printable(dir) ||
	    (src->decl && !printable(src->decl)))
		return 0;
	for (i = 0; i < src->ndeps; i++)
		if (!printable(src->deps[i].path))
			return 0;
	for (i = 0; i < src->ninputs; i++)
		if (!printable(src->inputs[i].path))
			return 0;
	for (i = 0; i < src->noutputs; i++)
		if (!printable(src->outputs[i].path))
			return 0;
	e = xcalloc(1, sizeof(*e));
	e->e.name = xstrdup(src->name);
	e->e.key = src->key;
	for (i = 0; i < src->ninputs; i++)
		add_file(&e->e.inputs, &e->e.ninputs, src->inputs[i].path, &src->inputs[i].hash);
	for (i = 0; i < src->noutputs; i++)
		add_file(&e->e.outputs, &e->e.noutputs, src->outputs[i].path,
		         &src->outputs[i].hash);
	for (i = 0; i < src->ndeps; i++)
		add_file(&e->e.deps, &e->e.ndeps, src->deps[i].path, &src->deps[i].hash);
	e->e.decl = src->decl ? xstrdup(src->decl) : NULL;
	e->dir = xstrdup(dir);

	buf_addstr(&b, CACHE_HEADER);
	pthread_mutex_lock(&c->mu);
	emit_entry(c, &b, e);
	entry_free(table_put(&c->entries, e));
	c->dirty = 1;
	pthread_mutex_unlock(&c->mu);

	hash_bytes(src->name, strlen(src->name), &nh);
	hash_hex(&nh, hex);
	hex[32] = '\0';
	path = path_join(c->newdir, hex);
	ret = mkdir_p(c->newdir, 0700);
	if (ret == 0)
		ret = write_file_atomic(path, b.data, b.len, 0600);
	pthread_mutex_lock(&c->mu);
	if (ret == 0) {
		ALLOC_GROW(c->loose, c->nloose, c->caploose);
		c->loose[c->nloose++] = path;
	} else {
		free(path);
	}
	pthread_mutex_unlock(&c->mu);
	buf_release(&b);
	return ret;
}

void
cache_drop(struct cache *c, const char *name)
{
	pthread_mutex_lock(&c->mu);
	entry_free(table_del(&c->entries, name));
	c->dirty = 1;
	pthread_mutex_unlock(&c->mu);
}

static int
by_name(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;

	return strcmp(x->e.name, y->e.name);
}

int
cache_save(struct cache *c)
{
	struct buf b = BUF_INIT;
	struct entry **v;
	size_t i, n = 0;
	int ret = 0;

	pthread_mutex_lock(&c->mu);
	if (!c->dirty) {
		pthread_mutex_unlock(&c->mu);
		return 0;
	}
	v = xcalloc(c->entries.n + 1, sizeof(*v));
	for (i = 0; i < c->entries.cap; i++)
		if (c->entries.slots[i])
			v[n++] = c->entries.slots[i];
	qsort(v, n, sizeof(*v), by_name);
	buf_addstr(&b, CACHE_HEADER);
	for (i = 0; i < n; i++)
		emit_entry(c, &b, v[i]);
	free(v);
	if (mkdir_p(c->dir, 0700) < 0 ||
	    write_file_atomic(c->index, b.data, b.len, 0600) < 0) {
		ret = -1;
	} else {
		/* what the index now holds need not be read twice */
		for (i = 0; i < c->nloose; i++) {
			unlink(c->loose[i]);
			free(c->loose[i]);
		}
		c->nloose = 0;
		c->dirty = 0;
	}
	pthread_mutex_unlock(&c->mu);
	buf_release(&b);
	return ret;
}
