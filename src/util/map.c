#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "xmalloc.h"

/* FNV-1a */
static size_t
map_hash(const char *s, size_t len)
{
	size_t h = 2166136261u, i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static struct map_ent *
map_slot(const struct map *m, const char *key, size_t len)
{
	size_t i = map_hash(key, len) & (m->cap - 1);

	while (m->v[i].key && (m->v[i].len != len || memcmp(m->v[i].key, key, len)))
		i = (i + 1) & (m->cap - 1);
	return &m->v[i];
}

long
map_get(const struct map *m, const char *key, size_t len)
{
	const struct map_ent *e;

	if (!m->cap)
		return -1;
	e = map_slot(m, key, len);
	return e->key ? e->val : -1;
}

long
map_gets(const struct map *m, const char *key)
{
	return map_get(m, key, strlen(key));
}

void
map_put(struct map *m, const char *key, size_t len, long val)
{
	struct map_ent *e;
	struct map old;
	size_t i;

	if (2 * (m->n + 1) > m->cap) {
		old = *m;
		m->cap = m->cap ? m->cap * 2 : 64;
		m->v = xcalloc(m->cap, sizeof(*m->v));
		m->n = 0;
		for (i = 0; i < old.cap; i++)
			if (old.v[i].key)
				map_put(m, old.v[i].key, old.v[i].len, old.v[i].val);
		free(old.v);
	}
	e = map_slot(m, key, len);
	if (!e->key)
		m->n++;
	e->key = key;
	e->len = len;
	e->val = val;
}

void
map_puts(struct map *m, const char *key, long val)
{
	map_put(m, key, strlen(key), val);
}

void
map_release(struct map *m)
{
	free(m->v);
	m->v = NULL;
	m->cap = m->n = 0;
}
