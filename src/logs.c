#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "fs.h"
#include "logs.h"
#include "xmalloc.h"

/* the lines of one chunk read, as written to the file ('\n' after each):
 * the ring's lines point into it, and it goes with the last of them */
struct block {
	size_t refs;
	char data[];
};

struct line {
	const char *data;	/* in blk, not NUL-terminated */
	struct block *blk;
	size_t len;
	uint64_t time;
	uint64_t off;		/* where the line starts in the file */
};

struct log_stream {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *path;
	int fd, tfd;		/* the lines and their times */
	int failed;		/* a write failed: reported once */
	/* the ring: the newest count lines, oldest at head */
	struct line *ring;
	size_t cap, head, count, bytes, max_bytes;
	size_t max_lines;	/* cap grows to this as lines come */
	uint64_t nlines;	/* lines ever kept */
	uint64_t file_off;	/* bytes written to the file */
	uint64_t times_off;	/* lines whose times are in the times file: those
				 * that left the ring, at least (the ring has the
				 * rest), and all of them once the stream closed */
	struct buf partial;	/* the last line, not yet ended */
	int closed;
	unsigned refs;		/* the owner and each reader */
	struct log_reader **readers;
	size_t nreaders, readers_cap;
	unsigned nsubs;		/* readers that took the stream over (logs_open) */
	log_line_fn *on_line;
	void *on_line_arg;
};

struct log_reader {
	struct log_stream *ls;
	uint64_t seq;		/* the next line to return */
	uint64_t off;		/* its offset in the file */
	uint64_t time;
	int efd;		/* eventfd, written when lines arrive */
	int fd, tfd;		/* the files, opened when the reader falls behind */
	int sub;		/* a subscriber: lines are its, not the terminal's */
	struct buf line;
};

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
block_unref(struct block *b)
{
	if (b && --b->refs == 0)
		free(b);
}

static void
stream_unref(struct log_stream *ls)
{
	size_t i;
	int last;

	pthread_mutex_lock(&ls->lock);
	last = --ls->refs == 0;
	pthread_mutex_unlock(&ls->lock);
	if (!last)
		return;
	for (i = 0; i < ls->count; i++)
		block_unref(ls->ring[(ls->head + i) % ls->cap].blk);
	free(ls->ring);
	free(ls->readers);
	buf_release(&ls->partial);
	if (ls->fd >= 0)
		close(ls->fd);
	if (ls->tfd >= 0)
		close(ls->tfd);
	free(ls->path);
	pthread_mutex_destroy(&ls->lock);
	pthread_cond_destroy(&ls->cond);
	free(ls);
}

struct log_stream *
log_stream_new(const char *path, size_t ring_lines, size_t ring_bytes)
{
	struct log_stream *ls = xcalloc(1, sizeof(*ls));

	pthread_mutex_init(&ls->lock, NULL);
	pthread_cond_init(&ls->cond, NULL);
	ls->max_lines = ring_lines ? ring_lines : 1;
	ls->max_bytes = ring_bytes;
	ls->refs = 1;
	ls->path = xstrdup(path);
	buf_init(&ls->partial, 0);
	ls->fd = ls->tfd = -1;
	/* the files come with the first line */
	return ls;
}

/* create the file of the lines (a stream that never prints makes none:
 * starting many services makes fewer files); called locked */
