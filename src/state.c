#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "fs.h"
#include "json.h"
#include "map.h"
#include "state.h"
#include "str.h"
#include "xmalloc.h"

#define STATE_VERSION 1

/* the journal is folded into state.json when it grows past this */
#define JOURNAL_MAX (1024 * 1024)

struct record {
	char *kind;
	char *id;
	char *key;		/* kind, NUL, id: its name in the index */
	size_t keylen;
	char *status;		/* "creating" or "created" */
	cJSON *details;		/* an object */
};

struct state {
	char *dir;		/* DIR/.hydro */
	char *path;		/* DIR/.hydro/state.json */
	char *logpath;		/* DIR/.hydro/state.log, the journal */
	int logfd;		/* open for appending, or -1 */
	size_t logbytes;	/* its size */
	int logfound;		/* it was there when opened, even empty: a kill
				 * between its creation and its first write */
	int lockfd;
	dev_t lockdev;
	ino_t lockino;
	pthread_mutex_t mu;
	struct record *recs;
	size_t nrecs, caprecs;
	struct map index;	/* key -> place in recs */
	int index_stale;	/* a record was dropped: places moved */
	int exists;		/* state.json is on disk */
};

static pthread_mutex_t kinds_mu = PTHREAD_MUTEX_INITIALIZER;
static const struct state_kind **kinds;
static size_t nkinds, capkinds;

void
state_register(const struct state_kind *kind)
{
	size_t i;

	pthread_mutex_lock(&kinds_mu);
	for (i = 0; i < nkinds; i++)
		if (!strcmp(kinds[i]->name, kind->name))
			break;
	if (i == nkinds) {
		ALLOC_GROW(kinds, nkinds, capkinds);
		kinds[nkinds++] = kind;
	}
	pthread_mutex_unlock(&kinds_mu);
}

const struct state_kind *
state_find_kind(const char *name)
{
	const struct state_kind *k = NULL;
	size_t i;

	pthread_mutex_lock(&kinds_mu);
	for (i = 0; i < nkinds; i++)
		if (!strcmp(kinds[i]->name, name))
			k = kinds[i];
	pthread_mutex_unlock(&kinds_mu);
	return k;
}

static void
record_release(struct record *r)
{
	free(r->kind);
	free(r->id);
	free(r->key);
	free(r->status);
	cJSON_Delete(r->details);
}

/* state.json: every record, replacing the file; with st->mu held */
static int
save(struct state *st, int durable)
{
	cJSON *root, *arr;
	char *text;
	size_t i;
	int ret;

	root = cJSON_CreateObject();
	cJSON_AddNumberToObject(root, "version", STATE_VERSION);
	cJSON_AddNumberToObject(root, "pid", (double)getpid());
	arr = cJSON_AddArrayToObject(root, "records");
	for (i = 0; i < st->nrecs; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "kind", st->recs[i].kind);
		cJSON_AddStringToObject(o, "id", st->recs[i].id);
		cJSON_AddStringToObject(o, "status", st->recs[i].status);
		cJSON_AddItemReferenceToObject(o, "details", st->recs[i].details);
		cJSON_AddItemToArray(arr, o);
	}
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		fatal("out of memory");
	/* a process cannot outlive this machine's crash: its records need
	 * rename's atomicity (a kill -9 leaves the old file or the new) but
	 * not durability, and a run that starts many processes must not wait
	 * on the disk for each */
	ret = write_file_replace(st->path, text, strlen(text), 0600, durable);
	if (ret == 0)
		st->exists = 1;
	free(text);
	return ret;
}

static int is_durable(const char *kind);

/* Fold the journal into state.json: the snapshot first, then the journal
 * goes (a kill between the two replays the journal over a snapshot that
 * has it already, which changes nothing: each entry sets what it says).
 * With no record left, both files go.  With st->mu held. */
static int
compact(struct state *st)
{
	int durable = 0;
	size_t i;

	if (st->nrecs) {
		for (i = 0; i < st->nrecs; i++)
			durable |= is_durable(st->recs[i].kind);
		if (save(st, durable) < 0)
			return -1;
	} else if (st->exists && unlink(st->path) < 0 && errno != ENOENT) {
		return error_errno("cannot remove '%s'", st->path);
	} else {
		st->exists = 0;
	}
	if (st->logfd >= 0) {
		close(st->logfd);
		st->logfd = -1;
	}
	if ((st->logbytes || path_exists(st->logpath)) && unlink(st->logpath) < 0 &&
	    errno != ENOENT)
		return error_errno("cannot remove '%s'", st->logpath);
	st->logbytes = 0;
	st->logfound = 0;
	return 0;
}

