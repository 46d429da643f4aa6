/*
 * archive: packages over libarchive (archive.h has the format and the
 * rules).  Both directions make one pass over the data: packing hashes each
 * file as it is compressed and the package as it is written, unpacking
 * hashes the package as it is read and each file as it is extracted, and
 * the manifest, written last, is checked at the end before the folder is
 * renamed into place.  Unpacking hashes and writes on a thread of its own
 * (as tar pipes from a separate zstd), so decompressing goes on while the
 * kernel copies the data out; every check stays on the caller's thread.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "buf.h"
#include "error.h"
#include "fs.h"
#include "json.h"
#include "xmalloc.h"

#ifndef HYDRO_VERSION
#define HYDRO_VERSION "unknown"
#endif

#define PACKAGE_FORMAT 1
#define IO_SIZE (256 * 1024)
#define MANIFEST_MAX (4 * 1024 * 1024)

static atomic_uint temp_seq;

/* a temporary name beside base, "BASE-N.tmp.PID", unique among threads
 * and recognised as stale by path_stale_temp() once this process is gone */
static char *
temp_name(const char *base)
{
	return xasprintf("%s-%u.tmp.%ld", base, atomic_fetch_add(&temp_seq, 1),
	                 (long)getpid());
}

/* the end of the path component that starts at s */
static const char *
component_end(const char *s)
{
	const char *e = strchr(s, '/');

	return e ? e : s + strlen(s);
}

static int
have_zstd(void)
{
	static int have = -1;
	struct archive *a;

	if (have < 0) {
		a = archive_write_new();
		have = archive_write_add_filter_zstd(a) == ARCHIVE_OK;
		archive_write_free(a);
	}
	return have;
}

const char *
archive_ext(void)
{
	return have_zstd() ? ".tar.zst" : ".tar.gz";
}

/* why name cannot be a file's name in a package, or NULL if it can */
static const char *
name_problem(const char *name)
{
	const char *s, *e;

	if (!*name)
		return "is empty";
	if (*name == '/')
		return "is an absolute path";
	for (s = name; ; s = e + 1) {
		e = component_end(s);
		if (e == s)
			return "has an empty component";
		if (e - s == 2 && !strncmp(s, "..", 2))
			return "leaves the package folder ('..')";
		if (e - s == 1 && *s == '.')
			return "has a '.' component";
		if (!*e)
			return NULL;
	}
}

/* whether a symbolic link named name, pointing at target, leaves the
 * package folder (judged by the names alone, as the link would resolve) */
static int
link_escapes(const char *name, const char *target)
{
	long depth = 0;
	const char *s, *e;

	if (*target == '/')
		return 1;
	for (s = name; (s = strchr(s, '/')); s++)
		depth++;
	for (s = target; *s; s = *e ? e + 1 : e) {
		e = component_end(s);
		if (e - s == 2 && !strncmp(s, "..", 2)) {
			if (--depth < 0)
				return 1;
		} else if (e - s > 0 && !(e - s == 1 && *s == '.')) {
			depth++;
		}
	}
	return 0;
}

/* packing */

struct sink {
	int fd;
	struct hasher h;
};

