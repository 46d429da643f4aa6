#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "error.h"
#include "hash.h"

void
hasher_init(struct hasher *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		fatal("cannot start a sha256 digest");
	h->ctx = ctx;
}

void
hasher_add(struct hasher *h, const void *data, size_t n)
{
	if (n && !EVP_DigestUpdate(h->ctx, data, n))
		fatal("sha256 update failed");
}

void
hasher_addstr(struct hasher *h, const char *s)
{
	uint64_t n = s ? strlen(s) : UINT64_MAX;
	unsigned char len[8];
	int i;

	for (i = 0; i < 8; i++)
		len[i] = (unsigned char)(n >> (8 * i));
	hasher_add(h, len, sizeof(len));
	if (s)
		hasher_add(h, s, (size_t)n);
}

void
hasher_final(struct hasher *h, struct hash *out)
{
	unsigned int n = 0;

	if (!EVP_DigestFinal_ex(h->ctx, out->b, &n) || n != HASH_LEN)
		fatal("sha256 final failed");
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void
hash_bytes(const void *data, size_t n, struct hash *out)
{
	struct hasher h;

	hasher_init(&h);
	hasher_add(&h, data, n);
	hasher_final(&h, out);
}

int
hash_fd(int fd, struct hash *out)
{
	struct hasher h;
	char buf[65536];
	ssize_t n;
	int err;

	hasher_init(&h);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		hasher_add(&h, buf, (size_t)n);
	}
	err = errno;
	hasher_final(&h, out);
	errno = err;
	return n < 0 ? -1 : 0;
}

int
hash_file(const char *path, struct hash *out)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("cannot open '%s'", path);
	ret = hash_fd(fd, out);
	if (ret < 0)
		error_errno("cannot read '%s'", path);
	close(fd);
	return ret;
}

void
hash_hex(const struct hash *h, char out[HASH_HEX_LEN])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < HASH_LEN; i++) {
		out[2 * i] = digits[h->b[i] >> 4];
		out[2 * i + 1] = digits[h->b[i] & 15];
	}
	out[2 * HASH_LEN] = '\0';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hash_parse(const char *hex, struct hash *out)
{
	int i, hi, lo;

	for (i = 0; i < HASH_LEN; i++) {
		hi = hexval((unsigned char)hex[2 * i]);
		lo = hi < 0 ? -1 : hexval((unsigned char)hex[2 * i + 1]);
		if (lo < 0)
			return -1;
		out->b[i] = (unsigned char)(hi << 4 | lo);
	}
	return hex[2 * HASH_LEN] ? -1 : 0;
}
