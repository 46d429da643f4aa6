#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"
#include "xmalloc.h"

int
str_starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int
str_ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

char *
str_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*e = '\0';
	return s;
}

int
str_to_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

size_t
str_distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b), i, j, *rows, *r2, *r1, *r0, d;

	/* three rows of the table: two back for a transposition */
	rows = xcalloc(3 * (m + 1), sizeof(*rows));
	r2 = rows;
	r1 = rows + (m + 1);
	r0 = rows + 2 * (m + 1);
	for (j = 0; j <= m; j++)
		r1[j] = j;
	for (i = 1; i <= n; i++) {
		size_t *t = r2;

		r0[0] = i;
		for (j = 1; j <= m; j++) {
			d = r1[j - 1] + (a[i - 1] != b[j - 1]);
			if (r1[j] + 1 < d)
				d = r1[j] + 1;
			if (r0[j - 1] + 1 < d)
				d = r0[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    r2[j - 2] + 1 < d)
				d = r2[j - 2] + 1;
			r0[j] = d;
		}
		r2 = r1;
		r1 = r0;
		r0 = t;
	}
	d = r1[m];
	free(rows);
	return d;
}

const char *
str_closest(const char *s, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t i, d, bestd = (size_t)-1, len = strlen(s);
	size_t limit = len < 4 ? 1 : len / 3 + 1;

	for (i = 0; i < n; i++) {
		d = str_distance(s, names[i]);
		if (d < bestd) {
			bestd = d;
			best = names[i];
		}
	}
	return bestd <= limit ? best : NULL;
}

void
str_shell_quote(struct buf *out, const char *s)
{
	const char *p;

	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                    "0123456789_-./=:,+@%") == strlen(s)) {
		buf_addstr(out, s);
		return;
	}
	buf_addch(out, '\'');
	for (p = s; *p; p++) {
		if (*p == '\'')
			buf_addstr(out, "'\\''");
		else
			buf_addch(out, *p);
	}
	buf_addch(out, '\'');
}

char *
str_shell_line(char *const *argv, size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i)
			buf_addch(&b, ' ');
		str_shell_quote(&b, argv[i]);
	}
	return buf_detach(&b, NULL);
}

char **
str_split(const char *s, int sep, size_t *np)
{
	char **list = NULL;
	size_t n = 0, cap = 0;
	const char *e;

	for (;;) {
		e = strchr(s, sep);
		ALLOC_GROW(list, n + 1, cap);
		list[n++] = e ? xstrndup(s, (size_t)(e - s)) : xstrdup(s);
		if (!e)
			break;
		s = e + 1;
	}
	list[n] = NULL;
	if (np)
		*np = n;
	return list;
}

void
str_free_list(char **list)
{
	char **p;

	if (!list)
		return;
	for (p = list; *p; p++)
		free(*p);
	free(list);
}
