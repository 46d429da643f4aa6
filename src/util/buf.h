/*
 * buf: growable byte buffers with a maximum size.
 *
 * The data is always NUL-terminated, so a buffer of text is a C string.
 * A buffer with max != 0 refuses to grow past max bytes: the adding call
 * returns -1 and leaves the buffer as it was (curl's dynbuf does the same).
 */
#ifndef HYDRO_BUF_H
#define HYDRO_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;	/* 0: unbounded */
};

#define BUF_INIT { NULL, 0, 0, 0 }

/* initialise an empty buffer that never grows past max bytes (0: no bound) */
void buf_init(struct buf *b, size_t max);
/* free the data and leave an empty buffer with the same bound */
void buf_release(struct buf *b);
/* hand the data to the caller (never NULL) and leave an empty buffer */
char *buf_detach(struct buf *b, size_t *len);
/* forget the contents, keep the allocation */
void buf_reset(struct buf *b);
/* make room for n more bytes; -1 past the bound */
int buf_grow(struct buf *b, size_t n);
/* append n bytes; -1 past the bound */
int buf_add(struct buf *b, const void *data, size_t n);
/* append a string; -1 past the bound */
int buf_addstr(struct buf *b, const char *s);
/* append one byte; -1 past the bound */
int buf_addch(struct buf *b, int c);
/* append formatted text; -1 past the bound */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* drop the first n bytes */
void buf_consume(struct buf *b, size_t n);
/* the contents as a string ("" when empty, never NULL) */
const char *buf_str(const struct buf *b);

#endif
