/*
 * hash: SHA-256 through OpenSSL, for cache keys and upload checks.
 */
#ifndef HYDRO_HASH_H
#define HYDRO_HASH_H

#include <stddef.h>

#define HASH_LEN 32
#define HASH_HEX_LEN 65	/* 64 hex digits and a NUL */

struct hash {
	unsigned char b[HASH_LEN];
};

struct hasher {
	void *ctx;	/* EVP_MD_CTX */
};

/* start a SHA-256 computation */
void hasher_init(struct hasher *h);
/* feed n bytes */
void hasher_add(struct hasher *h, const void *data, size_t n);
/* feed a string with its length first, so that ("ab","c") != ("a","bc") */
void hasher_addstr(struct hasher *h, const char *s);
/* finish into out and free the context */
void hasher_final(struct hasher *h, struct hash *out);

/* hash n bytes */
void hash_bytes(const void *data, size_t n, struct hash *out);
/* hash what is left to read on fd; -1 with errno set (nothing reported) */
int hash_fd(int fd, struct hash *out);
/* hash a file's contents; -1 with the error reported if it cannot be read */
int hash_file(const char *path, struct hash *out);
/* write the hash as 64 lowercase hex digits and a NUL */
void hash_hex(const struct hash *h, char out[HASH_HEX_LEN]);
/* parse 64 hex digits; -1 if malformed */
int hash_parse(const char *hex, struct hash *out);

#endif
