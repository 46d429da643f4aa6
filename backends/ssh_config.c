/*
 * ssh_config: a host name resolved through ~/.ssh/config as OpenSSH does.
 *
 * Host blocks whose patterns match the name (wildcards * and ? only, as
 * OpenSSH's match_pattern: "[host]:port" is a name, not a class; a pattern
 * starting with ! excludes) contribute, and the first value found of each
 * keyword wins, but IdentityFile, whose values add up.  The keywords read
 * are HostName, User, Port, IdentityFile and ProxyJump; others are ignored,
 * and so are Match blocks (none of them applies) and Include.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "error.h"
#include "fs.h"
#include "ssh.h"
#include "str.h"
#include "xmalloc.h"

/* split a line's arguments into words, honouring double quotes */
static size_t
config_words(char *s, char **w, size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (*s == '"') {
			w[n++] = ++s;
			while (*s && *s != '"')
				s++;
		} else {
			w[n++] = s;
			while (*s && *s != ' ' && *s != '\t')
				s++;
		}
		if (*s)
			*s++ = '\0';
	}
	return n;
}

int
ssh_pattern_match(const char *pat, const char *s)
{
	for (; *pat; pat++, s++) {
		if (*pat == '*') {
			while (pat[1] == '*')
				pat++;
			if (!pat[1])
				return 1;
			for (; *s; s++)
				if (ssh_pattern_match(pat + 1, s))
					return 1;
			return 0;
		}
		if (!*s || (*pat != '?' && *pat != *s))
			return 0;
	}
	return !*s;
}

/* whether a Host line's patterns match name */
static int
config_host_matches(char **pat, size_t n, const char *name)
{
	int hit = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (pat[i][0] == '!') {
			if (ssh_pattern_match(pat[i] + 1, name))
				return 0;
		} else if (ssh_pattern_match(pat[i], name)) {
			hit = 1;
		}
	}
	return hit;
}

/* ~ and the tokens %d (home), %h (host), %u (local user), %r (remote user), %% */
static char *
config_expand(const char *s, const char *name, const struct ssh_dest *d)
{
	const char *home = getenv("HOME"), *user = getenv("USER");
	struct buf b;

	buf_init(&b, 0);
	if (s[0] == '~' && s[1] == '/') {
		buf_addstr(&b, home ? home : "");
		s++;
	}
	for (; *s; s++) {
		if (*s != '%' || !s[1]) {
			buf_addch(&b, *s);
			continue;
		}
		switch (*++s) {
		case 'd': buf_addstr(&b, home ? home : ""); break;
		case 'h': buf_addstr(&b, d->hostname ? d->hostname : name); break;
		case 'u': buf_addstr(&b, user ? user : ""); break;
		case 'r': buf_addstr(&b, d->user ? d->user : (user ? user : "")); break;
		default: buf_addch(&b, *s); break;
		}
	}
	return buf_detach(&b, NULL);
}

int
ssh_config_resolve(const char *path, const char *name, struct ssh_dest *d)
{
	struct buf text;
	char *line, *next, *w[64];
	int active = 1;
	size_t lineno = 0, n;

	memset(d, 0, sizeof(*d));
	buf_init(&text, 0);
	if (path_exists(path) && read_file(path, &text) < 0) {
		buf_release(&text);
		return -1;
	}
	for (line = text.data; line && *line; line = next) {
		char *kw, *p;

		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		p = str_trim(line);
		if (!*p || *p == '#')
			continue;
		kw = p;
		p += strcspn(p, " \t=");
		if (*p) {
			*p++ = '\0';
			p += strspn(p, " \t");
			if (*p == '=')
				p++;
		}
		n = config_words(p, w, sizeof(w) / sizeof(w[0]));
		if (!strcasecmp(kw, "Host")) {
			active = config_host_matches(w, n, name);
			continue;
		}
		if (!strcasecmp(kw, "Match")) {
			active = 0;
			continue;
		}
		if (!active || !n)
			continue;
		if (!strcasecmp(kw, "HostName") && !d->hostname) {
			d->hostname = config_expand(w[0], name, d);
		} else if (!strcasecmp(kw, "User") && !d->user) {
			d->user = xstrdup(w[0]);
		} else if (!strcasecmp(kw, "Port") && !d->port) {
			long port;

			if (str_to_long(w[0], 1, 65535, &port) < 0) {
				error("%s:%zu: bad port '%s'; give a number from 1 to 65535",
				      path, lineno, w[0]);
				buf_release(&text);
				ssh_dest_release(d);
				return -1;
			}
			d->port = (int)port;
		} else if (!strcasecmp(kw, "IdentityFile")) {
			d->identity = xreallocarray(d->identity, d->nidentity + 1,
			                            sizeof(*d->identity));
			d->identity[d->nidentity++] = config_expand(w[0], name, d);
		} else if (!strcasecmp(kw, "ProxyJump") && !d->proxyjump) {
			/* "none" is a value too: it stops later blocks giving one */
			d->proxyjump = xstrdup(w[0]);
		}
	}
	buf_release(&text);
	if (d->proxyjump && !strcasecmp(d->proxyjump, "none")) {
		free(d->proxyjump);
		d->proxyjump = NULL;
	}
	if (!d->hostname)
		d->hostname = xstrdup(name);
	return 0;
}

void
ssh_dest_release(struct ssh_dest *d)
{
	size_t i;

	free(d->hostname);
	free(d->user);
	for (i = 0; i < d->nidentity; i++)
		free(d->identity[i]);
	free(d->identity);
	free(d->proxyjump);
	memset(d, 0, sizeof(*d));
}