/*
 * Append one entry to the journal, state.log: a line of compact JSON,
 * {"op": "add"|"update"|"remove", "kind", "id", "details"}, in one write()
 * to a descriptor opened with O_APPEND, so that a kill -9 leaves it whole
 * or absent; fdatasync'ed for durable kinds only.  A run that starts a
 * hundred processes writes three short lines for each, instead of the
 * whole file three times.  With st->mu held.
 */
static int
journal(struct state *st, const char *op, const char *kind, const char *id,
        cJSON *details, int durable)
{
	cJSON *o = cJSON_CreateObject();
	char *text;
	size_t len;
	ssize_t w;
	int created = 0, ret = 0;

	cJSON_AddStringToObject(o, "op", op);
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddStringToObject(o, "id", id);
	if (details)
		cJSON_AddItemReferenceToObject(o, "details", details);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		fatal("out of memory");
	len = strlen(text);
	text[len++] = '\n';	/* over the NUL: the line is text[0..len) */
	if (st->logfd < 0) {
		created = !path_exists(st->logpath);
		st->logfd = open(st->logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (st->logfd < 0) {
			free(text);
			return error_errno("cannot open '%s'", st->logpath);
		}
	}
	do
		w = write(st->logfd, text, len);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)len) {
		if (w >= 0)
			errno = ENOSPC;
		ret = error_errno("cannot write '%s'", st->logpath);
		/* no torn line in the middle: the next entry starts clean */
		if (w > 0 && ftruncate(st->logfd, (off_t)st->logbytes) < 0) {
			/* a torn last line is ignored on reading */
		}
	} else {
		st->logbytes += len;
		if (durable) {
			int r;

			do
				r = fdatasync(st->logfd);
			while (r < 0 && errno == EINTR);
			if (r < 0)
				ret = error_errno("cannot write '%s'", st->logpath);
		}
		if (durable && created)
			fsync_dir(st->logpath);
	}
	free(text);
	if (ret == 0 && (st->logbytes > JOURNAL_MAX || !st->nrecs) && compact(st) < 0)
		warning("the journal '%s' could not be folded into '%s'; it stays valid",
		        st->logpath, st->path);
	return ret;
}

static int
is_durable(const char *kind)
{
	const struct state_kind *k = state_find_kind(kind);

	/* an unknown kind may be anything: keep it safe */
	return !k || k->durable;
}

static struct record *find(struct state *st, const char *kind, const char *id);

/* a record at the end of recs, in the index; status and details are the
 * caller's to set */
static struct record *
new_record(struct state *st, const char *kind, const char *id)
{
	size_t klen = strlen(kind), ilen = strlen(id);
	struct record *r;

	ALLOC_GROW(st->recs, st->nrecs, st->caprecs);
	r = &st->recs[st->nrecs++];
	memset(r, 0, sizeof(*r));
	r->kind = xstrdup(kind);
	r->id = xstrdup(id);
	r->keylen = klen + 1 + ilen;
	r->key = xmalloc(r->keylen);
	memcpy(r->key, kind, klen + 1);
	memcpy(r->key + klen + 1, id, ilen);
	if (!st->index_stale)
		map_put(&st->index, r->key, r->keylen, (long)(st->nrecs - 1));
	return r;
}

/* the three changes, in memory; with st->mu held */
static struct record *
apply_add(struct state *st, const char *kind, const char *id, cJSON *details)
{
	struct record *r = find(st, kind, id);

	if (r) {
		free(r->status);
		cJSON_Delete(r->details);
	} else {
		r = new_record(st, kind, id);
	}
	r->status = xstrdup("creating");
	r->details = details ? details : cJSON_CreateObject();
	return r;
}

static void
drop(struct state *st, struct record *r)
{
	record_release(r);
	memmove(r, r + 1, (size_t)(st->recs + st->nrecs - r - 1) * sizeof(*r));
	st->nrecs--;
	st->index_stale = 1;
}