static la_ssize_t
sink_write(struct archive *a, void *arg, const void *data, size_t n)
{
	struct sink *s = arg;

	hasher_add(&s->h, data, n);
	if (write_in_full(s->fd, data, n) < 0) {
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	return (la_ssize_t)n;
}

static int
by_name(const void *a, const void *b)
{
	const struct package_file *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* the files of p in name order, each name checked */
static const struct package_file **
sorted_files(const struct package *p)
{
	const struct package_file **v = xcalloc(p->nfiles ? p->nfiles : 1, sizeof(*v));
	const char *why;
	size_t i, n;

	for (i = 0; i < p->nfiles; i++) {
		v[i] = &p->files[i];
		if ((why = name_problem(v[i]->name)))
			goto bad;
		if (!strcmp(v[i]->name, PACKAGE_MANIFEST)) {
			why = "is the name of the package's manifest";
			goto bad;
		}
	}
	qsort(v, p->nfiles, sizeof(*v), by_name);
	for (i = 1; i < p->nfiles; i++) {
		n = strlen(v[i - 1]->name);
		if (!strcmp(v[i - 1]->name, v[i]->name) ||
		    (!strncmp(v[i - 1]->name, v[i]->name, n) && v[i]->name[n] == '/')) {
			error("cannot package '%s' as '%s': the name is taken by '%s'",
			      v[i]->path, v[i]->name, v[i - 1]->path);
			free(v);
			return NULL;
		}
	}
	return v;
bad:
	error("cannot package '%s' as '%s': the name %s; give a relative path "
	      "inside the package", v[i]->path, v[i]->name, why);
	free(v);
	return NULL;
}

static void
entry_reset(struct archive_entry *e, const char *name, mode_t type, mode_t perm,
            la_int64_t size)
{
	archive_entry_clear(e);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_size(e, size);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
}

/* write one file as an entry, hashing it into *out */
static int
pack_file(struct archive *a, struct archive_entry *e, const struct package_file *f,
          char *io, struct hash *out, int *exec)
{
	struct hasher h;
	struct stat st;
	la_int64_t left;
	ssize_t n;
	int fd;

	*exec = 0;
	if ((fd = open(f->path, O_RDONLY | O_CLOEXEC)) < 0)
		return error_errno("cannot package '%s'", f->path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return error("cannot package '%s': not a regular file", f->path);
	}
	*exec = (st.st_mode & 0111) != 0;
	entry_reset(e, f->name, AE_IFREG, *exec ? 0755 : 0644, st.st_size);
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		close(fd);
		return error("cannot package '%s': %s", f->path, archive_error_string(a));
	}
	hasher_init(&h);
	for (left = st.st_size; left > 0; left -= n) {
		n = read(fd, io, left < IO_SIZE ? (size_t)left : IO_SIZE);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0)
			break;
		hasher_add(&h, io, (size_t)n);
		if (archive_write_data(a, io, (size_t)n) != n) {
			hasher_final(&h, out);
			close(fd);
			return error("cannot package '%s': %s", f->path, archive_error_string(a));
		}
	}
	hasher_final(&h, out);
	close(fd);
	if (left != 0)
		return error("cannot package '%s': it changed while it was read", f->path);
	return 0;
}

static int
pack_manifest(struct archive *a, struct archive_entry *e, const struct package *p,
              cJSON *files)
{
	cJSON *m = cJSON_CreateObject();
	char *text;
	size_t len;
	int ret = 0;

	cJSON_AddNumberToObject(m, "format", PACKAGE_FORMAT);
	cJSON_AddStringToObject(m, "kind", p->kind ? p->kind : "");
	cJSON_AddStringToObject(m, "target", p->triple ? p->triple : "");
	cJSON_AddStringToObject(m, "hydro", HYDRO_VERSION);
	cJSON_AddStringToObject(m, "program", p->nfiles ? p->files[0].name : "");
	cJSON_AddItemToObject(m, "files", files);
	text = json_print(m);
	len = strlen(text);
	text[len++] = '\n';	/* json_print's NUL: the file ends with a newline */
	entry_reset(e, PACKAGE_MANIFEST, AE_IFREG, 0644, (la_int64_t)len);
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    archive_write_data(a, text, len) != (la_ssize_t)len)
		ret = error("cannot write the manifest: %s", archive_error_string(a));
	free(text);
	cJSON_Delete(m);
	return ret;
}

