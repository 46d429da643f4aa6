/*
 * ssh_config: a host name resolved through ~/.ssh/config as OpenSSH does.
 *
 * Host blocks whose patterns match the name (wildcards * and ? only, as
 * OpenSSH's match_pattern: "[host]:port" is a name, not a class; a pattern
 * starting with ! excludes; case counts, for OpenSSH lowercases the name
 * only after reading its config) and Match blocks whose criteria hold (all,
 * host: the name after a HostName given before, originalhost, both in any
 * case as OpenSSH's match_hostname, user, localuser; comma-separated
 * patterns, ! negating; others such as exec or canonical are warned about
 * and their block skipped) contribute, and the first value
 * found of each keyword wins, but IdentityFile, whose values add up.
 * Include reads files (globs, relative to ~/.ssh) in place, within the
 * block it appears in.  The keywords read are HostName, User, Port,
 * IdentityFile and ProxyJump; others are ignored.
 */
#include <ctype.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
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

int
ssh_pattern_list_match(const char *list, const char *s)
{
	char *copy = xstrdup(list), *save = NULL, *p;
	int hit = 0;

	for (p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		if (p[0] == '!') {
			if (ssh_pattern_match(p + 1, s)) {
				hit = 0;
				break;
			}
		} else if (ssh_pattern_match(p, s)) {
			hit = 1;
		}
	}
	free(copy);
	return hit;
}