/* merge a copy of details into the record */
static void
apply_update(struct record *r, const cJSON *details)
{
	const cJSON *item;

	free(r->status);
	r->status = xstrdup("created");
	cJSON_ArrayForEach(item, details) {
		cJSON_DeleteItemFromObjectCaseSensitive(r->details, item->string);
		cJSON_AddItemToObject(r->details, item->string, cJSON_Duplicate(item, 1));
	}
}

/* replay the journal over the snapshot; a torn last line (a crash of the
 * machine in its write) is ignored */
static int
load_journal(struct state *st)
{
	struct buf b = BUF_INIT;
	char *p, *end, *nl;
	size_t lineno = 0;

	if (!path_exists(st->logpath))
		return 0;
	if (read_file(st->logpath, &b) < 0)
		return -1;
	st->logbytes = b.len;
	st->logfound = 1;
	for (p = b.data, end = b.data + b.len; p < end; p = nl + 1) {
		const char *op, *kind, *id;
		cJSON *o, *details;
		struct record *r;

		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;	/* torn: never acted on, since its write never returned */
		*nl = '\0';
		o = cJSON_Parse(p);
		op = json_str(o, "op");
		kind = json_str(o, "kind");
		id = json_str(o, "id");
		if (!op || !kind || !id) {
			warning("'%s': skipping a damaged line %zu", st->logpath, lineno);
			cJSON_Delete(o);
			continue;
		}
		details = cJSON_GetObjectItemCaseSensitive(o, "details");
		r = find(st, kind, id);
		if (!strcmp(op, "add"))
			apply_add(st, kind, id, cJSON_IsObject(details) ?
			          cJSON_Duplicate(details, 1) : NULL);
		else if (!strcmp(op, "update") && r)
			apply_update(r, details);
		else if (!strcmp(op, "remove") && r)
			drop(st, r);
		cJSON_Delete(o);
	}
	buf_release(&b);
	return 0;
}

static int
load(struct state *st)
{
	cJSON *root, *arr, *o;
	long version;

	if (!path_exists(st->path))
		return load_journal(st);
	root = json_read_file(st->path);
	if (!root)
		return error("'%s' is damaged; fix it or remove it (what it lists may "
		             "still exist)", st->path);
	if (json_long(root, "version", &version) < 0 || version != STATE_VERSION) {
		cJSON_Delete(root);
		return error("'%s' has an unknown version; it was written by another "
		             "hydro", st->path);
	}
	arr = cJSON_GetObjectItemCaseSensitive(root, "records");
	cJSON_ArrayForEach(o, arr) {
		const char *kind = json_str(o, "kind"), *id = json_str(o, "id");
		const char *status = json_str(o, "status");
		cJSON *details = cJSON_GetObjectItemCaseSensitive(o, "details");
		struct record *r;

		if (!kind || !id) {
			warning("'%s': skipping a record without kind or id", st->path);
			continue;
		}
		r = new_record(st, kind, id);
		r->status = xstrdup(status ? status : "creating");
		r->details = cJSON_IsObject(details) ? cJSON_Duplicate(details, 1)
		                                     : cJSON_CreateObject();
	}
	cJSON_Delete(root);
	st->exists = 1;
	return load_journal(st);
}

/* The lock is a POSIX record lock (fcntl F_SETLK), not flock(): a child
 * forked to run a command, still waiting to exec, must not hold it after a
 * kill -9 of hydro, and record locks are not inherited across fork().  They
 * are per process, so a second state_open() of the same directory in this
 * process is caught here; and closing any descriptor of the lock file drops
 * the lock, so nothing else opens it. */
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static struct { dev_t dev; ino_t ino; pid_t pid; } *held;
static size_t nheld, capheld;

static int
held_find(dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < nheld; i++)
		if (held[i].dev == dev && held[i].ino == ino && held[i].pid == getpid())
			return (int)i;	/* a forked child holds no lock of its parent */
	return -1;
}

static long
read_pid(int fd)
{
	char text[32];
	ssize_t n;
	long pid = 0;

	n = pread(fd, text, sizeof(text) - 1, 0);
	text[n > 0 ? n : 0] = '\0';
	if (str_to_long(str_trim(text), 1, 1L << 30, &pid) < 0)
		pid = 0;
	return pid;
}