int
archive_pack(const struct package *p, const char *dir, char **path, struct hash *hash)
{
	const struct package_file **files;
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	struct sink sink = { -1, { NULL } };
	struct hash fh, ph;
	cJSON *list = NULL, *item;
	char hex[HASH_HEX_LEN], *io = NULL, *base = NULL, *tmp = NULL, *final;
	int exec, ret = -1;
	size_t i;

	if (!(files = sorted_files(p)))
		return -1;
	if (mkdir_p(dir, 0755) < 0)
		goto out;
	base = path_join(dir, "package");
	tmp = temp_name(base);
	if ((sink.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
		error_errno("cannot create '%s'", tmp);
		goto out;
	}
	hasher_init(&sink.h);
	a = archive_write_new();
	/* one worker: zstd compresses on a thread of its own while this one
	 * reads and hashes, as tar pipes to a separate zstd process; the bytes
	 * are the same for any number of workers (not for none), so that
	 * packing stays reproducible */
	if (have_zstd()) {
		archive_write_add_filter_zstd(a);
		archive_write_set_filter_option(a, "zstd", "threads", "1");
	} else if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	         archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK) {
		error("cannot compress packages: %s", archive_error_string(a));
		goto out;
	}
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_per_block(a, IO_SIZE);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open2(a, &sink, NULL, sink_write, NULL, NULL) != ARCHIVE_OK) {
		error("cannot write '%s': %s", tmp, archive_error_string(a));
		goto out;
	}
	e = archive_entry_new();
	io = xmalloc(IO_SIZE);
	list = cJSON_CreateArray();
	for (i = 0; i < p->nfiles; i++) {
		if (pack_file(a, e, files[i], io, &fh, &exec) < 0)
			goto out;
		hash_hex(&fh, hex);
		item = cJSON_CreateObject();
		cJSON_AddStringToObject(item, "name", files[i]->name);
		cJSON_AddBoolToObject(item, "executable", exec);
		cJSON_AddStringToObject(item, "sha256", hex);
		cJSON_AddItemToArray(list, item);
	}
	ret = pack_manifest(a, e, p, list);
	list = NULL;
	if (ret < 0)
		goto out;
	ret = -1;
	if (archive_write_close(a) != ARCHIVE_OK) {
		error("cannot write '%s': %s", tmp, archive_error_string(a));
		goto out;
	}
	hasher_final(&sink.h, &ph);
	sink.h.ctx = NULL;
	if (close(sink.fd) < 0) {
		sink.fd = -1;
		error_errno("cannot write '%s'", tmp);
		goto out;
	}
	sink.fd = -1;
	hash_hex(&ph, hex);
	final = xasprintf("%s/%s%s", dir, hex, archive_ext());
	if (rename(tmp, final) < 0) {
		error_errno("cannot rename '%s' to '%s'", tmp, final);
		free(final);
		goto out;
	}
	if (path)
		*path = final;
	else
		free(final);
	if (hash)
		*hash = ph;
	ret = 0;
out:
	if (a)
		archive_write_free(a);
	if (e)
		archive_entry_free(e);
	if (sink.h.ctx)
		hasher_final(&sink.h, &ph);
	if (sink.fd >= 0)
		close(sink.fd);
	if (ret < 0 && tmp)
		unlink(tmp);
	cJSON_Delete(list);
	free(io);
	free(base);
	free(tmp);
	free(files);
	return ret;
}

/* unpacking */

struct source {
	int fd;
	struct hasher h;
	char *io;
};

static la_ssize_t
source_read(struct archive *a, void *arg, const void **data)
{
	struct source *s = arg;
	ssize_t n;

	do
		n = read(s->fd, s->io, IO_SIZE);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	hasher_add(&s->h, s->io, (size_t)n);
	*data = s->io;
	return n;
}

/* a file extracted so far */
struct got {
	char *name;
	struct hash hash;	/* set by the writer at the file's OP_FINISH */
	int exec;
};

/* the disk writer: a thread that does what the queue says to its output,
 * hashing each file's data on the way */
enum op_kind { OP_HEADER, OP_DATA, OP_FINISH, OP_END };

struct op {
	enum op_kind kind;
	struct got *g;			/* the file of OP_HEADER and OP_FINISH */
	struct archive_entry *e;	/* OP_HEADER: owned */
	char *data;			/* OP_DATA: owned */
	size_t len;
	la_int64_t off;
};

/* Each side sleeps until the other has done a good part of the queue, not
 * one operation: on a busy machine a wake-up can cost milliseconds. */
#define QUEUE_LEN 32

struct writer {
	struct archive *out;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t more, room;
	struct op q[QUEUE_LEN];
	size_t head, n;
	int reader_waits, writer_waits;	/* asleep on room, on more */
	char *failed;		/* the first failure's message, set by the thread */
	char *name;		/* the entry being written, for that message */
	struct hasher h;	/* the data of the file being written */
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct op op;
	int r = ARCHIVE_OK;

	do {
		pthread_mutex_lock(&w->lock);
		while (!w->n) {
			w->writer_waits = 1;
			pthread_cond_wait(&w->more, &w->lock);
		}
		w->writer_waits = 0;
		op = w->q[w->head];
		w->head = (w->head + 1) % QUEUE_LEN;
		w->n--;
		if (w->reader_waits && w->n <= QUEUE_LEN / 2)
			pthread_cond_signal(&w->room);
		pthread_mutex_unlock(&w->lock);
		if (op.kind == OP_HEADER && op.g)
			hasher_init(&w->h);
		else if (op.kind == OP_DATA)
			hasher_add(&w->h, op.data, op.len);
		else if (op.kind == OP_FINISH)
			hasher_final(&w->h, &op.g->hash);
		if (!w->failed) {
			switch (op.kind) {
			case OP_HEADER:
				free(w->name);
				w->name = xstrdup(path_basename(archive_entry_pathname(op.e)));
				r = archive_write_header(w->out, op.e);
				break;
			case OP_DATA:
				r = archive_write_data_block(w->out, op.data, op.len, op.off);
				break;
			case OP_FINISH:
				r = archive_write_finish_entry(w->out);
				break;
			case OP_END:
				r = archive_write_close(w->out);
				break;
			}
			if (r != ARCHIVE_OK)	/* read by the caller after the join */
				w->failed = xasprintf("'%s': %s", w->name ? w->name : "",
				                      archive_error_string(w->out));
		}
		if (op.e)
			archive_entry_free(op.e);
		free(op.data);
	} while (op.kind != OP_END);
	return NULL;
}

