#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "build_int.h"
#include "cache.h"
#include "cli.h"
#include "error.h"
#include "fs.h"
#include "graph.h"
#include "json.h"
#include "str.h"
#include "xmalloc.h"

extern char **environ;

/* a command's output kept for its failure report: the last this many bytes */
#define OUTPUT_MAX (64 * 1024)
/* seconds from SIGTERM to SIGKILL when a command is stopped */
#define STOP_GRACE 2.0

struct tgt {
	struct build *b;
	const struct target *t;
	struct task *task;
	char *cname;		/* its cache entry: "target NAME" */
	char *decl;		/* what the key covers besides files and deps */
	struct tgt **deps;	/* what it needs, in the order of its needs; an
				 * unknown name is NULL (deploy_validate refuses it) */
	char *why;		/* NULL: up to date */
	int planned;		/* why is known */
	int uptodate;
	struct hash key;
};

/* the declaration of a target as one line: what its key covers besides the
 * input files' contents and the dependencies' keys */
static char *
make_decl(const struct target *t)
{
	cJSON *o = cJSON_CreateObject(), *a;
	char *text;
	size_t i;

	a = cJSON_AddArrayToObject(o, "cmd");
	for (i = 0; i < t->argc; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(t->argv[i]));
	a = cJSON_AddArrayToObject(o, "env");
	for (i = 0; i < t->nenv; i++) {
		cJSON_AddItemToArray(a, cJSON_CreateString(t->env[i].key));
		cJSON_AddItemToArray(a, cJSON_CreateString(t->env[i].value));
	}
	if (t->cwd)
		cJSON_AddStringToObject(o, "cwd", t->cwd);
	a = cJSON_AddArrayToObject(o, "inputs");
	for (i = 0; i < t->ninputs; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(t->inputs[i]));
	a = cJSON_AddArrayToObject(o, "outputs");
	for (i = 0; i < t->noutputs; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(t->outputs[i]));
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		fatal("out of memory");
	return text;
}

static int
by_target_name(const void *a, const void *b)
{
	return strcmp((*(struct tgt *const *)a)->t->name, (*(struct tgt *const *)b)->t->name);
}

/* resolve every target's needs by binary search: linear lookups would make a
 * graph of thousands of targets quadratic */
static void
resolve_needs(struct build *b)
{
	struct tgt **sorted = xcalloc(b->ntgts + 1, sizeof(*sorted)), key, *kp = &key, **hit;
	struct target probe;
	size_t i, j;

	for (i = 0; i < b->ntgts; i++)
		sorted[i] = &b->tgts[i];
	qsort(sorted, b->ntgts, sizeof(*sorted), by_target_name);
	memset(&probe, 0, sizeof(probe));
	key.t = &probe;
	for (i = 0; i < b->ntgts; i++) {
		const struct target *t = b->tgts[i].t;

		b->tgts[i].deps = xcalloc(t->nneeds + 1, sizeof(*b->tgts[i].deps));
		for (j = 0; j < t->nneeds; j++) {
			probe.name = t->needs[j];
			hit = bsearch(&kp, sorted, b->ntgts, sizeof(*sorted), by_target_name);
			b->tgts[i].deps[j] = hit ? *hit : NULL;
		}
	}
	free(sorted);
}

struct build *
build_open(struct deployment *d, struct state *st)
{
	struct build *b = xcalloc(1, sizeof(*b));
	char *dir = path_join(d->dir, ".hydro/cache");
	size_t i;

	b->d = d;
	b->st = st;
	b->cache = cache_open(dir);
	free(dir);
	b->ntgts = d->ntargets;
	b->tgts = xcalloc(b->ntgts + 1, sizeof(*b->tgts));
	for (i = 0; i < b->ntgts; i++) {
		b->tgts[i].b = b;
		b->tgts[i].t = d->targets[i];
		b->tgts[i].cname = xasprintf("target %s", d->targets[i]->name);
		b->tgts[i].decl = make_decl(d->targets[i]);
	}
	resolve_needs(b);
	return b;
}

