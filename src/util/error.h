/*
 * error: reporting, git style.
 *
 * error() formats a message, records it as this thread's last error, hands it
 * to the current reporter (by default: "hydro: error: MSG" on stderr) and
 * returns -1, so that a failing function can end with `return error(...)`.
 * Messages are lowercase, without a full stop, and quote what they are about:
 *   cannot read 'src/echo_server.hf': No such file or directory
 *
 * A log (struct error_log) keeps what a thread reports, to be said later on
 * another thread in the same order: the messages of a pool task, said when
 * it ends, so that the lines of tasks running at once do not mix with each
 * other or with the progress display.
 */
#ifndef HYDRO_ERROR_H
#define HYDRO_ERROR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdnoreturn.h>

enum error_level { LEVEL_ERROR, LEVEL_WARNING, LEVEL_NOTE };

/* a reporter gets every message; NULL restores the default (stderr) */
typedef void error_reporter(enum error_level level, const char *msg, void *arg);

/* record and report an error; returns -1 */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* as error(), with ": strerror(errno)" appended */
int error_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* report a warning; never fails */
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* report a note, an indented follow-up line to an error or a warning */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* report and exit(1): only for what cannot go on (out of memory) */
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* the message of this thread's last error(), or "" */
const char *error_last(void);
/* forget this thread's last error */
void error_clear(void);
/* send every message of this thread to fn instead of stderr (NULL: default) */
void error_set_reporter(error_reporter *fn, void *arg);
/* this thread's reporter (NULL: the default) and its argument */
error_reporter *error_get_reporter(void **arg);
/* count of errors and warnings reported so far (all threads) */
unsigned error_count(void);
unsigned warning_count(void);

/* a message kept in a log */
struct error_msg {
	enum error_level level;
	char *text;
};
/* messages kept in the order they were reported */
struct error_log {
	struct error_msg *msgs;
	size_t n, cap;
	unsigned nerrors;	/* how many of them are errors */
};
#define ERROR_LOG_INIT { NULL, 0, 0, 0 }

/* a reporter that keeps each message in the struct error_log arg:
 * error_set_reporter(error_log_keep, &log) */
void error_log_keep(enum error_level level, const char *msg, void *arg);
/* report the kept messages on this thread, in order; a prefix (may be NULL)
 * goes before each error and warning ("PREFIX: MSG"), not before notes */
void error_log_replay(const struct error_log *log, const char *prefix);
/* free the kept messages; the log is empty again */
void error_log_release(struct error_log *log);

/* the program name used in messages ("hydro") */
extern const char *error_progname;

#endif