/* start the writer thread over out */
static int
writer_start(struct writer *w, struct archive *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->more, NULL);
	pthread_cond_init(&w->room, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w)) {
		w->out = NULL;
		return error("cannot start a thread to unpack with");
	}
	return 0;
}

/* queue an operation, waiting for room */
static void
writer_push(struct writer *w, enum op_kind kind, struct got *g,
            struct archive_entry *e, const void *data, size_t len, la_int64_t off)
{
	struct op op = { kind, g, e, NULL, len, off };

	if (data) {
		op.data = xmalloc(len ? len : 1);
		memcpy(op.data, data, len);
	}
	pthread_mutex_lock(&w->lock);
	while (w->n == QUEUE_LEN) {
		w->reader_waits = 1;
		pthread_cond_wait(&w->room, &w->lock);
	}
	w->reader_waits = 0;
	w->q[(w->head + w->n) % QUEUE_LEN] = op;
	w->n++;
	/* wake the writer once there is a batch, or for the last operation */
	if (w->writer_waits && (w->n >= QUEUE_LEN / 2 || kind == OP_END))
		pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->lock);
}

/* end the thread, after all that is queued (closing the output); a new
 * string with the first failure's message, or NULL */
static char *
writer_end(struct writer *w)
{
	char *failed;

	if (!w->out)
		return NULL;
	writer_push(w, OP_END, NULL, NULL, NULL, 0, 0);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->more);
	pthread_cond_destroy(&w->room);
	free(w->name);
	failed = w->failed;
	w->out = NULL;
	return failed;
}

struct unpack {
	const char *pkg;	/* for messages */
	char *root;		/* the fresh folder, a real path */
	struct archive *in;
	struct writer w;
	struct got **got;	/* each stays where it is for the writer */
	size_t ngot, capgot;
	struct buf manifest;
	int seen_manifest;
};

/* check an entry before anything of it is written; -1 with the error */
static int
entry_check(struct unpack *u, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e), *why, *target;
	mode_t type = archive_entry_filetype(e);

	if (!name)
		return error("cannot unpack '%s': an entry has no name", u->pkg);
	if (u->seen_manifest)
		return error("cannot unpack '%s': '%s' comes after the manifest; "
		             "the package is damaged", u->pkg, name);
	if ((why = name_problem(name)))
		return error("cannot unpack '%s': the entry '%s' %s", u->pkg, name, why);
	if (archive_entry_hardlink(e))
		return error("cannot unpack '%s': '%s' is a hard link; packages hold "
		             "only files and folders", u->pkg, name);
	if (type == AE_IFLNK) {
		target = archive_entry_symlink(e);
		if (!target || link_escapes(name, target))
			return error("cannot unpack '%s': the symbolic link '%s' points "
			             "outside the package ('%s')", u->pkg, name,
			             target ? target : "");
		return error("cannot unpack '%s': '%s' is a symbolic link; packages "
		             "hold only files and folders", u->pkg, name);
	}
	if (type == AE_IFCHR || type == AE_IFBLK)
		return error("cannot unpack '%s': '%s' is a device file; packages hold "
		             "only files and folders", u->pkg, name);
	if (type != AE_IFREG && type != AE_IFDIR)
		return error("cannot unpack '%s': '%s' is a special file; packages hold "
		             "only files and folders", u->pkg, name);
	if (type == AE_IFREG && !strcmp(name, PACKAGE_MANIFEST) &&
	    archive_entry_size(e) > MANIFEST_MAX)
		return error("cannot unpack '%s': its manifest is too large", u->pkg);
	return 0;
}

