/* Unit tests of logs: lines, ring, files, readers. */
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fs.h"
#include "logs.h"
#include "test.h"
#include "xmalloc.h"

static char dir[] = "/tmp/hydro-test-logs.XXXXXX";

static char *
path(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

TEST(lines_split_and_partial_flushed)
{
	char *p = path("a.out");
	struct log_stream *ls = log_stream_new(p, 16, 0);
	struct log_reader *lr;
	struct buf file = BUF_INIT;
	char *line;
	size_t len;

	REQUIRE(ls);
	lr = log_reader_new(ls);
	CHECK_INT(log_reader_next(lr, &line, &len, 0), 0);
	CHECK_INT(log_stream_feed(ls, "one\ntw", 6), 0);
	CHECK_INT(log_reader_next(lr, &line, &len, 0), 1);
	CHECK_STR(line, "one");
	CHECK(log_reader_time(lr) > 0);
	CHECK_INT(log_reader_next(lr, &line, &len, 0), 0);
	CHECK_INT(log_stream_feed(ls, "o\n\nthree", 8), 0);
	CHECK_INT(log_reader_next(lr, &line, &len, 0), 1);
	CHECK_STR(line, "two");
	CHECK_INT(log_reader_next(lr, &line, &len, 0), 1);
	CHECK_INT(len, 0);
	log_stream_close(ls);
	CHECK_INT(log_reader_next(lr, &line, &len, 0), 1);
	CHECK_STR(line, "three");
	CHECK_INT(log_reader_next(lr, &line, &len, 0), -1);
	CHECK_INT(log_stream_lines(ls), 4);
	REQUIRE(read_file(p, &file) == 0);
	CHECK_STR(file.data, "one\ntwo\n\nthree\n");
	buf_release(&file);
	log_reader_close(lr);
	log_stream_free(ls);
	free(p);
}

TEST(late_reader_reads_from_file)
{
	char *p = path("b.out");
	struct log_stream *ls = log_stream_new(p, 4, 64);
	struct log_reader *lr;
	char buf[32], *line, *tail;
	size_t len;
	int i;

	REQUIRE(ls);
	for (i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "line %d\n", i);
		log_stream_feed(ls, buf, strlen(buf));
	}
	tail = log_stream_tail(ls, 2);
	CHECK_STR(tail, "line 98\nline 99");
	free(tail);
	lr = log_reader_new(ls);
	for (i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "line %d", i);
		if (log_reader_next(lr, &line, &len, 0) != 1 || strcmp(line, buf)) {
			CHECK_STR(line, buf);
			break;
		}
		CHECK(log_reader_time(lr) > 0);
	}
	CHECK_INT(log_reader_next(lr, &line, &len, 0), 0);
	/* the owner may go first: the reader keeps the stream */
	log_stream_close(ls);
	log_stream_free(ls);
	CHECK_INT(log_reader_next(lr, &line, &len, 0), -1);
	log_reader_close(lr);
	free(p);
}

/* the times file has one time per line once the stream is closed, written
 * as lines leave the ring and at the end, and never out of order */
TEST(times_file_is_complete_at_close)
{
	char *p = path("t.out"), *tp = path("t.out.times"), buf[32];
	struct log_stream *ls = log_stream_new(p, 4, 0);
	struct buf b = BUF_INIT;
	const unsigned char *t;
	uint64_t prev = 0;
	size_t n;
	int i, k;

	REQUIRE(ls);
	for (i = 0; i < 10; i++) {
		snprintf(buf, sizeof(buf), "line %d\n", i);
		log_stream_feed(ls, buf, strlen(buf));
	}
	/* six lines left the ring: their times are on disk already */
	REQUIRE(read_file(tp, &b) == 0);
	CHECK(b.len >= 6 * 8 && b.len % 8 == 0);
	buf_reset(&b);
	log_stream_close(ls);
	REQUIRE(read_file(tp, &b) == 0);
	t = (const unsigned char *)b.data;
	n = b.len;
	CHECK_INT((long)n, 10 * 8);
	for (i = 0; i < 10 && (size_t)i * 8 < n; i++) {
		uint64_t v = 0;
		for (k = 0; k < 8; k++)
			v |= (uint64_t)t[8 * i + k] << (8 * k);
		CHECK(v > 0 && v >= prev);
		prev = v;
	}
	buf_release(&b);
	log_stream_free(ls);
	free(p);
	free(tp);
}

TEST(long_lines_are_cut)
{
	char *p = path("c.out");
	struct log_stream *ls = log_stream_new(p, 8, 0);
	struct log_reader *lr;
	char *big = xmalloc(LOG_LINE_MAX + 11), *line;
	size_t len;

	REQUIRE(ls);
	memset(big, 'x', LOG_LINE_MAX + 10);
	big[LOG_LINE_MAX + 10] = '\n';
	lr = log_reader_new(ls);
	log_stream_feed(ls, big, 100);
	log_stream_feed(ls, big + 100, LOG_LINE_MAX + 11 - 100);
	CHECK_INT(log_reader_next(lr, &line, &len, 0), 1);
	CHECK_INT(len, LOG_LINE_MAX);
	CHECK_INT(log_reader_next(lr, &line, &len, 0), 1);
	CHECK_INT(len, 10);
	log_reader_close(lr);
	log_stream_close(ls);
	log_stream_free(ls);
	free(big);
	free(p);
}

