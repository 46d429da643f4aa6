/*
 * logs: every line a service prints, kept and served.
 *
 * A log stream is one of a service's outputs (stdout or stderr).  The
 * supervisor feeds it raw bytes as they arrive; the stream splits them into
 * lines, stamps each with its arrival time, keeps the newest in a bounded
 * ring in memory, writes all of them to a file (and their times to a file
 * beside it), and wakes its readers.  A reader starts at the first line ever
 * printed and reads from the ring, or from the file when it has fallen behind
 * the ring, so that any number of readers see every line exactly once,
 * however late they start.
 *
 * Files: logs/<service>.out and .err hold the lines as printed, each ended by
 * '\n'; .out.times and .err.times hold one little-endian uint64 per line, the
 * arrival time in microseconds since the epoch.  A stream that prints
 * nothing makes no files.
 */
#ifndef HYDRO_LOGS_H
#define HYDRO_LOGS_H

#include <stddef.h>
#include <stdint.h>

#include "deploy.h"

#define LOG_STDOUT 1
#define LOG_STDERR 2

/* a line longer than this is cut into pieces of this size */
#define LOG_LINE_MAX (64 * 1024)

struct log_stream;
struct log_reader;

/* what a stream does with each complete line besides keeping it: print it
 * (the terminal) or look at it (readiness patterns); read is set when a
 * subscriber (logs_open) had the stream as the line was kept, so that the
 * terminal leaves it to them; time is the line's arrival time (microseconds
 * since the epoch); called by the feeding thread with the stream unlocked,
 * after the line is kept */
typedef void log_line_fn(const char *line, size_t len, uint64_t time, int read, void *arg);

/* a new stream writing to path, created with the first line, and path.times
 * (a little-endian uint64 of microseconds since the epoch per line, written
 * as lines leave the ring and when the stream closes); a file that cannot be
 * written is reported once, and the ring and readers go on */
struct log_stream *log_stream_new(const char *path, size_t ring_lines, size_t ring_bytes);
/* call fn on every complete line, after it is kept */
void log_stream_on_line(struct log_stream *ls, log_line_fn *fn, void *arg);
/* feed n bytes as read from the service; -1 if the file cannot be written */
int log_stream_feed(struct log_stream *ls, const char *data, size_t n);
/* the service is gone: flush a partial last line, wake readers with the end */
void log_stream_close(struct log_stream *ls);
/* free a stream (no reader may remain open) */
void log_stream_free(struct log_stream *ls);
/* whether a subscriber (logs_open) reads the stream now */
int log_stream_subscribed(struct log_stream *ls);
/* the number of lines so far */
uint64_t log_stream_lines(struct log_stream *ls);
/* the last n lines, joined with '\n' into a new string ("" when none) */
char *log_stream_tail(struct log_stream *ls, size_t n);

/* attach a stream to a service: logs_open() finds it there */
void logs_attach(struct service *s, int stream, struct log_stream *ls);
/* the stream attached to a service, or NULL */
struct log_stream *logs_stream(struct service *s, int stream);

/* a subscriber of a service's stdout (1) or stderr (2), starting at its
 * first line: while it is open, the stream's lines are its and no longer the
 * terminal's (Hydro Deploy's stdout()); NULL with the error reported if the
 * service has not been launched */
struct log_reader *logs_open(struct service *s, int stream);
/* a reader of a stream, starting at its first line (not a subscriber) */
struct log_reader *log_reader_new(struct log_stream *ls);
/* the next line into *line (valid until the next call; no '\n') and *len:
 * 1 a line, 0 none within timeout_ms (0: do not wait, -1: forever),
 * -1 the end (the service is gone and every line was read) */
int log_reader_next(struct log_reader *lr, char **line, size_t *len, int timeout_ms);
/* the arrival time of the line last returned, in microseconds since the epoch */
uint64_t log_reader_time(const struct log_reader *lr);
/* a descriptor that is readable whenever lines (or the end) may be
 * available, for an event loop (asyncio's add_reader); read with
 * log_reader_next(..., 0) until it returns 0 */
int log_reader_fd(struct log_reader *lr);
/* close the reader */
void log_reader_close(struct log_reader *lr);

/* the size of logs_format_time()'s text, its NUL included */
#define LOG_TIME_SIZE 28
/* a line's arrival time as `hydro run --timestamps` shows it: RFC 3339 in
 * UTC to the microsecond, "2026-12-06T18:40:01.123456Z" */
void logs_format_time(uint64_t us, char buf[LOG_TIME_SIZE]);

/* the colour (an SGR sequence) of a service name: the same name always gets
 * the same colour, as in docker compose */
const char *logs_color(const char *name);

#endif