static int
read_manifest(struct unpack *u)
{
	const void *data;
	size_t n;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(u->in, &data, &n, &off)) == ARCHIVE_OK)
		if (buf_add(&u->manifest, data, n) < 0)
			return error("cannot unpack '%s': its manifest is too large", u->pkg);
	if (r != ARCHIVE_EOF)
		return error("cannot unpack '%s': %s", u->pkg, archive_error_string(u->in));
	u->seen_manifest = 1;
	return 0;
}

/* have one checked entry written under the fresh folder (and its data
 * hashed) */
static int
extract(struct unpack *u, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e);
	int dir = archive_entry_filetype(e) == AE_IFDIR;
	int exec = (archive_entry_perm(e) & 0111) != 0;
	struct archive_entry *copy;
	struct got *g = NULL;
	const void *data;
	size_t n;
	la_int64_t off;
	char *where;
	int r;

	for (n = 0; n < u->ngot; n++)
		if (!strcmp(u->got[n]->name, name))
			return error("cannot unpack '%s': '%s' is in it twice; the "
			             "package is damaged", u->pkg, name);
	if (!dir) {
		if (u->ngot == u->capgot) {
			u->capgot = u->capgot ? 2 * u->capgot : 8;
			u->got = xrealloc(u->got, u->capgot * sizeof(*u->got));
		}
		g = u->got[u->ngot++] = xcalloc(1, sizeof(*g));
		g->name = xstrdup(name);
		g->exec = exec;
	}
	copy = archive_entry_clone(e);
	where = xasprintf("%s/%s", u->root, name);
	archive_entry_set_pathname(copy, where);
	free(where);
	archive_entry_set_perm(copy, dir || exec ? 0755 : 0644);
	writer_push(&u->w, OP_HEADER, g, copy, NULL, 0, 0);
	if (dir)
		return 0;
	while ((r = archive_read_data_block(u->in, &data, &n, &off)) == ARCHIVE_OK)
		writer_push(&u->w, OP_DATA, NULL, NULL, data, n, off);
	writer_push(&u->w, OP_FINISH, g, NULL, NULL, 0, 0);
	if (r != ARCHIVE_EOF)
		return error("cannot unpack '%s': '%s': %s", u->pkg, name,
		             archive_error_string(u->in));
	return 0;
}

/* every file extracted is in the manifest with its hash, and the other way */
static int
manifest_check(struct unpack *u)
{
	cJSON *m, *files, *f;
	const char *name, *hex;
	struct hash want;
	char got_hex[HASH_HEX_LEN];
	long format;
	size_t i, n = 0;
	int ret = -1;

	if (!u->seen_manifest)
		return error("cannot unpack '%s': it has no %s; it is not a hydro package",
		             u->pkg, PACKAGE_MANIFEST);
	if (!(m = json_parse(buf_str(&u->manifest), PACKAGE_MANIFEST)))
		return error("cannot unpack '%s': its manifest is not JSON", u->pkg);
	if (json_long(m, "format", &format) < 0 || format != PACKAGE_FORMAT) {
		error("cannot unpack '%s': its manifest's format is not %d; unpack it "
		      "with the hydro that made it", u->pkg, PACKAGE_FORMAT);
		goto out;
	}
	files = cJSON_GetObjectItemCaseSensitive(m, "files");
	cJSON_ArrayForEach(f, files) {
		name = json_str(f, "name");
		hex = json_str(f, "sha256");
		if (!name || !hex || hash_parse(hex, &want) < 0) {
			error("cannot unpack '%s': its manifest has an entry without a "
			      "name or sha256", u->pkg);
			goto out;
		}
		for (i = 0; i < u->ngot && strcmp(u->got[i]->name, name); i++)
			;
		if (i == u->ngot) {
			error("cannot unpack '%s': '%s' is in its manifest but not in the "
			      "package", u->pkg, name);
			goto out;
		}
		if (memcmp(&want, &u->got[i]->hash, sizeof(want))) {
			hash_hex(&u->got[i]->hash, got_hex);
			error("cannot unpack '%s': '%s' has sha256 %s, its manifest says %s; "
			      "the package is damaged", u->pkg, name, got_hex, hex);
			goto out;
		}
		n++;
	}
	if (n != u->ngot) {
		for (i = 0; i < u->ngot; i++) {
			cJSON_ArrayForEach(f, files) {
				name = json_str(f, "name");
				if (!strcmp(name, u->got[i]->name))
					break;
			}
			if (!f)
				break;
		}
		error("cannot unpack '%s': '%s' is not in its manifest", u->pkg,
		      i < u->ngot ? u->got[i]->name : "?");
		goto out;
	}
	ret = 0;
out:
	cJSON_Delete(m);
	return ret;
}

