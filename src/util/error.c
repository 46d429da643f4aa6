#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "term.h"
#include "xmalloc.h"

const char *error_progname = "hydro";

static _Thread_local char last[1024];
static _Thread_local error_reporter *reporter;
static _Thread_local void *reporter_arg;
static unsigned nerrors, nwarnings;

static void
report_default(enum error_level level, const char *msg)
{
	static const char *const label[] = {
		[LEVEL_ERROR] = "error", [LEVEL_WARNING] = "warning",
		[LEVEL_NOTE] = "note",
	};
	static const char *const color[] = {
		[LEVEL_ERROR] = "\033[1;31m", [LEVEL_WARNING] = "\033[1;33m",
		[LEVEL_NOTE] = "\033[1;36m",
	};
	int c = term_color(STDERR_FILENO);

	/* one fprintf, so that lines of several threads do not interleave */
	if (level == LEVEL_NOTE)
		fprintf(stderr, "  %s%s%s: %s\n", c ? color[level] : "",
		        label[level], c ? "\033[0m" : "", msg);
	else
		fprintf(stderr, "%s: %s%s%s: %s\n", error_progname,
		        c ? color[level] : "", label[level], c ? "\033[0m" : "", msg);
}

static void
vreport(enum error_level level, const char *fmt, va_list ap, int err)
{
	char msg[sizeof(last)];
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		n = 0;
	if (err) {
		/* a message too long to hold whole is cut before the errno
		 * text, not the text: it says what went wrong */
		const char *why = strerror(err), *cut = "...";
		size_t room = sizeof(msg) - 1 - strlen("...: ") - strlen(why);

		if ((size_t)n + 2 + strlen(why) < sizeof(msg)) {
			cut = "";
		} else {
			if ((size_t)n > room)
				n = (int)room;
			/* not inside a UTF-8 character */
			while (n > 0 && ((unsigned char)msg[n] & 0xc0) == 0x80)
				n--;
		}
		snprintf(msg + n, sizeof(msg) - (size_t)n, "%s: %s", cut, why);
	}
	if (level == LEVEL_ERROR) {
		memcpy(last, msg, sizeof(last));
		__atomic_add_fetch(&nerrors, 1, __ATOMIC_RELAXED);
	} else if (level == LEVEL_WARNING) {
		__atomic_add_fetch(&nwarnings, 1, __ATOMIC_RELAXED);
	}
	if (reporter)
		reporter(level, msg, reporter_arg);
	else
		report_default(level, msg);
}

int
error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(LEVEL_ERROR, fmt, ap, 0);
	va_end(ap);
	return -1;
}

int
error_errno(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	vreport(LEVEL_ERROR, fmt, ap, err);
	va_end(ap);
	errno = err;
	return -1;
}

void
warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(LEVEL_WARNING, fmt, ap, 0);
	va_end(ap);
}

void
note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(LEVEL_NOTE, fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reporter = NULL;
	vreport(LEVEL_ERROR, fmt, ap, 0);
	va_end(ap);
	exit(1);
}

const char *
error_last(void)
{
	return last;
}

void
error_clear(void)
{
	last[0] = '\0';
}

error_reporter *
error_get_reporter(void **arg)
{
	*arg = reporter_arg;
	return reporter;
}

void
error_set_reporter(error_reporter *fn, void *arg)
{
	reporter = fn;
	reporter_arg = arg;
}

unsigned
error_count(void)
{
	return __atomic_load_n(&nerrors, __ATOMIC_RELAXED);
}

unsigned
warning_count(void)
{
	return __atomic_load_n(&nwarnings, __ATOMIC_RELAXED);
}

void
error_log_keep(enum error_level level, const char *msg, void *arg)
{
	struct error_log *log = arg;

	ALLOC_GROW(log->msgs, log->n, log->cap);
	log->msgs[log->n].level = level;
	log->msgs[log->n].text = xstrdup(msg);
	log->n++;
	log->nerrors += level == LEVEL_ERROR;
}

void
error_log_replay(const struct error_log *log, const char *prefix)
{
	const char *sep = prefix ? ": " : "";
	size_t i;

	if (!prefix)
		prefix = "";
	for (i = 0; i < log->n; i++) {
		const struct error_msg *m = &log->msgs[i];

		if (m->level == LEVEL_ERROR)
			error("%s%s%s", prefix, sep, m->text);
		else if (m->level == LEVEL_WARNING)
			warning("%s%s%s", prefix, sep, m->text);
		else
			note("%s", m->text);
	}
}

void
error_log_release(struct error_log *log)
{
	size_t i;

	for (i = 0; i < log->n; i++)
		free(log->msgs[i].text);
	free(log->msgs);
	*log = (struct error_log)ERROR_LOG_INIT;
}