static int
lock(struct state *st)
{
	char *path = path_join(st->dir, "lock");
	struct flock fl;
	struct stat sb;
	char text[32];
	long pid;
	int n;

	pthread_mutex_lock(&held_mu);
	if (stat(path, &sb) == 0 && held_find(sb.st_dev, sb.st_ino) >= 0) {
		pthread_mutex_unlock(&held_mu);
		free(path);
		return error("'%s' is in use by this hydro already", st->dir);
	}
	st->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (st->lockfd < 0 || fstat(st->lockfd, &sb) < 0) {
		pthread_mutex_unlock(&held_mu);
		error_errno("cannot open '%s'", path);
		free(path);
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(st->lockfd, F_SETLK, &fl) < 0) {
		pthread_mutex_unlock(&held_mu);
		if (errno == EACCES || errno == EAGAIN) {
			/* the kernel knows the holder; the file may not say yet */
			memset(&fl, 0, sizeof(fl));
			fl.l_type = F_WRLCK;
			fl.l_whence = SEEK_SET;
			pid = fcntl(st->lockfd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK ?
			      (long)fl.l_pid : read_pid(st->lockfd);
			if (pid)
				error("'%s' is in use by another hydro (pid %ld); wait for it "
				      "to end or stop it", st->dir, pid);
			else
				error("'%s' is in use by another hydro; wait for it to end "
				      "or stop it", st->dir);
		} else {
			error_errno("cannot lock '%s'", path);
		}
		close(st->lockfd);
		st->lockfd = -1;
		free(path);
		return -1;
	}
	ALLOC_GROW(held, nheld, capheld);
	held[nheld].dev = sb.st_dev;
	held[nheld].ino = sb.st_ino;
	held[nheld].pid = getpid();
	nheld++;
	pthread_mutex_unlock(&held_mu);
	st->lockdev = sb.st_dev;
	st->lockino = sb.st_ino;

	/* a holder that ended cleanly emptied the file: a pid here is a crash */
	pid = read_pid(st->lockfd);
	if (pid && pid != (long)getpid())
		warning("taking over the lock of '%s' left by hydro pid %ld, which is "
		        "no longer running", st->dir, pid);
	n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (ftruncate(st->lockfd, 0) < 0 || pwrite(st->lockfd, text, (size_t)n, 0) != n)
		warning("cannot write the pid into '%s': %s", path, strerror(errno));
	free(path);
	return 0;
}

struct state *
state_open(const char *dir)
{
	struct state *st = xcalloc(1, sizeof(*st));

	st->dir = path_join(dir, ".hydro");
	st->path = path_join(st->dir, "state.json");
	st->logpath = path_join(st->dir, "state.log");
	st->lockfd = -1;
	st->logfd = -1;
	pthread_mutex_init(&st->mu, NULL);
	if (mkdir_p(st->dir, 0755) < 0 || lock(st) < 0 || load(st) < 0) {
		state_close(st);
		return NULL;
	}
	/* a journal left by a crash: fold it in now, while we hold the lock */
	if ((st->logbytes || st->logfound) && compact(st) < 0)
		warning("the journal '%s' could not be folded into '%s'; it stays valid",
		        st->logpath, st->path);
	return st;
}

void
state_close(struct state *st)
{
	size_t i;

	if (!st)
		return;
	/* fold the journal in, before the lock goes */
	if (st->lockfd >= 0 && (st->logfd >= 0 || st->logbytes)) {
		pthread_mutex_lock(&st->mu);
		if (compact(st) < 0)
			warning("the journal '%s' could not be folded into '%s'; it stays "
			        "valid", st->logpath, st->path);
		pthread_mutex_unlock(&st->mu);
	}
	if (st->logfd >= 0)
		close(st->logfd);
	if (st->lockfd >= 0) {
		int k;

		if (ftruncate(st->lockfd, 0) < 0) {
			/* the next holder will only warn */
		}
		pthread_mutex_lock(&held_mu);
		k = held_find(st->lockdev, st->lockino);
		if (k >= 0)
			held[k] = held[--nheld];
		if (!nheld) {
			free(held);
			held = NULL;
			capheld = 0;
		}
		close(st->lockfd);
		pthread_mutex_unlock(&held_mu);
	}
	for (i = 0; i < st->nrecs; i++)
		record_release(&st->recs[i]);
	free(st->recs);
	map_release(&st->index);
	pthread_mutex_destroy(&st->mu);
	free(st->dir);
	free(st->path);
	free(st->logpath);
	free(st);
}

const char *
state_dir(const struct state *st)
{
	return st->dir;
}

static struct record *
find(struct state *st, const char *kind, const char *id)
{
	size_t klen = strlen(kind), ilen = strlen(id), i;
	char *key = xmalloc(klen + 1 + ilen);
	long at;

	if (st->index_stale) {
		map_release(&st->index);
		for (i = 0; i < st->nrecs; i++)
			map_put(&st->index, st->recs[i].key, st->recs[i].keylen, (long)i);
		st->index_stale = 0;
	}
	memcpy(key, kind, klen + 1);
	memcpy(key + klen + 1, id, ilen);
	at = map_get(&st->index, key, klen + 1 + ilen);
	free(key);
	return at < 0 ? NULL : &st->recs[at];
}

int
state_add(struct state *st, const char *kind, const char *id, cJSON *details)
{
	struct record *r;
	int ret;

	pthread_mutex_lock(&st->mu);
	r = apply_add(st, kind, id, details);
	ret = journal(st, "add", kind, id, r->details, is_durable(kind));
	if (ret < 0) {
		/* not on disk: the caller will not create it, so forget it */
		r = find(st, kind, id);
		if (r)
			drop(st, r);
	}
	pthread_mutex_unlock(&st->mu);
	return ret;
}

int
state_update(struct state *st, const char *kind, const char *id, cJSON *details)
{
	struct record *r;
	int ret;

	pthread_mutex_lock(&st->mu);
	r = find(st, kind, id);
	if (!r) {
		pthread_mutex_unlock(&st->mu);
		cJSON_Delete(details);
		return error("internal error: no state record of %s '%s' to update", kind, id);
	}
	if (!details)
		details = cJSON_CreateObject();
	apply_update(r, details);
	ret = journal(st, "update", kind, id, details, is_durable(kind));
	cJSON_Delete(details);
	pthread_mutex_unlock(&st->mu);
	return ret;
}

int
state_remove(struct state *st, const char *kind, const char *id)
{
	struct record *r;
	int ret = 0;

	pthread_mutex_lock(&st->mu);
	r = find(st, kind, id);
	if (r) {
		drop(st, r);
		ret = journal(st, "remove", kind, id, NULL, is_durable(kind));
	}
	pthread_mutex_unlock(&st->mu);
	return ret;
}

size_t
state_count(struct state *st)
{
	size_t n;

	pthread_mutex_lock(&st->mu);
	n = st->nrecs;
	pthread_mutex_unlock(&st->mu);
	return n;
}

int
state_get(struct state *st, size_t i, const char **kind, const char **id,
          const char **status, const cJSON **details)
{
	int ret = -1;

	pthread_mutex_lock(&st->mu);
	if (i < st->nrecs) {
		if (kind)
			*kind = st->recs[i].kind;
		if (id)
			*id = st->recs[i].id;
		if (status)
			*status = st->recs[i].status;
		if (details)
			*details = st->recs[i].details;
		ret = 0;
	}
	pthread_mutex_unlock(&st->mu);
	return ret;
}

int
state_down(struct state *st, int dry_run)
{
	size_t i;
	int left = 0;

	/* newest first: what was created last may depend on what came before
	 * (a process on a VM) */
	for (i = state_count(st); i-- > 0; ) {
		const struct state_kind *k;
		char *kind, *id, *what;
		cJSON *details;

		pthread_mutex_lock(&st->mu);
		if (i >= st->nrecs) {
			pthread_mutex_unlock(&st->mu);
			continue;
		}
		kind = xstrdup(st->recs[i].kind);
		id = xstrdup(st->recs[i].id);
		details = cJSON_Duplicate(st->recs[i].details, 1);
		pthread_mutex_unlock(&st->mu);

		k = state_find_kind(kind);
		what = k && k->describe ? k->describe(kind, id, details)
		                        : xasprintf("%s '%s'", kind, id);
		if (!k) {
			error("cannot remove %s: this hydro knows no kind '%s'; it stays "
			      "in '%s'", what, kind, st->path);
			left++;
		} else if (dry_run) {
			printf("would remove %s\n", what);
		} else if (k->cleanup(kind, id, details) == 0) {
			if (state_remove(st, kind, id) < 0)
				left++;
		} else {
			error("could not remove %s; it stays in '%s' for the next 'hydro down'",
			      what, st->path);
			left++;
		}
		free(what);
		free(kind);
		free(id);
		cJSON_Delete(details);
	}
	return left ? -1 : 0;
}
