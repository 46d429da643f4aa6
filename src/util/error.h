/*
 * error: reporting, git style.
 *
 * error() formats a message, records it as this thread's last error, hands it
 * to the current reporter (by default: "hydro: error: MSG" on stderr) and
 * returns -1, so that a failing function can end with `return error(...)`.
 * Messages are lowercase, without a full stop, and quote what they are about:
 *   cannot read 'src/echo_server.hf': No such file or directory
 */
#ifndef HYDRO_ERROR_H
#define HYDRO_ERROR_H

#include <stdarg.h>
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

/* the program name used in messages ("hydro") */
extern const char *error_progname;

#endif
