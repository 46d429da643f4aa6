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

/* the journal is folded into state.json when it grows past this (and past
 * state.json itself) */
#define JOURNAL_MAX (1024 * 1024)

struct record {
	char *kind;
	char *id;
	char *key;		/* kind, NUL, id: its name in the index */
	size_t keylen;
	char *status;		/* "creating" or "created" */
	cJSON *details;		/* an object */
	int dead;		/* dropped: only key is left, until squeeze() */
};

struct state {
	char *dir;		/* DIR/.hydro */
	char *path;		/* DIR/.hydro/state.json */
	char *prevpath;		/* DIR/.hydro/state.json.prev, the last good copy */
	char *logpath;		/* DIR/.hydro/state.log, the journal */
	int logfd;		/* open for appending, or -1 */
	size_t logbytes;	/* its size */
	size_t snapbytes;	/* the size of state.json, as last written or read */
	int logfound;		/* it was there when opened, even empty: a kill
				 * between its creation and its first write */
	int lockfd;
	dev_t lockdev;
	ino_t lockino;
	pthread_mutex_t mu;
	/* records in the order they were added; a dropped one stays as a dead
	 * place, so that dropping is O(1) and `hydro down` of n records is
	 * O(n), until squeeze() closes the gaps */
	struct record *recs;
	size_t nrecs, caprecs;
	size_t ndead;		/* dead places in recs */
	struct map index;	/* key -> place in recs (dead places too) */
	int exists;		/* state.json is on disk */
	int recovered;		/* state.json was damaged: write it anew */
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

/* free what a record holds but its key */
static void
record_clear(struct record *r)
{
	free(r->kind);
	free(r->id);
	free(r->status);
	cJSON_Delete(r->details);
	r->kind = r->id = r->status = NULL;
	r->details = NULL;
}

static void
record_release(struct record *r)
{
	record_clear(r);
	free(r->key);
}

/* the number of records that are not dead; with st->mu held */
static size_t
live(const struct state *st)
{
	return st->nrecs - st->ndead;
}

/* close the gaps dead records left, and index the places anew; O(n), so
 * only when many are dead or a caller counts places; with st->mu held */
static void
squeeze(struct state *st)
{
	size_t i, n = 0;

	if (!st->ndead)
		return;
	map_release(&st->index);
	for (i = 0; i < st->nrecs; i++) {
		if (st->recs[i].dead) {
			free(st->recs[i].key);
			continue;
		}
		st->recs[n] = st->recs[i];
		map_put(&st->index, st->recs[n].key, st->recs[n].keylen, (long)n);
		n++;
	}
	st->nrecs = n;
	st->ndead = 0;
}

/* Once state.json is written, a second name for it, state.json.prev, is
 * the last good copy: load() falls back on it when state.json is damaged
 * (a full disk, a hand edit).  A hard link costs no copy; where there are
 * none, there is no good copy, which load() copes with. */
static void
keep_good_copy(struct state *st)
{
	if (unlink(st->prevpath) < 0 && errno != ENOENT)
		return;
	if (link(st->path, st->prevpath) < 0) {
		/* no good copy */
	}
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
		cJSON *o;

		if (st->recs[i].dead)
			continue;
		o = cJSON_CreateObject();

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
	if (ret == 0) {
		st->exists = 1;
		st->snapbytes = strlen(text);
		keep_good_copy(st);
	}
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

	if (live(st)) {
		for (i = 0; i < st->nrecs; i++)
			durable |= !st->recs[i].dead && is_durable(st->recs[i].kind);
		if (save(st, durable) < 0)
			return -1;
	} else if (st->exists && unlink(st->path) < 0 && errno != ENOENT) {
		return error_errno("cannot remove '%s'", st->path);
	} else {
		st->exists = 0;
		unlink(st->prevpath);
	}
	st->recovered = 0;
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
		st->logfd = open_private(st->logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (st->logfd < 0) {
			free(text);
			return -1;
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
	/* folded once it outgrows both 1 MiB and the snapshot: n changes cost
	 * O(n) in all, however many records there are */
	if (ret == 0 && ((st->logbytes > JOURNAL_MAX && st->logbytes > st->snapbytes) ||
	                 !live(st)) && compact(st) < 0)
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

	if (st->ndead > 64 && st->ndead > st->nrecs / 2)
		squeeze(st);
	ALLOC_GROW(st->recs, st->nrecs, st->caprecs);
	r = &st->recs[st->nrecs++];
	memset(r, 0, sizeof(*r));
	r->kind = xstrdup(kind);
	r->id = xstrdup(id);
	r->keylen = klen + 1 + ilen;
	r->key = xmalloc(r->keylen);
	memcpy(r->key, kind, klen + 1);
	memcpy(r->key + klen + 1, id, ilen);
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

/* O(1): the place stays, dead, its key still in the index (find() skips
 * it) */
static void
drop(struct state *st, struct record *r)
{
	record_clear(r);
	r->dead = 1;
	st->ndead++;
}

/* merge a copy of details into the record; details that are not an object
 * (a damaged journal) change only the status */
static void
apply_update(struct record *r, const cJSON *details)
{
	const cJSON *item;

	free(r->status);
	r->status = xstrdup("created");
	if (!cJSON_IsObject(details))
		return;
	cJSON_ArrayForEach(item, details) {
		cJSON_DeleteItemFromObjectCaseSensitive(r->details, item->string);
		cJSON_AddItemToObject(r->details, item->string, cJSON_Duplicate(item, 1));
	}
}

/* read one of the state's files whole (never through a symbolic link,
 * only if it is this user's own); 0 when it is not there, 1 when read, -1
 * with the error reported */
static int
read_state_file(const char *path, struct buf *b)
{
	int fd, ret;

	if (!path_exists(path))
		return 0;
	fd = open_private(path, O_RDONLY, 0);
	if (fd < 0)
		return -1;
	ret = read_fd(fd, path, b);
	close(fd);
	return ret < 0 ? -1 : 1;
}

/* replay the journal over the snapshot; a torn last line (a crash of the
 * machine in its write) is ignored */
static int
load_journal(struct state *st)
{
	struct buf b = BUF_INIT;
	char *p, *end, *nl;
	size_t lineno = 0;
	int r;

	r = read_state_file(st->logpath, &b);
	if (r <= 0)
		return r;
	st->logbytes = b.len;
	st->logfound = 1;
	/* empty: a kill between its creation and its first write */
	if (!b.len) {
		buf_release(&b);
		return 0;
	}
	for (p = b.data, end = b.data + b.len; p < end; p = nl + 1) {
		const char *op, *kind, *id;
		cJSON *o, *details;
		struct record *rec;

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
		rec = find(st, kind, id);
		if (!strcmp(op, "add"))
			apply_add(st, kind, id, cJSON_IsObject(details) ?
			          cJSON_Duplicate(details, 1) : NULL);
		else if (!strcmp(op, "update") && rec)
			apply_update(rec, details);
		else if (!strcmp(op, "remove") && rec)
			drop(st, rec);
		cJSON_Delete(o);
	}
	buf_release(&b);
	return 0;
}

/* one record of state.json, replacing one of the same kind and id; 0, or
 * -1 when o is no record */
static int
load_record(struct state *st, const cJSON *o)
{
	const char *kind = json_str(o, "kind"), *id = json_str(o, "id");
	const char *status = json_str(o, "status");
	const cJSON *details = cJSON_GetObjectItemCaseSensitive(o, "details");
	struct record *r;

	if (!kind || !id)
		return -1;
	r = find(st, kind, id);
	if (r) {
		free(r->status);
		cJSON_Delete(r->details);
	} else {
		r = new_record(st, kind, id);
	}
	r->status = xstrdup(status && !strcmp(status, "created") ? "created" : "creating");
	r->details = cJSON_IsObject(details) ? cJSON_Duplicate(details, 1)
	                                     : cJSON_CreateObject();
	return 0;
}

/* the records of a whole state.json; root is an object with a version */
static void
load_records(struct state *st, const cJSON *root, const char *path)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(root, "records"))
		if (load_record(st, o) < 0)
			warning("'%s': skipping a record without kind or id", path);
}

/* the records that can be read out of a damaged state.json: every object
 * in it with a kind and an id that parses whole; their number */
static size_t
salvage(struct state *st, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *stop;
	size_t n = 0;
	cJSON *o;

	while (p < end && (p = memchr(p, '{', (size_t)(end - p)))) {
		stop = NULL;
		o = cJSON_ParseWithLengthOpts(p, (size_t)(end - p), &stop, 0);
		if (o && cJSON_IsObject(o) && load_record(st, o) == 0 && stop > p) {
			n++;
			p = stop;
		} else {
			p++;
		}
		cJSON_Delete(o);
	}
	return n;
}

/* a whole state.json of this version, or NULL: *bad says whether it is
 * damaged rather than another hydro's */
static cJSON *
parse_state(const struct buf *b, int *bad)
{
	cJSON *root = cJSON_ParseWithLength(b->data ? b->data : "", b->len);
	long version;

	*bad = 0;
	if (!cJSON_IsObject(root) || !cJSON_GetObjectItemCaseSensitive(root, "version") ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "records")))
		*bad = 1;
	else if (json_long(root, "version", &version) == 0 && version == STATE_VERSION)
		return root;
	cJSON_Delete(root);
	return NULL;
}