int
ssh_host_list_match(const char *list, const char *name)
{
	char *l = xstrdup(list), *n = xstrdup(name), *p;
	int hit;

	for (p = l; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (p = n; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	hit = ssh_pattern_list_match(l, n);
	free(l);
	free(n);
	return hit;
}

/* whether a Host line's patterns match name: as OpenSSH's first pass does,
 * the name as given, case and all */
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

/* what a file is read for */
struct config_ctx {
	const char *name;	/* the name as given */
	const char *user;	/* the login given, or NULL */
	struct ssh_dest *d;
};

/* OpenSSH's limit on nested Include */
#define CONFIG_MAX_DEPTH 16

/* the login Match user compares: the one given, else the config's so far,
 * else this machine's */
static const char *
config_user(const struct config_ctx *x)
{
	const char *u = x->user ? x->user : x->d->user ? x->d->user : getenv("USER");

	return u ? u : "";
}

/*
 * Whether a Match line's criteria all hold: all, host (the name after a
 * HostName already given), originalhost, user, localuser; 1 yes, 0 no, -1
 * for a criterion hydro cannot decide (exec, canonical, final...), which
 * is warned about once with *where, and then the block does not apply.
 */
static int
config_match(const struct config_ctx *x, char **w, size_t n, const char *where)
{
	static pthread_mutex_t warned_lock = PTHREAD_MUTEX_INITIALIZER;
	static char **warned;
	static size_t nwarned;
	size_t i, k;
	int hit = 1;

	if (!n)
		return error("%s: Match needs criteria (all, host, originalhost, user...)",
		             where);
	for (i = 0; i < n && hit; i++) {
		char *crit = w[i], *arg, *eq = strchr(crit, '=');
		int neg = crit[0] == '!', r;
		const char *local;

		if (neg)
			crit++;
		if (eq) {
			*eq = '\0';
			arg = eq + 1;
		} else {
			arg = NULL;
		}
		if (!strcasecmp(crit, "all")) {
			r = 1;
		} else if (!strcasecmp(crit, "host") || !strcasecmp(crit, "originalhost") ||
		           !strcasecmp(crit, "user") || !strcasecmp(crit, "localuser")) {
			if (!arg && i + 1 < n)
				arg = w[++i];
			if (!arg)
				return error("%s: Match %s needs patterns", where, crit);
			local = getenv("USER");
			if (!strcasecmp(crit, "host"))
				r = ssh_host_list_match(arg, x->d->hostname ? x->d->hostname :
				                           x->name);
			else if (!strcasecmp(crit, "originalhost"))
				r = ssh_host_list_match(arg, x->name);
			else
				r = ssh_pattern_list_match(arg, !strcasecmp(crit, "user") ?
				                           config_user(x) : local ? local : "");
		} else {
			pthread_mutex_lock(&warned_lock);
			for (k = 0; k < nwarned && strcmp(warned[k], where); k++)
				;
			if (k == nwarned) {
				warned = xreallocarray(warned, nwarned + 1, sizeof(*warned));
				warned[nwarned++] = xstrdup(where);
				warning("%s: 'Match %s' is not understood by hydro; the block it "
				        "opens is skipped (use Host or Match host, user, originalhost "
				        "or all for hosts hydro reaches)", where, crit);
			}
			pthread_mutex_unlock(&warned_lock);
			return 0;
		}
		hit = neg ? !r : r;
	}
	return hit;
}

static int config_read(struct config_ctx *x, const char *path, int *active, int never,
                       int depth);

/* Include's files, each a glob relative to ~/.ssh, read in name order with
 * the including block's state, which they do not change */
static int
config_include(struct config_ctx *x, char **w, size_t n, int *active, int never,
               int depth, const char *where)
{
	const char *home = getenv("HOME");
	int saved = *active;
	size_t i, k;

	if (depth >= CONFIG_MAX_DEPTH)
		return error("%s: more than %d nested Include; is there a loop?", where,
		             CONFIG_MAX_DEPTH);
	for (i = 0; i < n; i++) {
		char *pat = w[i][0] == '~' && (w[i][1] == '/' || !w[i][1]) ?
		            xasprintf("%s%s", home ? home : "", w[i] + 1) :
		            w[i][0] == '/' ? xstrdup(w[i]) :
		            xasprintf("%s/.ssh/%s", home ? home : "", w[i]);
		glob_t g;
		int rc = glob(pat, 0, NULL, &g);

		free(pat);
		if (rc == GLOB_NOMATCH)
			continue;
		if (rc)
			return error("%s: cannot expand Include '%s'", where, w[i]);
		for (k = 0; k < g.gl_pathc; k++) {
			rc = config_read(x, g.gl_pathv[k], active, never || !saved, depth + 1);
			*active = saved;
			if (rc < 0) {
				globfree(&g);
				return -1;
			}
		}
		globfree(&g);
	}
	return 0;
}

/*
 * Read one file into x->d.  *active says whether the lines read apply (a
 * Host or Match line sets it); never: this file was included from a block
 * that does not apply, so none of its blocks does.
 */
static int
config_read(struct config_ctx *x, const char *path, int *active, int never, int depth)
{
	struct ssh_dest *d = x->d;
	struct buf text;
	char *line, *next, *w[64], where[4200];
	size_t lineno = 0, n;
	int ret = 0;

	buf_init(&text, 0);
	if (path_exists(path) && read_file(path, &text) < 0) {
		buf_release(&text);
		return -1;
	}
	for (line = text.data; line && *line && ret == 0; line = next) {
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
		snprintf(where, sizeof(where), "%s:%zu", path, lineno);
		if (!strcasecmp(kw, "Host")) {
			*active = !never && config_host_matches(w, n, x->name);
			continue;
		}
		if (!strcasecmp(kw, "Match")) {
			int r = config_match(x, w, n, where);

			if (r < 0)
				ret = -1;
			*active = !never && r > 0;
			continue;
		}
		if (!strcasecmp(kw, "Include")) {
			ret = config_include(x, w, n, active, never, depth, where);
			continue;
		}
		if (!*active || !n)
			continue;
		if (!strcasecmp(kw, "HostName") && !d->hostname) {
			d->hostname = config_expand(w[0], x->name, d);
		} else if (!strcasecmp(kw, "User") && !d->user) {
			d->user = xstrdup(w[0]);
		} else if (!strcasecmp(kw, "Port") && !d->port) {
			long port;

			if (str_to_long(w[0], 1, 65535, &port) < 0)
				ret = error("%s: bad port '%s'; give a number from 1 to 65535",
				            where, w[0]);
			else
				d->port = (int)port;
		} else if (!strcasecmp(kw, "IdentityFile")) {
			d->identity = xreallocarray(d->identity, d->nidentity + 1,
			                            sizeof(*d->identity));
			d->identity[d->nidentity++] = config_expand(w[0], x->name, d);
		} else if (!strcasecmp(kw, "ProxyJump") && !d->proxyjump) {
			/* "none" is a value too: it stops later blocks giving one */
			d->proxyjump = xstrdup(w[0]);
		}
	}
	buf_release(&text);
	return ret;
}

int
ssh_config_resolve(const char *path, const char *name, const char *user,
                   struct ssh_dest *d)
{
	struct config_ctx x = { name, user, d };
	int active = 1, ret;

	memset(d, 0, sizeof(*d));
	ret = config_read(&x, path, &active, 0, 0);
	if (ret < 0) {
		ssh_dest_release(d);
		return -1;
	}
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
