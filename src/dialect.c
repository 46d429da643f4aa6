#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "dialect.h"
#include "error.h"
#include "fs.h"
#include "json.h"
#include "str.h"
#include "xmalloc.h"

/* a release as major * 1e6 + minor * 1e3 + patch; -1 if v is no version */
static long
version_number(const char *v)
{
	long part[3] = { 0, 0, 0 };
	char *end;
	int i;

	for (i = 0; i < 3; i++) {
		if (*v < '0' || *v > '9')
			return -1;
		part[i] = strtol(v, &end, 10);
		if (part[i] > 999)
			return -1;
		v = end;
		if (i < 2 && *v++ != '.')
			return -1;
	}
	return part[0] * 1000000 + part[1] * 1000 + part[2];
}

#define V(a, b, c) ((a) * 1000000L + (b) * 1000L + (c))

/* where a release of one of hydroflow's crates stands */
enum verdict { NOT_OURS, SPEAKS_05, SPEAKS_10, OLDER, NEWER };

/*
 * The crates that carry the handshake, and the releases of each that speak
 * each dialect (read from hydroflow's source at each release): hydroflow's
 * util::cli (util::deploy from 0.9) is the program side, on the wire types
 * of hydroflow_cli_integration (renamed hydroflow_deploy_integration in 0.9).
 * After 0.10 they became dfir_rs and hydro_deploy_integration.  prio 1: a
 * program side, which decides over a types crate (prio 0).
 */
static const struct {
	const char *name;
	int prio;
	long first, first10, after;	/* [first, first10): 0.5's; [first10, after): 0.10's */
} crates[] = {
	{ "hydroflow", 1, V(0, 5, 0), V(0, 5, 1), V(0, 11, 0) },
	{ "dfir_rs", 1, 0, 0, 0 },
	{ "hydroflow_cli_integration", 0, V(0, 3, 0), V(0, 5, 0), V(0, 6, 0) },
	{ "hydroflow_deploy_integration", 0, V(0, 9, 0), V(0, 9, 0), V(0, 11, 0) },
	{ "hydro_deploy_integration", 0, 0, 0, 0 },
};

static enum verdict
judge(size_t c, long v)
{
	if (v < crates[c].first)
		return OLDER;
	if (v < crates[c].first10)
		return SPEAKS_05;
	if (v < crates[c].after)
		return SPEAKS_10;
	return NEWER;
}

/* the package of one [[package]] table that decides, kept while reading */
struct pick {
	int prio;		/* of the crate picked, -1: none yet */
	enum verdict verdict;
	char *name, *version;
};

static void
consider(struct pick *p, const char *name, const char *version, const char *what, int *conflict)
{
	size_t c;
	long v;
	enum verdict d;

	if (!name || !version)
		return;
	for (c = 0; c < sizeof(crates) / sizeof(crates[0]); c++)
		if (!strcmp(crates[c].name, name))
			break;
	if (c == sizeof(crates) / sizeof(crates[0]) || crates[c].prio < p->prio)
		return;
	v = version_number(version);
	d = v < 0 ? NEWER : judge(c, v);
	if (crates[c].prio == p->prio) {
		/* two releases speaking the same dialect: either will do */
		int same = (d == OLDER || d == SPEAKS_05) == (p->verdict == OLDER ||
		                                              p->verdict == SPEAKS_05);
		if (!same && !*conflict) {
			error("%s links %s %s and %s %s, which speak different versions of "
			      "the port protocol: build it against one", what, p->name,
			      p->version, name, version);
			*conflict = 1;
		}
		return;
	}
	free(p->name);
	free(p->version);
	p->prio = crates[c].prio;
	p->verdict = d;
	p->name = xstrdup(name);
	p->version = xstrdup(version);
}

/* the value of `key = "value"` on a lock's line, a new string, or NULL */
static char *
lock_value(const char *line, size_t n, const char *key)
{
	size_t k = strlen(key);
	const char *q, *e;

	if (n < k || strncmp(line, key, k))
		return NULL;
	q = line + k;
	while (q < line + n && *q == ' ')
		q++;
	if (q >= line + n || *q++ != '=')
		return NULL;
	while (q < line + n && *q == ' ')
		q++;
	if (q >= line + n || *q++ != '"')
		return NULL;
	e = memchr(q, '"', (size_t)(line + n - q));
	return e ? xstrndup(q, (size_t)(e - q)) : NULL;
}