static int
open_file(struct log_stream *ls)
{
	if (ls->fd >= 0)
		return 0;
	ls->fd = open(ls->path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (ls->fd < 0)
		return error_errno("cannot create log file '%s'", ls->path);
	return 0;
}

/*
 * The times of the lines in the ring up to the newest go to the times file,
 * one little-endian uint64 each: before lines leave the ring, and when the
 * stream closes.  A short-lived stream writes its times once, a long one a
 * ring's worth at a time.  Called locked.
 */
static void
write_times(struct log_stream *ls)
{
	uint64_t first = ls->nlines - ls->count;
	unsigned char *b;
	size_t n, i, at = 0;

	if (ls->failed || ls->times_off >= ls->nlines)
		return;
	if (ls->tfd < 0) {
		char *tpath = xasprintf("%s.times", ls->path);

		ls->tfd = open(tpath, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (ls->tfd < 0) {
			error_errno("cannot create log file '%s'", tpath);
			ls->failed = 1;
		}
		free(tpath);
		if (ls->tfd < 0)
			return;
	}
	n = (size_t)(ls->nlines - ls->times_off);
	b = xmalloc(n * 8);
	for (i = (size_t)(ls->times_off - first); i < ls->count; i++) {
		uint64_t v = ls->ring[(ls->head + i) % ls->cap].time;
		int k;

		for (k = 0; k < 8; k++)
			b[at++] = (unsigned char)(v >> (8 * k));
	}
	if (write_in_full(ls->tfd, (const char *)b, at) < 0) {
		error_errno("cannot write log file '%s.times'", ls->path);
		ls->failed = 1;
	}
	ls->times_off = ls->nlines;
	free(b);
}

void
log_stream_on_line(struct log_stream *ls, log_line_fn *fn, void *arg)
{
	pthread_mutex_lock(&ls->lock);
	ls->on_line = fn;
	ls->on_line_arg = arg;
	pthread_mutex_unlock(&ls->lock);
}


/* drop the oldest line; called locked */
static void
ring_drop(struct log_stream *ls)
{
	struct line *l = &ls->ring[ls->head];

	if (ls->times_off <= ls->nlines - ls->count)
		write_times(ls);

	ls->bytes -= l->len;
	block_unref(l->blk);
	l->blk = NULL;
	l->data = NULL;
	ls->head = (ls->head + 1) % ls->cap;
	ls->count--;
}

/* keep lines (taking their data); called locked */
static void
ring_push(struct log_stream *ls, struct line *l)
{
	if (ls->count == ls->cap && ls->cap < ls->max_lines) {
		/* most services print little: the ring grows as they do */
		size_t cap = ls->cap ? 2 * ls->cap : 16, i;
		struct line *ring;

		if (cap > ls->max_lines)
			cap = ls->max_lines;
		ring = xcalloc(cap, sizeof(*ring));
		for (i = 0; i < ls->count; i++)
			ring[i] = ls->ring[(ls->head + i) % ls->cap];
		free(ls->ring);
		ls->ring = ring;
		ls->cap = cap;
		ls->head = 0;
	}
	while (ls->count && (ls->count == ls->cap ||
	                     (ls->max_bytes && ls->bytes + l->len > ls->max_bytes)))
		ring_drop(ls);
	ls->ring[(ls->head + ls->count) % ls->cap] = *l;
	ls->count++;
	ls->bytes += l->len;
	ls->nlines++;
}

static void
wake_readers(struct log_stream *ls)
{
	uint64_t one = 1;
	size_t i;
	ssize_t unused;

	pthread_cond_broadcast(&ls->cond);
	for (i = 0; i < ls->nreaders; i++) {
		unused = write(ls->readers[i]->efd, &one, sizeof(one));
		(void)unused;
	}
}

/* write the lines to the files, keep them, wake the readers, show them */
static int
commit_lines(struct log_stream *ls, struct line *lines, size_t n, struct buf *text)
{
	struct block *blk = NULL;
	uint64_t base = ls->file_off;
	log_line_fn *fn;
	void *arg;
	size_t i;
	int ret = 0, read;

	if (!n)
		return 0;
	pthread_mutex_lock(&ls->lock);
	/* the file first: a reader that falls behind the ring reads it */
	if (!ls->failed && open_file(ls) < 0) {
		ls->failed = 1;
		ret = -1;
	} else if (!ls->failed && write_in_full(ls->fd, text->data, text->len) < 0) {
		ls->failed = 1;
		ret = error_errno("cannot write log file '%s'", ls->path);
	}
	/* the ring keeps the text written, one block per chunk; one more
	 * reference for the callback below, which runs unlocked while the ring
	 * may drop the lines */
	blk = xmalloc(sizeof(*blk) + text->len);
	memcpy(blk->data, text->data, text->len);
	blk->refs = n + 1;
	for (i = 0; i < n; i++) {
		lines[i].off = ls->file_off;
		lines[i].blk = blk;
		lines[i].data = blk->data + (ls->file_off - base);
		ls->file_off += lines[i].len + 1;
	}
	/* kept, and read or not, at one instant: a subscriber that comes later
	 * still reads them from the start, and they were the terminal's */
	for (i = 0; i < n; i++)
		ring_push(ls, &lines[i]);
	read = ls->nsubs > 0;
	wake_readers(ls);
	fn = ls->on_line;
	arg = ls->on_line_arg;
	pthread_mutex_unlock(&ls->lock);
	if (fn)
		for (i = 0; i < n; i++)
			fn(blk->data + (lines[i].off - base), lines[i].len, lines[i].time, read, arg);
	pthread_mutex_lock(&ls->lock);
	block_unref(blk);
	pthread_mutex_unlock(&ls->lock);
	return ret;
}

static void
add_line(struct line **lines, size_t *n, size_t *cap, struct buf *text,
         const char *data, size_t len, uint64_t t)
{
	struct line *l;

	ALLOC_GROW(*lines, *n, *cap);
	l = &(*lines)[(*n)++];
	l->data = NULL;		/* set to its place in the block by commit_lines */
	l->blk = NULL;
	l->len = len;
	l->time = t;
	l->off = 0;
	buf_add(text, data, len);
	buf_addch(text, '\n');
}

int
log_stream_feed(struct log_stream *ls, const char *data, size_t n)
{
	struct line *lines = NULL;
	struct buf text = BUF_INIT;
	size_t nl = 0, cap = 0;
	uint64_t t = now_us();
	const char *end = data + n, *p = data, *nlp;
	int ret;

	buf_grow(&text, n + ls->partial.len + 64);

	while (p < end) {
		size_t room = LOG_LINE_MAX - ls->partial.len;
		size_t avail = (size_t)(end - p);

		/* a line of exactly room bytes ends at p[room] */
		nlp = memchr(p, '\n', avail <= room ? avail : room + 1);
		if (nlp) {
			if (ls->partial.len) {
				buf_add(&ls->partial, p, (size_t)(nlp - p));
				add_line(&lines, &nl, &cap, &text, ls->partial.data,
				         ls->partial.len, t);
				buf_reset(&ls->partial);
			} else {
				add_line(&lines, &nl, &cap, &text, p, (size_t)(nlp - p), t);
			}
			p = nlp + 1;
		} else if (avail > room) {
			/* too long: cut it */
			buf_add(&ls->partial, p, room);
			add_line(&lines, &nl, &cap, &text, ls->partial.data,
			         ls->partial.len, t);
			buf_reset(&ls->partial);
			p += room;
		} else {
			buf_add(&ls->partial, p, avail);
			p = end;
		}
	}
	ret = commit_lines(ls, lines, nl, &text);
	free(lines);
	buf_release(&text);
	return ret;
}

void
log_stream_close(struct log_stream *ls)
{
	struct line *lines = NULL;
	struct buf text = BUF_INIT;
	size_t nl = 0, cap = 0;

	if (ls->partial.len) {
		add_line(&lines, &nl, &cap, &text, ls->partial.data, ls->partial.len,
		         now_us());
		buf_reset(&ls->partial);
		commit_lines(ls, lines, nl, &text);
		free(lines);
		buf_release(&text);
	}
	pthread_mutex_lock(&ls->lock);
	write_times(ls);
	ls->closed = 1;
	wake_readers(ls);
	pthread_mutex_unlock(&ls->lock);
}

void
log_stream_free(struct log_stream *ls)
{
	if (ls)
		stream_unref(ls);
}

int
log_stream_subscribed(struct log_stream *ls)
{
	int n;

	pthread_mutex_lock(&ls->lock);
	n = ls->nsubs > 0;
	pthread_mutex_unlock(&ls->lock);
	return n;
}

uint64_t
log_stream_lines(struct log_stream *ls)
{
	uint64_t n;

	pthread_mutex_lock(&ls->lock);
	n = ls->nlines;
	pthread_mutex_unlock(&ls->lock);
	return n;
}

char *
log_stream_tail(struct log_stream *ls, size_t n)
{
	struct buf out = BUF_INIT;
	size_t i, from;

	pthread_mutex_lock(&ls->lock);
	from = ls->count > n ? ls->count - n : 0;
	for (i = from; i < ls->count; i++) {
		struct line *l = &ls->ring[(ls->head + i) % ls->cap];
		if (out.len)
			buf_addch(&out, '\n');
		buf_add(&out, l->data, l->len);
	}
	pthread_mutex_unlock(&ls->lock);
	return buf_detach(&out, NULL);
}

/* the streams of each service, for logs_open() */
struct attached {
	struct service *s;
	struct log_stream *ls[3];
	struct attached *next;
};

static pthread_mutex_t attach_lock = PTHREAD_MUTEX_INITIALIZER;
static struct attached *attached;

void
logs_attach(struct service *s, int stream, struct log_stream *ls)
{
	struct attached *a, **pp;

	if (stream != LOG_STDOUT && stream != LOG_STDERR)
		return;
	pthread_mutex_lock(&attach_lock);
	for (a = attached; a && a->s != s; a = a->next)
		;
	if (!a && ls) {
		a = xcalloc(1, sizeof(*a));
		a->s = s;
		a->next = attached;
		attached = a;
	}
	if (a) {
		a->ls[stream] = ls;
		if (!a->ls[LOG_STDOUT] && !a->ls[LOG_STDERR]) {
			for (pp = &attached; *pp != a; pp = &(*pp)->next)
				;
			*pp = a->next;
			free(a);
		}
	}
	pthread_mutex_unlock(&attach_lock);
}

struct log_stream *
logs_stream(struct service *s, int stream)
{
	struct log_stream *ls = NULL;
	struct attached *a;

	if (stream != LOG_STDOUT && stream != LOG_STDERR)
		return NULL;
	pthread_mutex_lock(&attach_lock);
	for (a = attached; a; a = a->next)
		if (a->s == s)
			ls = a->ls[stream];
	pthread_mutex_unlock(&attach_lock);
	return ls;
}

struct log_reader *
logs_open(struct service *s, int stream)
{
	struct log_stream *ls;
	struct log_reader *lr = NULL;

	if (stream != LOG_STDOUT && stream != LOG_STDERR) {
		error("no log stream %d: use 1 (stdout) or 2 (stderr)", stream);
		return NULL;
	}
	/* attach_lock keeps the stream alive until the reader holds it */
	pthread_mutex_lock(&attach_lock);
	ls = NULL;
	for (struct attached *a = attached; a; a = a->next)
		if (a->s == s)
			ls = a->ls[stream];
	if (ls) {
		lr = log_reader_new(ls);
		pthread_mutex_lock(&ls->lock);
		lr->sub = 1;
		ls->nsubs++;
		pthread_mutex_unlock(&ls->lock);
	}
	pthread_mutex_unlock(&attach_lock);
	if (!ls)
		error("service '%s' has no logs yet: it has not been launched", s->name);
	return lr;
}

struct log_reader *
log_reader_new(struct log_stream *ls)
{
	struct log_reader *lr = xcalloc(1, sizeof(*lr));

	lr->ls = ls;
	lr->fd = lr->tfd = -1;
	lr->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (lr->efd < 0)
		fatal("cannot make an eventfd: %s", strerror(errno));
	buf_init(&lr->line, 0);
	pthread_mutex_lock(&ls->lock);
	ls->refs++;
	ALLOC_GROW(ls->readers, ls->nreaders, ls->readers_cap);
	ls->readers[ls->nreaders++] = lr;
	/* lines may be there already */
	if (ls->nlines || ls->closed) {
		uint64_t one = 1;
		ssize_t unused = write(lr->efd, &one, sizeof(one));
		(void)unused;
	}
	pthread_mutex_unlock(&ls->lock);
	return lr;
}

/* read line lr->seq from the files (it has left the ring) */
static int
read_from_file(struct log_reader *lr)
{
	char chunk[4096];
	unsigned char t[8];
	ssize_t n;
	char *nl;
	int k;

	if (lr->fd < 0) {
		char *tpath = xasprintf("%s.times", lr->ls->path);
		lr->fd = open(lr->ls->path, O_RDONLY | O_CLOEXEC);
		lr->tfd = open(tpath, O_RDONLY | O_CLOEXEC);
		free(tpath);
		if (lr->fd < 0)
			return error_errno("cannot read log file '%s'", lr->ls->path);
	}
	buf_reset(&lr->line);
	for (;;) {
		n = pread(lr->fd, chunk, sizeof(chunk), (off_t)(lr->off + lr->line.len));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return error("log file '%s' is shorter than its lines", lr->ls->path);
		nl = memchr(chunk, '\n', (size_t)n);
		buf_add(&lr->line, chunk, nl ? (size_t)(nl - chunk) : (size_t)n);
		if (nl)
			break;
	}
	lr->time = 0;
	if (lr->tfd >= 0 && pread(lr->tfd, t, 8, (off_t)(lr->seq * 8)) == 8)
		for (k = 0; k < 8; k++)
			lr->time |= (uint64_t)t[k] << (8 * k);
	lr->off += lr->line.len + 1;
	lr->seq++;
	return 1;
}

int
log_reader_next(struct log_reader *lr, char **line, size_t *len, int timeout_ms)
{
	struct log_stream *ls = lr->ls;
	struct timespec deadline;
	uint64_t drain;
	ssize_t unused;
	int ret;

	/* drain first: a line that arrives after the check below writes again */
	unused = read(lr->efd, &drain, sizeof(drain));
	(void)unused;
	if (timeout_ms > 0) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&ls->lock);
	for (;;) {
		if (lr->seq < ls->nlines) {
			uint64_t first = ls->nlines - ls->count;
			if (lr->seq >= first) {
				struct line *l = &ls->ring[(ls->head + (lr->seq - first)) % ls->cap];
				buf_reset(&lr->line);
				buf_add(&lr->line, l->data, l->len);
				lr->time = l->time;
				lr->off = l->off + l->len + 1;
				lr->seq++;
				ret = 1;
			} else {
				pthread_mutex_unlock(&ls->lock);
				ret = read_from_file(lr);
				if (ret < 0)
					return -1;
				pthread_mutex_lock(&ls->lock);
			}
			/* more to come: keep the descriptor readable */
			if (lr->seq < ls->nlines || ls->closed) {
				uint64_t one = 1;
				unused = write(lr->efd, &one, sizeof(one));
			}
			pthread_mutex_unlock(&ls->lock);
			*line = lr->line.data ? lr->line.data : (char *)"";
			*len = lr->line.len;
			return 1;
		}
		if (ls->closed) {
			pthread_mutex_unlock(&ls->lock);
			return -1;
		}
		if (timeout_ms == 0)
			break;
		if (timeout_ms < 0) {
			pthread_cond_wait(&ls->cond, &ls->lock);
		} else if (pthread_cond_timedwait(&ls->cond, &ls->lock, &deadline) == ETIMEDOUT) {
			if (lr->seq < ls->nlines || ls->closed)
				continue;
			break;
		}
	}
	pthread_mutex_unlock(&ls->lock);
	return 0;
}

uint64_t
log_reader_time(const struct log_reader *lr)
{
	return lr->time;
}

int
log_reader_fd(struct log_reader *lr)
{
	return lr->efd;
}

void
log_reader_close(struct log_reader *lr)
{
	struct log_stream *ls;
	size_t i;

	if (!lr)
		return;
	ls = lr->ls;
	pthread_mutex_lock(&ls->lock);
	for (i = 0; i < ls->nreaders; i++) {
		if (ls->readers[i] == lr) {
			ls->readers[i] = ls->readers[--ls->nreaders];
			break;
		}
	}
	if (lr->sub)
		ls->nsubs--;
	pthread_mutex_unlock(&ls->lock);
	stream_unref(ls);
	close(lr->efd);
	if (lr->fd >= 0)
		close(lr->fd);
	if (lr->tfd >= 0)
		close(lr->tfd);
	buf_release(&lr->line);
	free(lr);
}

const char *
logs_color(const char *name)
{
	/* docker compose's order: cyan, yellow, green, magenta, blue, then bright */
	static const char *const colors[] = {
		"\033[36m", "\033[33m", "\033[32m", "\033[35m", "\033[34m",
		"\033[96m", "\033[93m", "\033[92m", "\033[95m", "\033[94m",
	};
	uint32_t h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return colors[h % (sizeof(colors) / sizeof(colors[0]))];
}

void
logs_format_time(uint64_t us, char buf[LOG_TIME_SIZE])
{
	time_t sec = (time_t)(us / 1000000u);
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, LOG_TIME_SIZE, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, LOG_TIME_SIZE - n, ".%06uZ", (unsigned)(us % 1000000u));
}