int
build_close(struct build *b)
{
	size_t i;
	int ret = 0;

	if (!b)
		return 0;
	if (b->st)
		ret = cache_save(b->cache);
	cache_free(b->cache);
	for (i = 0; i < b->ntgts; i++) {
		free(b->tgts[i].cname);
		free(b->tgts[i].decl);
		free(b->tgts[i].deps);
		free(b->tgts[i].why);
	}
	free(b->tgts);
	for (i = 0; i < b->ncrts; i++)
		crate_free(b->crts[i]);
	free(b->crts);
	free(b->svc_crt);
	free(b);
	return ret;
}

struct task *
build_task(const struct build *b, const struct target *t)
{
	return t->index < b->ntgts ? b->tgts[t->index].task : NULL;
}

const char *
build_why(const struct build *b, const struct target *t)
{
	return t->index < b->ntgts ? b->tgts[t->index].why : NULL;
}

int
build_step(const struct build *b, size_t i, struct build_step *out)
{
	if (i >= b->ntgts)
		return 0;
	memset(out, 0, sizeof(*out));
	out->name = b->tgts[i].t->name;
	out->why = b->tgts[i].why;
	out->task = b->tgts[i].task;
	return 1;
}

/* ---- the key ---- */

void
build_files_release(struct files *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->v[i].path);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

