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
	size_t n = strlen(a), m = strlen(b), i, j, *row, prev, tmp, d;

	row = xcalloc(m + 1, sizeof(*row));
	for (j = 0; j <= m; j++)
		row[j] = j;
	for (i = 1; i <= n; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= m; j++) {
			tmp = row[j];
			d = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < d)
				d = row[j] + 1;
			if (row[j - 1] + 1 < d)
				d = row[j - 1] + 1;
			row[j] = d;
			prev = tmp;
		}
	}
	d = row[m];
	free(row);
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
