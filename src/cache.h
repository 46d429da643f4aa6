/*
 * cache: what each task last made, so that an up-to-date task is skipped.
 *
 * A task's key is a SHA-256 over everything its result depends on (the
 * command, its environment, its input files' contents, the toolchain and
 * target triple where there is one, its dependencies' keys): see
 * docs/internals/engine.md, "The cache key".  A finished task records its key
 * with its inputs' and outputs' hashes; a task whose key matches, with its
 * outputs present and unchanged, is up to date.
 *
 * Files are hashed once: the cache keeps each file's stat data (size, mtime,
 * inode, ctime, as git's index does) beside its hash, and trusts the hash
 * while the stat data match and the file was not changed within a second
 * before it was hashed (a write in the same clock tick would not show).
 *
 * On disk, .hydro/cache/index holds everything in one file, read in one go;
 * each task that ends writes its entry to .hydro/cache/new/ (temp, fsync,
 * rename), and cache_save() folds those into the index.  Every entry ends
 * with its length: a truncated one is ignored, and damage elsewhere can only
 * make a recorded hash differ, so a crash or a bad disk costs at most a
 * rebuild, never a wrong skip.  All calls are thread-safe.
 */
#ifndef HYDRO_CACHE_H
#define HYDRO_CACHE_H

#include <stddef.h>

#include "hash.h"

struct cache;

/* a file and the hash of its contents */
struct cache_file {
	char *path;		/* as the task names it (relative to its deployment) */
	struct hash hash;
};

/* what a task made, last time it ran */
struct cache_entry {
	char *name;		/* the task's unique name ("target gen") */
	struct hash key;
	char *decl;		/* the rest of what the key covers, as one line of
				 * text (the command, its environment...), so that
				 * an unchanged task is known without computing a key */
	struct cache_file *inputs;
	size_t ninputs;
	struct cache_file *outputs;
	size_t noutputs;
	struct cache_file *deps;	/* the dependencies' names and keys */
	size_t ndeps;
};

/* open the cache in dir (".hydro/cache"), reading what is there; a damaged
 * file is warned about and ignored; nothing is written until a put or save,
 * but the temporaries in new/ of a killed run (its pid is gone) are removed */
struct cache *cache_open(const char *dir);
/* free the cache (cache_save() first to keep what changed) */
void cache_free(struct cache *c);

/* the hash of a file's contents, from the stat cache when the file is
 * unchanged; 1 if the file does not exist, -1 with the error reported */
int cache_hash_file(struct cache *c, const char *path, struct hash *out);
/* what a task recorded, or NULL; valid until the next cache_put of the name */
const struct cache_entry *cache_get(struct cache *c, const char *name);
/* record what a task made; paths of files to stat are resolved against dir
 * (the deployment's); written to disk at once */
int cache_put(struct cache *c, const struct cache_entry *e, const char *dir);
/* fold what changed into the index, written atomically; -1 if it cannot be */
int cache_save(struct cache *c);
/* forget a task's record (it failed: its outputs are unknown) */
void cache_drop(struct cache *c, const char *name);

/* free the contents of an entry that the caller built */
void cache_entry_release(struct cache_entry *e);

#endif