static int
has_magic(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* hash one input (relative path rel); 1 if it does not exist; an input
 * named twice, or a glob matching the target's own output, counts once or
 * not at all */
static int
add_input(struct build *b, const struct target *t, struct files *f, const char *rel)
{
	struct hash h;
	size_t i;
	char *abs;
	int r;

	for (i = 0; i < f->n; i++)
		if (!strcmp(f->v[i].path, rel))
			return 0;
	for (i = 0; i < t->noutputs; i++)
		if (!strcmp(t->outputs[i], rel))
			return 0;
	abs = path_join(b->d->dir, rel);
	r = cache_hash_file(b->cache, abs, &h);
	free(abs);
	if (r)
		return r;
	f->v = xreallocarray(f->v, f->n + 1, sizeof(*f->v));
	f->v[f->n].path = xstrdup(rel);
	f->v[f->n].hash = h;
	f->n++;
	return 0;
}

/* the target's input files with their hashes, globs expanded (sorted, as
 * glob(3) gives them); *missing gets a literal input that does not exist */
static int
hash_inputs(struct build *b, const struct target *t, struct files *f, char **missing)
{
	size_t i, j, dlen = strlen(b->d->dir);
	int r;

	*missing = NULL;
	for (i = 0; i < t->ninputs; i++) {
		const char *in = t->inputs[i];

		if (has_magic(in)) {
			char *pat = path_join(b->d->dir, in);
			glob_t gl;

			memset(&gl, 0, sizeof(gl));
			r = glob(pat, 0, NULL, &gl);
			free(pat);
			if (r != 0 && r != GLOB_NOMATCH) {
				globfree(&gl);
				return error("target '%s': cannot expand input '%s'", t->name, in);
			}
			for (j = 0; j < gl.gl_pathc; j++) {
				const char *p = gl.gl_pathv[j];

				/* record it relative, as it was written */
				if (in[0] != '/' && !strncmp(p, b->d->dir, dlen) && p[dlen] == '/')
					p += dlen + 1;
				if (add_input(b, t, f, p) < 0) {
					globfree(&gl);
					return -1;
				}
			}
			globfree(&gl);
			continue;
		}
		r = add_input(b, t, f, in);
		if (r < 0)
			return -1;
		if (r > 0 && !*missing)
			*missing = xstrdup(in);
	}
	return 0;
}

/* the key of the target's dependencies, in the order of its needs */
static const struct hash *
dep_key(const struct tgt *g, size_t i)
{
	return g->deps[i] ? &g->deps[i]->key : NULL;
}

/* The key: the declaration, the inputs' names and contents, the needed
 * targets' names and keys; each part length-prefixed (hasher_addstr) so that
 * no two different targets hash alike. */
static void
make_key(struct tgt *g, const struct files *in, struct hash *out)
{
	const struct target *t = g->t;
	struct hasher h;
	char n[32];
	size_t i;

	hasher_init(&h);
	hasher_addstr(&h, "hydro target 2");
	hasher_addstr(&h, g->decl);
	snprintf(n, sizeof(n), "%zu", in->n);
	hasher_addstr(&h, n);
	for (i = 0; i < in->n; i++) {
		hasher_addstr(&h, in->v[i].path);
		hasher_add(&h, in->v[i].hash.b, HASH_LEN);
	}
	snprintf(n, sizeof(n), "%zu", t->nneeds);
	hasher_addstr(&h, n);
	for (i = 0; i < t->nneeds; i++) {
		const struct hash *k = dep_key(g, i);

		hasher_addstr(&h, t->needs[i]);
		if (k)
			hasher_add(&h, k->b, HASH_LEN);
	}
	hasher_final(&h, out);
}

/* Whether the key would be the recorded one, found without hashing: the same
 * declaration, inputs and dependency keys.  A no-op build thus never starts
 * a hash, and OpenSSL's start-up is not paid. */
static int
same_as_recorded(const struct tgt *g, const struct cache_entry *e, const struct files *in)
{
	size_t i;

	if (!e->decl || strcmp(e->decl, g->decl) || e->ninputs != in->n ||
	    e->ndeps != g->t->nneeds)
		return 0;
	for (i = 0; i < in->n; i++)
		if (strcmp(e->inputs[i].path, in->v[i].path) ||
		    memcmp(e->inputs[i].hash.b, in->v[i].hash.b, HASH_LEN))
			return 0;
	for (i = 0; i < e->ndeps; i++) {
		const struct hash *k = dep_key(g, i);

		if (strcmp(e->deps[i].path, g->t->needs[i]) || !k ||
		    memcmp(e->deps[i].hash.b, k->b, HASH_LEN))
			return 0;
	}
	return 1;
}

/* why the recorded inputs differ from these, or NULL */
char *
build_input_change(const struct cache_entry *e, const struct files *in)
{
	size_t i, j;

	for (i = 0; i < in->n; i++) {
		for (j = 0; j < e->ninputs; j++)
			if (!strcmp(e->inputs[j].path, in->v[i].path))
				break;
		if (j == e->ninputs)
			return xasprintf("new input '%s'", in->v[i].path);
		if (memcmp(e->inputs[j].hash.b, in->v[i].hash.b, HASH_LEN))
			return xasprintf("input '%s' changed", in->v[i].path);
	}
	for (j = 0; j < e->ninputs; j++) {
		for (i = 0; i < in->n; i++)
			if (!strcmp(e->inputs[j].path, in->v[i].path))
				break;
		if (i == in->n)
			return xasprintf("input '%s' is gone", e->inputs[j].path);
	}
	return NULL;
}

/* Decide whether g is up to date, setting g->key; the deps must be decided
 * (before the run) or made (at run time).  Returns the reason to run it (a new
 * string) or NULL; *in gets the inputs; *err is 1 if they cannot be read, 2
 * if one does not exist. */
static char *
decide(struct tgt *g, struct files *in, int runtime, int *err)
{
	const struct target *t = g->t;
	const struct cache_entry *e;
	char *missing = NULL, *why;
	struct hash h;
	size_t i;

	*err = 0;
	/* before the run, a dependency that will be made has no key yet; at run
	 * time its key decides, and one made again the same changes nothing */
	for (i = 0; i < t->nneeds && !runtime; i++) {
		if (g->deps[i] && !g->deps[i]->uptodate)
			return xasprintf("it needs '%s', which is made first", t->needs[i]);
	}
	if (hash_inputs(g->b, t, in, &missing) < 0) {
		*err = 1;
		return xstrdup("its inputs cannot be read");
	}
	if (missing) {
		why = xasprintf("input '%s' does not exist", missing);
		free(missing);
		*err = 2;
		return why;
	}
	e = cache_get(g->b->cache, g->cname);
	if (e && same_as_recorded(g, e, in))
		g->key = e->key;
	else
		make_key(g, in, &g->key);
	if (!e)
		return xstrdup("never built");
	if (memcmp(e->key.b, g->key.b, HASH_LEN)) {
		why = build_input_change(e, in);
		return why ? why : xstrdup("its command, environment or outputs changed");
	}
	for (i = 0; i < e->noutputs; i++) {
		char *abs = path_join(g->b->d->dir, e->outputs[i].path);
		int r = cache_hash_file(g->b->cache, abs, &h);

		free(abs);
		if (r < 0) {
			*err = 1;
			return xasprintf("output '%s' cannot be read", e->outputs[i].path);
		}
		if (r > 0)
			return xasprintf("output '%s' is missing", e->outputs[i].path);
		if (memcmp(h.b, e->outputs[i].hash.b, HASH_LEN))
			return xasprintf("output '%s' was changed", e->outputs[i].path);
	}
	return NULL;
}

/* decide g and, first, what it needs (depth-first, on this thread) */
static void
plan(struct tgt *g)
{
	struct files in = { NULL, 0 };
	size_t i;
	int err;

	if (g->planned)
		return;
	g->planned = 1;
	for (i = 0; i < g->t->nneeds; i++) {
		if (g->deps[i])
			plan(g->deps[i]);
	}
	g->why = decide(g, &in, 0, &err);
	g->uptodate = !g->why;
	build_files_release(&in);
}

/* ---- running a command ---- */

/* the start time of a process (field 22 of /proc/PID/stat), 0 if gone */
static unsigned long long
proc_start(pid_t pid, pid_t *pgrp, char *state)
{
	char path[64], text[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	p = strrchr(text, ')');
	if (!p)
		return 0;
	/* after ")": state, ppid, pgrp, ... starttime is the 20th field on */
	p += 2;
	if (state)
		*state = *p;
	for (i = 0; i < 19 && p; i++) {
		if (i == 2 && pgrp)
			*pgrp = (pid_t)strtol(p, NULL, 10);
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		start = strtoull(p, NULL, 10);
	return start;
}

/* whether process pid carries our token in its environment */
static int
has_token(pid_t pid, const char *token)
{
	char path[64], *p, *end;
	struct buf b = BUF_INIT;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%ld/environ", (long)pid);
	{
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		char tmp[4096];
		ssize_t n;

		if (fd < 0)
			return 0;
		while ((n = read(fd, tmp, sizeof(tmp))) > 0)
			buf_add(&b, tmp, (size_t)n);
		close(fd);
	}
	for (p = b.data, end = b.data + b.len; p && p < end; p += strlen(p) + 1) {
		if (str_starts(p, "HYDRO_COMMAND=") && !strcmp(p + 14, token)) {
			found = 1;
			break;
		}
	}
	buf_release(&b);
	return found;
}

/* the live processes of group pgid that carry token (all, if token is NULL) */
static size_t
group_members(pid_t pgid, const char *token, pid_t *out, size_t max)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	d = opendir("/proc");
	while (d && (de = readdir(d))) {
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10), pg = 0;
		char st = 0;

		if (pid <= 0 || !proc_start(pid, &pg, &st) || pg != pgid || st == 'Z')
			continue;
		if (token && !has_token(pid, token))
			continue;
		if (n < max)
			out[n++] = pid;
	}
	if (d)
		closedir(d);
	return n;
}

static void
sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

/* Stop what is left of a command's process group: SIGTERM, then SIGKILL.
 * With a token, only processes that carry it are signalled (the group may be
 * long gone and its number reused); 0 once none is left. */
static int
stop_group(pid_t pgid, const char *token, double grace)
{
	pid_t pids[256];
	double waited = 0;
	size_t n, i;
	int sig = SIGTERM;

	for (;;) {
		if (!token) {
			if (kill(-pgid, 0) < 0)
				return 0;
			if (kill(-pgid, sig) < 0)
				return 0;
		} else {
			n = group_members(pgid, token, pids, 256);
			if (!n)
				return 0;
			for (i = 0; i < n; i++)
				kill(pids[i], sig);
		}
		if (waited >= grace * 2)
			return -1;
		if (waited >= grace)
			sig = SIGKILL;
		sleep_s(0.02);
		waited += 0.02;
		if (!token && sig == SIGTERM)
			sig = 0;	/* probe until the grace is over */
	}
}

/* PATH lookup in the parent: the child only calls execve() */
static char *
find_program(const char *name, const char *cwd)
{
	const char *path = getenv("PATH"), *p, *colon;
	char *full;

	if (strchr(name, '/'))
		return name[0] == '/' ? xstrdup(name) : path_join(cwd, name);
	for (p = path ? path : "/usr/bin:/bin"; ; p = colon + 1) {
		colon = strchr(p, ':');
		full = xasprintf("%.*s/%s", (int)(colon ? colon - p : (int)strlen(p)),
		                 p, name);
		if (access(full, X_OK) == 0)
			return full;
		free(full);
		if (!colon)
			return NULL;
	}
}

static char **
make_env(const struct kv *kv, size_t nkv, const char *token)
{
	size_t n = 0, i, j, k;
	char **env;

	while (environ[n])
		n++;
	env = xcalloc(n + nkv + 2, sizeof(*env));
	for (i = 0, k = 0; i < n; i++) {
		for (j = 0; j < nkv; j++) {
			size_t l = strlen(kv[j].key);

			if (!strncmp(environ[i], kv[j].key, l) && environ[i][l] == '=')
				break;
		}
		if (j == nkv && !str_starts(environ[i], "HYDRO_COMMAND="))
			env[k++] = xstrdup(environ[i]);
	}
	for (j = 0; j < nkv; j++)
		env[k++] = xasprintf("%s=%s", kv[j].key, kv[j].value);
	env[k++] = xasprintf("HYDRO_COMMAND=%s", token);
	env[k] = NULL;
	return env;
}

char *
build_command_line(char *const *argv, size_t argc)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < argc; i++) {
		if (i)
			buf_addch(&b, ' ');
		str_shell_quote(&b, argv[i]);
	}
	return buf_detach(&b, NULL);
}