int
dialect_from_lock(const char *lock, const char *what, enum dialect *out)
{
	struct pick p = { -1, NOT_OURS, NULL, NULL };
	char *name = NULL, *version = NULL, *v;
	const char *line = lock, *nl;
	int conflict = 0, ret = 0;

	*out = DIALECT_10;
	for (; *line; line = nl + (*nl != '\0')) {
		size_t n;

		nl = strchr(line, '\n');
		if (!nl)
			nl = line + strlen(line);
		n = (size_t)(nl - line);
		if (n && line[n - 1] == '\r')
			n--;
		if (n && line[0] == '[') {
			/* a table ends: [[package]] or any other */
			consider(&p, name, version, what, &conflict);
			free(name);
			free(version);
			name = version = NULL;
			continue;
		}
		if ((v = lock_value(line, n, "name"))) {
			free(name);
			name = v;
		} else if ((v = lock_value(line, n, "version"))) {
			free(version);
			version = v;
		}
	}
	consider(&p, name, version, what, &conflict);
	free(name);
	free(version);
	if (conflict) {
		ret = -1;
	} else if (p.prio >= 0) {
		switch (p.verdict) {
		case OLDER:
			warning("%s links %s %s, older than hydroflow 0.5.0, the oldest release "
			        "hydro knows the port protocol of: speaking hydroflow 0.5.0's",
			        what, p.name, p.version);
			/* fall through */
		case SPEAKS_05:
			*out = DIALECT_05;
			break;
		case NEWER:
			warning("%s links %s %s, newer than hydroflow 0.10, the newest release "
			        "hydro knows the port protocol of: speaking hydroflow 0.10's",
			        what, p.name, p.version);
			break;
		case SPEAKS_10:
		case NOT_OURS:
			break;
		}
	}
	free(p.name);
	free(p.version);
	return ret;
}

/* the locks read so far: a run launches many services of one crate, and
 * a warning about its release is given once */
static struct seen {
	char *path;
	struct timespec mtime;
	off_t size;
	enum dialect d;
} *seen;
static size_t nseen, seen_cap;
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

/* path_walk_up: dir's Cargo.lock, if it has one, into *arg */
static int
lock_in(const char *dir, void *arg)
{
	char *lock = path_join(dir, "Cargo.lock");

	if (path_exists(lock)) {
		*(char **)arg = lock;
		return 1;
	}
	free(lock);
	return 0;
}

/* the nearest Cargo.lock in dir or above it, a new string, or NULL */
static char *
find_lock(const char *dir)
{
	char *lock = NULL;

	path_walk_up(dir, NULL, lock_in, &lock);
	return lock;
}

int
dialect_of_service(const struct service *s, enum dialect *out)
{
	struct buf text = BUF_INIT;
	struct stat st;
	char *lock, *what;
	size_t i;
	int ret;

	*out = DIALECT_10;
	if (s->kind != SERVICE_CRATE || s->nstandin || !s->src)
		return 0;
	lock = find_lock(s->src);
	if (!lock || stat(lock, &st) < 0) {
		free(lock);
		return 0;
	}
	pthread_mutex_lock(&seen_lock);
	for (i = 0; i < nseen; i++) {
		if (!strcmp(seen[i].path, lock) && seen[i].size == st.st_size &&
		    seen[i].mtime.tv_sec == st.st_mtim.tv_sec &&
		    seen[i].mtime.tv_nsec == st.st_mtim.tv_nsec) {
			*out = seen[i].d;
			pthread_mutex_unlock(&seen_lock);
			free(lock);
			return 0;
		}
	}
	what = xasprintf("crate '%s'", path_display(s->src));
	ret = read_file(lock, &text);
	if (ret == 0)
		ret = dialect_from_lock(buf_str(&text), what, out);
	if (ret == 0) {
		ALLOC_GROW(seen, nseen, seen_cap);
		seen[nseen].path = lock;
		seen[nseen].mtime = st.st_mtim;
		seen[nseen].size = st.st_size;
		seen[nseen++].d = *out;
		lock = NULL;
	}
	pthread_mutex_unlock(&seen_lock);
	buf_release(&text);
	free(what);
	free(lock);
	return ret;
}

char *
dialect_init_line(enum dialect d, const cJSON *ic)
{
	char *text, *line;

	/* 0.5.0 reads a HashMap<String, ServerBindConfig>: the binds alone */
	text = json_print(d == DIALECT_05 ? cJSON_GetArrayItem(ic, 0) : ic);
	line = xasprintf("%s\n", text);
	free(text);
	return line;
}

int
dialect_acks_start(enum dialect d)
{
	return d != DIALECT_05;
}

const char *
dialect_name(enum dialect d)
{
	return d == DIALECT_05 ? "hydroflow 0.5.0" : "hydroflow 0.5.1 to 0.10";
}
