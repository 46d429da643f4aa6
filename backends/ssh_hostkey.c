/*
 * ssh_hostkey: host keys checked against known_hosts files, as OpenSSH
 * checks them, and trusted new ones recorded.
 *
 * A line is "[@marker] patterns type base64-key [comment]".  Patterns are
 * comma-separated host names or "[host]:port", with wildcards and !
 * negation, or one hashed name "|1|salt|HMAC-SHA1(salt, name)" (ssh-keygen
 * -H, HashKnownHosts).  A host is known when a line names it with the very
 * key it shows; it has changed when a line names it with another key of the
 * same type (or a @revoked line names its key); otherwise it is unknown.
 * @cert-authority lines are skipped: host certificates are not checked.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "error.h"
#include "fs.h"
#include "hash.h"
#include "ssh.h"
#include "xmalloc.h"

/* decode base64 into a new buffer; NULL if malformed */
static unsigned char *
b64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s), pad = 0;
	unsigned char *out;
	int got;

	if (!n || n % 4)
		return NULL;
	out = xmalloc(n / 4 * 3 + 1);
	got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (got < 0) {
		free(out);
		return NULL;
	}
	while (pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	*len = (size_t)got - pad;
	return out;
}

static char *
b64_encode(const unsigned char *data, size_t len)
{
	char *out = xmalloc((len + 2) / 3 * 4 + 1);

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

void
hostkey_type(const unsigned char *blob, size_t len, char *out, size_t outlen)
{
	size_t n;

	snprintf(out, outlen, "unknown");
	if (len < 4)
		return;
	n = (size_t)blob[0] << 24 | (size_t)blob[1] << 16 | (size_t)blob[2] << 8 | blob[3];
	if (n > len - 4 || n >= outlen)
		return;
	memcpy(out, blob + 4, n);
	out[n] = '\0';
}

void
hostkey_fingerprint(const unsigned char *blob, size_t len, char out[60])
{
	struct hash h;
	char *b64;
	size_t n;

	hash_bytes(blob, len, &h);
	b64 = b64_encode(h.b, sizeof(h.b));
	n = strlen(b64);
	while (n && b64[n - 1] == '=')
		b64[--n] = '\0';
	snprintf(out, 60, "SHA256:%s", b64);
	free(b64);
}

char *
hostkey_name(const char *host, int port)
{
	char *name = port && port != 22 ? xasprintf("[%s]:%d", host, port) : xstrdup(host);
	char *p;

	for (p = name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return name;
}

/* whether the hashed pattern "|1|salt|hash" is name */
static int
hostkey_hashed_matches(const char *pat, const char *name)
{
	char *copy = xstrdup(pat + 3), *bar = strchr(copy, '|');
	unsigned char *salt = NULL, *want = NULL, got[EVP_MAX_MD_SIZE];
	size_t saltlen, wantlen;
	unsigned gotlen = 0;
	int hit = 0;

	if (bar) {
		*bar = '\0';
		salt = b64_decode(copy, &saltlen);
		want = b64_decode(bar + 1, &wantlen);
	}
	if (salt && want && HMAC(EVP_sha1(), salt, (int)saltlen,
	                         (const unsigned char *)name, strlen(name), got, &gotlen))
		hit = gotlen == wantlen && !memcmp(got, want, wantlen);
	free(salt);
	free(want);
	free(copy);
	return hit;
}

/* whether a line's patterns field names name */
static int
hostkey_names(const char *field, const char *name)
{
	if (!strncmp(field, "|1|", 3))
		return hostkey_hashed_matches(field, name);
	return ssh_host_list_match(field, name);
}

/* one known_hosts line, split in place; 0 if it is not a key line */
struct kh_line {
	const char *marker;	/* "@revoked", "@cert-authority" or NULL */
	const char *names, *type, *key;
};

static int
hostkey_split(char *line, struct kh_line *l)
{
	char *w[4];
	size_t n = 0;
	char *p = line;

	while (n < 4) {
		p += strspn(p, " \t");
		if (!*p || *p == '#')
			break;
		w[n++] = p;
		p += strcspn(p, " \t");
		if (*p)
			*p++ = '\0';
	}
	l->marker = NULL;
	if (n && w[0][0] == '@') {
		l->marker = w[0];
		memmove(w, w + 1, --n * sizeof(w[0]));
	}
	if (n < 3)
		return 0;
	l->names = w[0];
	l->type = w[1];
	l->key = w[2];
	return 1;
}

/* call fn for every key line of files that names name; fn returns nonzero
 * to stop, and that is what hostkey_each returns (-1 for an unreadable file) */
typedef int kh_fn(void *arg, const char *file, size_t lineno, const struct kh_line *l);

static int
hostkey_each(const char *const *files, size_t nfiles, const char *name, kh_fn *fn,
             void *arg)
{
	size_t i;

	for (i = 0; i < nfiles; i++) {
		struct buf text;
		char *line, *next;
		size_t lineno = 0;
		int rc = 0;

		if (!files[i] || !path_exists(files[i]))
			continue;
		buf_init(&text, 0);
		if (read_file(files[i], &text) < 0) {
			buf_release(&text);
			return -1;
		}
		for (line = text.data; !rc && line && *line; line = next) {
			struct kh_line l;

			lineno++;
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			if (!hostkey_split(line, &l) || !hostkey_names(l.names, name))
				continue;
			if (l.marker && strcmp(l.marker, "@revoked"))
				continue;
			rc = fn(arg, files[i], lineno, &l);
		}
		buf_release(&text);
		if (rc)
			return rc;
	}
	return 0;
}

struct kh_check {
	const unsigned char *blob;
	size_t len;
	char type[64];
	int known;
	char *where;		/* the first line with another key of the type */
};

static int
hostkey_check_line(void *arg, const char *file, size_t lineno, const struct kh_line *l)
{
	struct kh_check *c = arg;
	unsigned char *key;
	size_t len;
	int same;

	key = b64_decode(l->key, &len);
	if (!key)
		return 0;
	same = len == c->len && !memcmp(key, c->blob, len);
	free(key);
	if (l->marker && same) {
		/* @revoked: this key must not be used, whatever else says */
		free(c->where);
		c->where = xasprintf("%s:%zu", file, lineno);
		c->known = 0;
		return 1;
	}
	if (l->marker)
		return 0;
	if (same)
		c->known = 1;
	else if (!strcmp(l->type, c->type) && !c->where)
		c->where = xasprintf("%s:%zu", file, lineno);
	return 0;
}

int
hostkey_check(const char *const *files, size_t nfiles, const char *name,
              const unsigned char *blob, size_t len, char **where)
{
	struct kh_check c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.blob = blob;
	c.len = len;
	hostkey_type(blob, len, c.type, sizeof(c.type));
	rc = hostkey_each(files, nfiles, name, hostkey_check_line, &c);
	*where = NULL;
	if (rc < 0) {
		free(c.where);
		return -1;
	}
	if (rc == 1 || (!c.known && c.where)) {
		*where = c.where;
		return HOSTKEY_CHANGED;
	}
	free(c.where);
	return c.known ? HOSTKEY_KNOWN : HOSTKEY_UNKNOWN;
}

static int
hostkey_add_type(void *arg, const char *file, size_t lineno, const struct kh_line *l)
{
	struct buf *types = arg;
	const char *p = types->data ? types->data : "";
	size_t n = strlen(l->type);

	(void)file;
	(void)lineno;
	if (l->marker)
		return 0;
	for (; (p = strstr(p, l->type)); p += n)
		if ((p == types->data || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return 0;
	if (types->len)
		buf_addch(types, ',');
	buf_addstr(types, l->type);
	return 0;
}

char *
hostkey_known_types(const char *const *files, size_t nfiles, const char *name)
{
	struct buf types;

	buf_init(&types, 0);
	if (hostkey_each(files, nfiles, name, hostkey_add_type, &types) || !types.len) {
		buf_release(&types);
		error_clear();
		return NULL;
	}
	return buf_detach(&types, NULL);
}

int
hostkey_record(const char *file, const char *name, const unsigned char *blob,
               size_t len)
{
	char type[64], *b64, *dir, last = '\n';
	struct buf line;
	struct stat st;
	int fd, rc = 0;

	dir = path_dirname(file);
	if (mkdir_p(dir, 0755) < 0) {
		free(dir);
		return -1;
	}
	free(dir);
	fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return error_errno("cannot open '%s'", file);
	if (!fstat(fd, &st) && st.st_size > 0) {
		int rfd = open(file, O_RDONLY | O_CLOEXEC);

		if (rfd >= 0) {
			if (pread(rfd, &last, 1, st.st_size - 1) != 1)
				last = '\n';
			close(rfd);
		}
	}
	hostkey_type(blob, len, type, sizeof(type));
	b64 = b64_encode(blob, len);
	buf_init(&line, 0);
	buf_printf(&line, "%s%s %s %s\n", last == '\n' ? "" : "\n", name, type, b64);
	free(b64);
	if (write_in_full(fd, line.data, line.len) < 0)
		rc = error_errno("cannot write '%s'", file);
	if (close(fd) < 0 && !rc)
		rc = error_errno("cannot write '%s'", file);
	buf_release(&line);
	return rc;
}