static void
new_token(char out[33])
{
	static unsigned counter;
	struct timespec ts;
	struct hash h;
	char hex[HASH_HEX_LEN], seed[128];

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(seed, sizeof(seed), "%ld %lld %ld %u", (long)getpid(),
	         (long long)ts.tv_sec, ts.tv_nsec,
	         __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
	hash_bytes(seed, strlen(seed), &h);
	hash_hex(&h, hex);
	memcpy(out, hex, 32);
	out[32] = '\0';
}

static void
keep_output(struct buf *out, const char *data, size_t n)
{
	buf_add(out, data, n);
	if (out->len > OUTPUT_MAX)
		buf_consume(out, out->len - OUTPUT_MAX);
}

/* in a child: close every descriptor above 2 but a, b, c and d (-1: none) */
static void
keep_only(int a, int b, int c, int d)
{
	int v[4] = { a, b, c, d }, i, j, t, from = 3;

	for (i = 0; i < 4; i++)
		for (j = i + 1; j < 4; j++)
			if (v[j] < v[i]) {
				t = v[i];
				v[i] = v[j];
				v[j] = t;
			}
	for (i = 0; i < 4; i++) {
		if (v[i] < from)
			continue;
		if (v[i] > from)
			close_range((unsigned)from, (unsigned)v[i] - 1, 0);
		from = v[i] + 1;
	}
	close_range((unsigned)from, ~0U, 0);
}

/* Run a task's command; its output (stdout and stderr together, or stderr
 * alone when c->on_out takes stdout) in out.
 * The state protocol: the record is written before fork(); the child waits
 * for the parent to add its pid before it execs, so no command runs that the
 * state file does not name; a parent killed in between leaves a child that
 * exits at once. */
int
build_run_command(struct build *b, struct task *task, const struct command *c,
            struct buf *out, int *status)
{
	struct state *st = b->st;
	char *cwd, *prog, **env, **argv, token[33], go = 'g', *cmd;
	int outp[2] = { -1, -1 }, gop[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int stdp[2] = { -1, -1 };
	int ret = -1, err = 0, stopped = 0, eof = 0, std_eof = !c->on_out;
	ssize_t n;
	pid_t pid;
	cJSON *details;
	size_t i;

	cwd = xstrdup(c->cwd);
	prog = find_program(c->argv[0], cwd);
	if (!prog || access(prog, X_OK) < 0) {
		error("command '%s' not found; install it or fix the %s's cmd",
		      c->argv[0], c->what);
		free(prog);
		free(cwd);
		return -1;
	}
	new_token(token);
	env = make_env(c->env, c->nenv, token);
	argv = xcalloc(c->argc + 1, sizeof(*argv));
	for (i = 0; i < c->argc; i++)
		argv[i] = c->argv[i];

	details = cJSON_CreateObject();
	cJSON_AddStringToObject(details, "what", c->what);
	cJSON_AddStringToObject(details, "token", token);
	cmd = build_command_line(c->argv, c->argc);
	cJSON_AddStringToObject(details, "command", cmd);
	free(cmd);
	if (st && state_add(st, "command", c->id, details) < 0)
		goto out;
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(gop, O_CLOEXEC) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0 || (c->on_out && pipe2(stdp, O_CLOEXEC) < 0)) {
		error_errno("cannot create a pipe");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		error_errno("cannot fork");
		goto out;
	}
	if (pid == 0) {
		/* only async-signal-safe calls from here */
		struct sigaction sa;
		char ch;
		int fd;

		setpgid(0, 0);
		/* Close what other threads' children will wait on: a copy of
		 * another child's go pipe held here would keep it from seeing
		 * its parent die, and that one might hold ours. */
		keep_only(gop[0], outp[1], errp[1], stdp[1]);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGPIPE, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		close(gop[1]);
		if (read(gop[0], &ch, 1) != 1)
			_exit(126);	/* the parent died before recording us */
		fd = open("/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0 || dup2(stdp[1] >= 0 ? stdp[1] : outp[1], 1) < 0 ||
		    dup2(outp[1], 2) < 0)
			goto child_fail;
		if (chdir(cwd) < 0)
			goto child_fail;
		execve(prog, argv, env);
child_fail:
		err = errno;
		if (write(errp[1], &err, sizeof(err)) < 0) {
			/* nothing to do */
		}
		_exit(127);
	}
	setpgid(pid, pid);
	close(outp[1]);
	close(gop[0]);
	close(errp[1]);
	if (stdp[1] >= 0)
		close(stdp[1]);
	outp[1] = gop[0] = errp[1] = stdp[1] = -1;
	details = cJSON_CreateObject();
	cJSON_AddNumberToObject(details, "pid", pid);
	cJSON_AddNumberToObject(details, "pgid", pid);
	cJSON_AddNumberToObject(details, "start", (double)proc_start(pid, NULL, NULL));
	if (st && state_update(st, "command", c->id, details) < 0) {
		kill(pid, SIGKILL);	/* it never ran: it waits for the go */
		waitpid(pid, status, 0);
		goto out;
	}
	if (write(gop[1], &go, 1) != 1) {
		error_errno("cannot start '%s'", c->argv[0]);
		kill(pid, SIGKILL);
		waitpid(pid, status, 0);
		goto out;
	}
	close(gop[1]);
	gop[1] = -1;
	n = read(errp[0], &err, sizeof(err));
	if (n == (ssize_t)sizeof(err)) {
		waitpid(pid, status, 0);
		errno = err;
		error_errno("cannot run '%s'", prog);
		goto done;
	}

	/* read its output until it exits, stopping it if the run is cancelled */
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = eof ? -1 : outp[0], .events = POLLIN },
			{ .fd = std_eof ? -1 : stdp[0], .events = POLLIN },
		};
		char tmp[4096];

		if ((!eof || !std_eof) && poll(pfd, 2, 100) > 0) {
			int got = 0;

			if (pfd[1].revents) {
				n = read(stdp[0], tmp, sizeof(tmp));
				if (n > 0)
					c->on_out(c->arg, tmp, (size_t)n);
				else
					std_eof = n == 0;
				got = n > 0;
			}
			if (pfd[0].revents) {
				n = read(outp[0], tmp, sizeof(tmp));
				if (n > 0)
					keep_output(out, tmp, (size_t)n);
				else
					eof = n == 0;
				got |= n > 0;
			}
			if (got)
				continue;
		}
		if (waitpid(pid, status, WNOHANG) == pid)
			break;
		if (task && task_cancelled(task) && !stopped) {
			stopped = 1;
			kill(-pid, SIGTERM);
		}
		if (eof && std_eof)
			sleep_s(0.01);
	}
	{
		char tmp[4096];

		while ((n = read(outp[0], tmp, sizeof(tmp))) > 0)
			keep_output(out, tmp, (size_t)n);
		while (c->on_out && (n = read(stdp[0], tmp, sizeof(tmp))) > 0)
			c->on_out(c->arg, tmp, (size_t)n);
	}
	ret = stopped ? -2 : 0;