struct feeder {
	struct log_stream *ls;
	int n;
};

static void *
feed_thread(void *arg)
{
	struct feeder *f = arg;
	char buf[32];
	int i;

	for (i = 0; i < f->n; i++) {
		snprintf(buf, sizeof(buf), "%d\n", i);
		log_stream_feed(f->ls, buf, strlen(buf));
		if (i % 1000 == 0)
			usleep(100);
	}
	log_stream_close(f->ls);
	return NULL;
}

TEST(concurrent_readers_see_every_line_once)
{
	char *p = path("d.out");
	struct feeder f;
	struct log_reader *a, *b;
	pthread_t t;
	struct pollfd pfd;
	int na = 0, nb = 0, r, ok = 1;
	char *line;
	size_t len;

	f.ls = log_stream_new(p, 64, 0);
	f.n = 20000;
	REQUIRE(f.ls);
	a = log_reader_new(f.ls);
	b = log_reader_new(f.ls);
	REQUIRE(pthread_create(&t, NULL, feed_thread, &f) == 0);
	/* a blocks in the call, b waits on its descriptor as an event loop would */
	for (;;) {
		r = log_reader_next(a, &line, &len, 1000);
		if (r < 0)
			break;
		if (r == 1 && atoi(line) != na++)
			ok = 0;
	}
	for (;;) {
		pfd.fd = log_reader_fd(b);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 2000) != 1)
			break;
		while ((r = log_reader_next(b, &line, &len, 0)) == 1)
			if (atoi(line) != nb++)
				ok = 0;
		if (r < 0)
			break;
	}
	pthread_join(t, NULL);
	CHECK(ok);
	CHECK_INT(na, f.n);
	CHECK_INT(nb, f.n);
	log_reader_close(a);
	log_reader_close(b);
	log_stream_free(f.ls);
	free(p);
}

TEST(attach_and_open)
{
	struct service s;
	char *p = path("e.err");
	struct log_stream *ls = log_stream_new(p, 8, 0);
	struct log_reader *lr;
	char *line;
	size_t len;

	memset(&s, 0, sizeof(s));
	s.name = "svc";
	CHECK(logs_open(&s, LOG_STDERR) == NULL);
	logs_attach(&s, LOG_STDERR, ls);
	log_stream_feed(ls, "hello\n", 6);
	lr = logs_open(&s, LOG_STDERR);
	REQUIRE(lr);
	CHECK_INT(log_reader_next(lr, &line, &len, -1), 1);
	CHECK_STR(line, "hello");
	logs_attach(&s, LOG_STDERR, NULL);
	CHECK(logs_stream(&s, LOG_STDERR) == NULL);
	log_stream_close(ls);
	log_stream_free(ls);
	CHECK_INT(log_reader_next(lr, &line, &len, -1), -1);
	log_reader_close(lr);
	free(p);
}

static int seen_read[4], seen_n;

static void
record_read(const char *line, size_t len, uint64_t time, int read, void *arg)
{
	(void)line;
	(void)len;
	(void)time;
	(void)arg;
	if (seen_n < 4)
		seen_read[seen_n++] = read;
}

TEST(a_subscriber_takes_the_lines_from_the_terminal)
{
	struct service s;
	char *p = path("f.out");
	struct log_stream *ls = log_stream_new(p, 8, 0);
	struct log_reader *lr, *plain;
	char *line;
	size_t len;

	memset(&s, 0, sizeof(s));
	s.name = "svc";
	REQUIRE(ls);
	log_stream_on_line(ls, record_read, NULL);
	logs_attach(&s, LOG_STDOUT, ls);
	plain = log_reader_new(ls);	/* not a subscriber */
	log_stream_feed(ls, "a\n", 2);
	CHECK(!log_stream_subscribed(ls));
	lr = logs_open(&s, LOG_STDOUT);
	REQUIRE(lr);
	CHECK(log_stream_subscribed(ls));
	log_stream_feed(ls, "b\n", 2);
	/* the line shown before is still the subscriber's */
	CHECK_INT(log_reader_next(lr, &line, &len, 0), 1);
	CHECK_STR(line, "a");
	log_reader_close(lr);
	CHECK(!log_stream_subscribed(ls));
	log_stream_feed(ls, "c\n", 2);
	CHECK_INT(seen_n, 3);
	CHECK_INT(seen_read[0], 0);
	CHECK_INT(seen_read[1], 1);
	CHECK_INT(seen_read[2], 0);
	log_reader_close(plain);
	logs_attach(&s, LOG_STDOUT, NULL);
	log_stream_close(ls);
	log_stream_free(ls);
	free(p);
}

TEST(colors_are_stable)
{
	CHECK_STR(logs_color("server"), logs_color("server"));
	CHECK(logs_color("a")[0] == '\033');
}

int
main(void)
{
	if (!mkdtemp(dir))
		return 1;
	RUN(lines_split_and_partial_flushed);
	RUN(late_reader_reads_from_file);
	RUN(times_file_is_complete_at_close);
	RUN(long_lines_are_cut);
	RUN(concurrent_readers_see_every_line_once);
	RUN(attach_and_open);
	RUN(a_subscriber_takes_the_lines_from_the_terminal);
	RUN(colors_are_stable);
	remove_tree(dir);
	return TEST_EXIT();
}
