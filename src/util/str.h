/*
 * str: small string helpers.
 */
#ifndef HYDRO_STR_H
#define HYDRO_STR_H

#include <stddef.h>

#include "buf.h"

/* whether s begins with prefix */
int str_starts(const char *s, const char *prefix);
/* whether s ends with suffix */
int str_ends(const char *s, const char *suffix);
/* strip white space at both ends, in place; returns s moved past the front */
char *str_trim(char *s);
/* parse a whole decimal integer in [min, max]; -1 (nothing reported) if not */
int str_to_long(const char *s, long min, long max, long *out);
/* edit distance between a and b, a swap of two neighbours counting one
 * (for "did you mean" hints) */
size_t str_distance(const char *a, const char *b);
/* the closest of n names to s, or NULL when none is close enough */
const char *str_closest(const char *s, const char *const *names, size_t n);
/* append s quoted for a POSIX shell ('...' with '\'' for quotes) */
void str_shell_quote(struct buf *out, const char *s);
/* argv[0..n) as one command line, each word quoted when it needs to be and
 * the words separated by spaces: a new string */
char *str_shell_line(char *const *argv, size_t n);
/* split s at every sep into a NULL-terminated array of new strings */
char **str_split(const char *s, int sep, size_t *n);
/* free an array from str_split (or any NULL-terminated array of strings) */
void str_free_list(char **list);

#endif
