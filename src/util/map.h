/*
 * map: a hash table from strings to indices.
 *
 * Keys are borrowed (the caller keeps them alive and unchanged while they are
 * in the map) and given with their length, so that a name inside a larger
 * text needs no copy.  Values are non-negative longs: indices into the
 * caller's own arrays.  Open addressing, at most half full.
 */
#ifndef HYDRO_MAP_H
#define HYDRO_MAP_H

#include <stddef.h>

struct map_ent {
	const char *key;
	size_t len;
	long val;
};

struct map {
	struct map_ent *v;
	size_t cap, n;
};

#define MAP_INIT { NULL, 0, 0 }

/* the value at key, or -1 */
long map_get(const struct map *m, const char *key, size_t len);
/* the value at a NUL-terminated key, or -1 */
long map_gets(const struct map *m, const char *key);
/* set key to val (>= 0), replacing an earlier value */
void map_put(struct map *m, const char *key, size_t len, long val);
/* set a NUL-terminated key */
void map_puts(struct map *m, const char *key, long val);
/* free the table (not the keys) and leave an empty map */
void map_release(struct map *m);

#endif