done:
	/* whatever it started in its group goes with it */
	stop_group(pid, NULL, STOP_GRACE);
	if (st)
		state_remove(st, "command", c->id);
out:
	for (i = 0; env[i]; i++)
		free(env[i]);
	free(env);
	free(argv);
	free(prog);
	free(cwd);
	if (outp[0] >= 0) close(outp[0]);
	if (outp[1] >= 0) close(outp[1]);
	if (gop[0] >= 0) close(gop[0]);
	if (gop[1] >= 0) close(gop[1]);
	if (errp[0] >= 0) close(errp[0]);
	if (errp[1] >= 0) close(errp[1]);
	if (stdp[0] >= 0) close(stdp[0]);
	if (stdp[1] >= 0) close(stdp[1]);
	return ret;
}

void
build_show_output(const struct buf *out)
{
	char *copy, *line, *save = NULL;

	if (!out->len)
		return;
	copy = xstrdup(buf_str(out));
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		note("%s", line);
	free(copy);
}

static int
run_target_command(struct tgt *g, struct task *task, struct buf *out, int *status)
{
	const struct target *t = g->t;
	struct command c;
	char *what = xasprintf("target '%s'", t->name);
	int ret;

	memset(&c, 0, sizeof(c));
	c.id = t->name;
	c.what = what;
	c.argv = t->argv;
	c.argc = t->argc;
	c.env = t->env;
	c.nenv = t->nenv;
	c.cwd = t->cwd ? path_join(g->b->d->dir, t->cwd) : xstrdup(g->b->d->dir);
	ret = build_run_command(g->b, task, &c, out, status);
	free((char *)c.cwd);
	free(what);
	return ret;
}