/*
 * state.json is damaged (truncated, empty, garbage: a full disk or a hand
 * edit; hydro itself replaces it whole): take the records of the last good
 * copy, then every record that can still be read in it, and say what
 * happened.  The damaged file is kept beside as state.json.damaged, and a
 * whole state.json is written once the journal is replayed.
 */
static void
recover(struct state *st, const struct buf *damaged)
{
	struct buf b = BUF_INIT;
	char *kept = xasprintf("%s.damaged", st->path);
	size_t from_copy = 0, read_back;
	cJSON *root = NULL;
	int bad;

	if (read_state_file(st->prevpath, &b) > 0 && (root = parse_state(&b, &bad))) {
		load_records(st, root, st->prevpath);
		from_copy = live(st);
	}
	cJSON_Delete(root);
	buf_release(&b);
	read_back = salvage(st, damaged->data ? damaged->data : "", damaged->len);
	if (rename(st->path, kept) < 0)
		warning("cannot keep the damaged '%s' as '%s': %s", st->path, kept,
		        strerror(errno));
	warning("'%s' is damaged (%zu bytes): %zu record%s read back from it, %zu "
	        "from the last good copy '%s'; what else it listed is lost (a process "
	        "of a run that was going may be left: look for it by hand); the "
	        "damaged file is kept as '%s'", st->path, damaged->len, read_back,
	        read_back == 1 ? "" : "s", from_copy, st->prevpath, kept);
	free(kept);
	st->exists = 0;
	st->recovered = 1;
}

