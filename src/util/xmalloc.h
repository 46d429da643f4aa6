/*
 * xmalloc: allocators that never return NULL.
 *
 * Running out of memory is fatal: hydro prints one line and exits 1.
 * Every other module allocates through these, so no caller checks for NULL.
 */
#ifndef HYDRO_XMALLOC_H
#define HYDRO_XMALLOC_H

#include <stddef.h>

/* allocate n bytes, or die */
void *xmalloc(size_t n);
/* allocate n zeroed elements of size sz, or die (checks the product) */
void *xcalloc(size_t n, size_t sz);
/* resize p to n bytes, or die */
void *xrealloc(void *p, size_t n);
/* resize p to n elements of size sz, checking the product, or die */
void *xreallocarray(void *p, size_t n, size_t sz);
/* duplicate a string, or die */
char *xstrdup(const char *s);
/* duplicate at most n bytes of s and terminate, or die */
char *xstrndup(const char *s, size_t n);
/* format into a new string, or die */
char *xasprintf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* grow an array (p, n used, *cap allocated) so that it holds at least n+1 */
#define ALLOC_GROW(p, n, cap) do { \
	if ((n) >= (cap)) { \
		(cap) = (cap) ? (cap) * 2 : 8; \
		(p) = xreallocarray((p), (cap), sizeof(*(p))); \
	} \
} while (0)

#endif