static int
target_run(struct task *task, void *arg)
{
	struct tgt *g = arg;
	const struct target *t = g->t;
	struct files in = { NULL, 0 }, outs = { NULL, 0 };
	struct buf out = BUF_INIT;
	struct cache_entry e;
	int status = 0, r, err, ret = -1;
	char *why;
	size_t i;

	/* decide again: what it needs has been made now */
	free(g->why);
	why = decide(g, &in, 1, &err);
	g->why = why;
	if (err == 2)
		error("%s; write it or add the target that makes it to 'needs'", why);
	if (err)
		goto done;
	if (!why) {
		g->uptodate = 1;
		task_set_key(task, &g->key);
		task_uptodate(task);
		ret = 0;
		goto done;
	}
	cache_drop(g->b->cache, g->cname);
	r = run_target_command(g, task, &out, &status);
	if (r == -2) {
		error("interrupted");
		goto done;
	}
	if (r < 0)
		goto done;
	if (WIFSIGNALED(status)) {
		error("command killed by signal %d (%s)", WTERMSIG(status),
		      strsignal(WTERMSIG(status)));
		build_show_output(&out);
		goto done;
	}
	if (WEXITSTATUS(status)) {
		error("command failed with exit status %d", WEXITSTATUS(status));
		build_show_output(&out);
		goto done;
	}
	for (i = 0; i < t->noutputs; i++) {
		char *abs = path_join(g->b->d->dir, t->outputs[i]);
		struct hash h;

		r = cache_hash_file(g->b->cache, abs, &h);
		free(abs);
		if (r > 0)
			error("output '%s' was not made by the command", t->outputs[i]);
		if (r)
			goto done;
		outs.v = xreallocarray(outs.v, outs.n + 1, sizeof(*outs.v));
		outs.v[outs.n].path = xstrdup(t->outputs[i]);
		outs.v[outs.n++].hash = h;
	}
	if (out.len && cli && cli->verbose)
		build_show_output(&out);
	memset(&e, 0, sizeof(e));
	e.name = g->cname;
	e.key = g->key;
	e.decl = g->decl;
	e.ndeps = t->nneeds;
	e.deps = xcalloc(t->nneeds + 1, sizeof(*e.deps));
	for (i = 0; i < t->nneeds; i++) {
		e.deps[i].path = t->needs[i];
		if (dep_key(g, i))
			e.deps[i].hash = *dep_key(g, i);
	}
	e.inputs = in.v;
	e.ninputs = in.n;
	e.outputs = outs.v;
	e.noutputs = outs.n;
	task_set_key(task, &g->key);
	ret = cache_put(g->b->cache, &e, g->b->d->dir);
	free(e.deps);
done:
	build_files_release(&in);
	build_files_release(&outs);
	buf_release(&out);
	return ret;
}