static int
load(struct state *st)
{
	struct buf b = BUF_INIT;
	cJSON *root;
	int r, bad;

	r = read_state_file(st->path, &b);
	if (r < 0)
		return -1;
	if (r == 0) {
		buf_release(&b);
		return load_journal(st);
	}
	root = parse_state(&b, &bad);
	if (!root && !bad) {
		buf_release(&b);
		return error("'%s' has an unknown version; it was written by another "
		             "hydro", st->path);
	}
	if (root) {
		load_records(st, root, st->path);
		st->exists = 1;
		st->snapbytes = b.len;
	} else {
		recover(st, &b);
	}
	cJSON_Delete(root);
	buf_release(&b);
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
	if (lstat(path, &sb) == 0 && held_find(sb.st_dev, sb.st_ino) >= 0) {
		pthread_mutex_unlock(&held_mu);
		free(path);
		return error("'%s' is in use by this hydro already", st->dir);
	}
	/* never through a symbolic link, never a file of someone else: it is
	 * truncated below */
	st->lockfd = open_private(path, O_RDWR | O_CREAT, 0600);
	if (st->lockfd < 0 || fstat(st->lockfd, &sb) < 0) {
		pthread_mutex_unlock(&held_mu);
		if (st->lockfd >= 0)
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
	st->prevpath = path_join(st->dir, "state.json.prev");
	st->logpath = path_join(st->dir, "state.log");
	st->lockfd = -1;
	st->logfd = -1;
	pthread_mutex_init(&st->mu, NULL);
	if (dir_private(st->dir) < 0 || lock(st) < 0 || load(st) < 0) {
		state_close(st);
		return NULL;
	}
	/* a journal left by a crash, or a damaged state.json: fold it in now,
	 * while we hold the lock */
	if ((st->logbytes || st->logfound || st->recovered) && compact(st) < 0)
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
	free(st->prevpath);
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
	size_t klen = strlen(kind), ilen = strlen(id);
	char *key = xmalloc(klen + 1 + ilen);
	long at;

	memcpy(key, kind, klen + 1);
	memcpy(key + klen + 1, id, ilen);
	at = map_get(&st->index, key, klen + 1 + ilen);
	free(key);
	return at < 0 || st->recs[at].dead ? NULL : &st->recs[at];
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
	n = live(st);
	pthread_mutex_unlock(&st->mu);
	return n;
}

int
state_get(struct state *st, size_t i, const char **kind, const char **id,
          const char **status, const cJSON **details)
{
	int ret = -1;

	pthread_mutex_lock(&st->mu);
	squeeze(st);
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
	 * (a process on a VM).  The places of recs do not move while this
	 * goes (a dropped record leaves a dead place): n records take O(n) */
	pthread_mutex_lock(&st->mu);
	squeeze(st);
	i = st->nrecs;
	pthread_mutex_unlock(&st->mu);
	while (i-- > 0) {
		const struct state_kind *k;
		char *kind, *id, *what;
		cJSON *details;

		pthread_mutex_lock(&st->mu);
		if (i >= st->nrecs || st->recs[i].dead) {
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