static int
unpack_entries(struct unpack *u)
{
	struct archive_entry *e;
	int r;

	while ((r = archive_read_next_header(u->in, &e)) == ARCHIVE_OK) {
		if (entry_check(u, e) < 0)
			return -1;
		if (!strcmp(archive_entry_pathname(e), PACKAGE_MANIFEST)) {
			if (read_manifest(u) < 0)
				return -1;
		} else if (extract(u, e) < 0) {
			return -1;
		}
	}
	if (r != ARCHIVE_EOF)
		return error("cannot unpack '%s': %s", u->pkg, archive_error_string(u->in));
	return 0;
}

int
archive_unpack(const char *path, const char *dest, const struct hash *want)
{
	struct unpack u;
	struct source src = { -1, { NULL }, NULL };
	struct archive *out = NULL;
	char *failed;
	int r;
	struct hash got;
	char want_hex[HASH_HEX_LEN], got_hex[HASH_HEX_LEN], *tmp;
	size_t i;
	int ret = -1;

	memset(&u, 0, sizeof(u));
	u.pkg = path;
	buf_init(&u.manifest, MANIFEST_MAX);
	if (path_exists(dest))
		return error("cannot unpack '%s' into '%s': it exists already", path, dest);
	if ((src.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return error_errno("cannot unpack '%s'", path);
	tmp = temp_name(dest);
	if (mkdir(tmp, 0755) < 0) {
		error_errno("cannot create '%s'", tmp);
		free(tmp);
		close(src.fd);
		return -1;
	}
	if (!(u.root = realpath(tmp, NULL))) {
		error_errno("cannot resolve '%s'", tmp);
		goto out;
	}
	src.io = xmalloc(IO_SIZE);
	hasher_init(&src.h);
	u.in = archive_read_new();
	archive_read_support_filter_zstd(u.in);
	archive_read_support_filter_gzip(u.in);
	archive_read_support_format_tar(u.in);
	out = archive_write_disk_new();
	/* names are checked before they are prefixed with the (absolute) root,
	 * so NOABSOLUTEPATHS would refuse them all; the rest guard the root */
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_PERM |
	                               ARCHIVE_EXTRACT_SECURE_SYMLINKS |
	                               ARCHIVE_EXTRACT_SECURE_NODOTDOT |
	                               ARCHIVE_EXTRACT_NO_OVERWRITE);
	if (archive_read_open(u.in, &src, NULL, source_read, NULL) != ARCHIVE_OK) {
		error("cannot unpack '%s': %s", path, archive_error_string(u.in));
		goto out;
	}
	if (writer_start(&u.w, out) < 0)
		goto out;
	r = unpack_entries(&u);
	if ((failed = writer_end(&u.w))) {
		if (r == 0)
			error("cannot unpack '%s': %s", path, failed);
		free(failed);
		goto out;
	}
	if (r < 0 || manifest_check(&u) < 0)	/* the hashes are known now */
		goto out;
	/* the hash covers every byte, the tar's padding after its end too */
	while (source_read(u.in, &src, &(const void *){ NULL }) > 0)
		;
	hasher_final(&src.h, &got);
	src.h.ctx = NULL;
	if (want && memcmp(want, &got, sizeof(got))) {
		hash_hex(want, want_hex);
		hash_hex(&got, got_hex);
		error("cannot unpack '%s': its sha256 is %s, not %s; the package is "
		      "damaged", path, got_hex, want_hex);
		goto out;
	}
	if (rename(tmp, dest) < 0) {
		if ((errno == EEXIST || errno == ENOTEMPTY) && path_exists(dest)) {
			ret = 0;	/* another unpacker was first */
			goto out;
		}
		error_errno("cannot rename '%s' to '%s'", tmp, dest);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	ret = 0;
out:
	free(writer_end(&u.w));
	if (u.in)
		archive_read_free(u.in);
	if (out)
		archive_write_free(out);
	if (src.h.ctx)
		hasher_final(&src.h, &got);
	close(src.fd);
	if (tmp) {
		remove_tree(tmp);
		free(tmp);
	}
	for (i = 0; i < u.ngot; i++) {
		free(u.got[i]->name);
		free(u.got[i]);
	}
	free(u.got);
	free(u.root);
	free(src.io);
	buf_release(&u.manifest);
	return ret;
}