int
build_add_targets(struct build *b, struct graph *g)
{
	size_t i, j;

	for (i = 0; i < b->ntgts; i++) {
		struct tgt *tg = &b->tgts[i];
		char *name = xasprintf("target %s", tg->t->name), *cmd;

		tg->task = graph_add(g, TASK_TARGET, name, target_run, tg);
		cmd = build_command_line(tg->t->argv, tg->t->argc);
		task_set_command(tg->task, cmd);
		free(cmd);
		free(name);
	}
	for (i = 0; i < b->ntgts; i++) {
		struct tgt *tg = &b->tgts[i];

		for (j = 0; j < tg->t->nneeds; j++) {
			if (!tg->deps[j])
				return error("%s: target '%s' needs an unknown target '%s'",
				             b->d->config, tg->t->name, tg->t->needs[j]);
			task_after(tg->task, tg->deps[j]->task);
		}
	}
	for (i = 0; i < b->ntgts; i++) {
		plan(&b->tgts[i]);
		if (b->tgts[i].uptodate) {
			task_set_key(b->tgts[i].task, &b->tgts[i].key);
			task_uptodate(b->tgts[i].task);
		}
	}
	return 0;
}

/* ---- the "command" kind of state records ---- */

static int
command_cleanup(const char *kind, const char *id, const cJSON *details)
{
	const char *token = json_str(details, "token");
	long pgid;

	(void)kind;
	if (json_long(details, "pgid", &pgid) < 0 || pgid <= 1 || !token)
		return 0;	/* it never started: the child waits for its pid to be written */
	if (stop_group((pid_t)pgid, token, STOP_GRACE) < 0)
		return error("command of %s (process group %ld) does not stop",
		             json_str(details, "what") ? json_str(details, "what") : id, pgid);
	return 0;
}

static char *
command_describe(const char *kind, const char *id, const cJSON *details)
{
	const char *what = json_str(details, "what");
	char *own = what ? NULL : xasprintf("target '%s'", id);
	char *text;
	long pgid;

	(void)kind;
	if (json_long(details, "pgid", &pgid) == 0)
		text = xasprintf("the command of %s (process group %ld: %s)",
		                 what ? what : own, pgid, json_str(details, "command") ?
		                 json_str(details, "command") : "?");
	else
		text = xasprintf("the command of %s (never started)", what ? what : own);
	free(own);
	return text;
}

static const struct state_kind command_kind = {
	"command", command_cleanup, 0, command_describe,
};

void
build_register_state(void)
{
	state_register(&command_kind);
}

