#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "build_int.h"
#include "cache.h"
#include "cli.h"
#include "crate.h"
#include "error.h"
#include "fs.h"
#include "graph.h"
#include "json.h"
#include "proc.h"
#include "str.h"
#include "xmalloc.h"


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
	text = json_print(o);
	cJSON_Delete(o);
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
build_open(struct deployment *d, struct state *st, const struct options *o)
{
	struct build *b = xcalloc(1, sizeof(*b));
	char *dir = path_join(d->dir, ".hydro/cache");
	size_t i;

	b->d = d;
	b->st = st;
	b->verbose = o ? o->verbose : 0;
	b->target = o ? o->target : NULL;
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
	/* a build that ran (a plan has no state): old packages go */
	if (b->st) {
		ret = cache_save(b->cache);
		if (crate_prune(b) < 0)
			ret = -1;
	}
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

static void
keep_output(struct buf *out, const char *data, size_t n)
{
	buf_add(out, data, n);
	if (out->len > OUTPUT_MAX)
		buf_consume(out, out->len - OUTPUT_MAX);
}

/* the program of a command: a relative path is the command's directory's,
 * a bare name is looked up in hydro's PATH */
static char *
find_program(const char *name, const char *cwd)
{
	if (strchr(name, '/'))
		return name[0] == '/' ? xstrdup(name) : path_join(cwd, name);
	return proc_which(name, NULL);
}

/* read what fd has into out (keep) or c->on_out; 1 if something came, 0 at
 * its end, -1 on an error */
static int
take_output(const struct command *c, int fd, int keep, struct buf *out)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n <= 0)
		return n < 0 ? -1 : 0;
	if (keep)
		keep_output(out, tmp, (size_t)n);
	else
		c->on_out(c->arg, tmp, (size_t)n);
	return 1;
}

/* Run a task's command; its output (stdout and stderr together, or stderr
 * alone when c->on_out takes stdout) in out.
 * The state protocol: the record is written before the process exists; it
 * is held before exec until its pid is recorded too (PROC_HOLD), so no
 * command runs that the state file does not name; a hydro killed in
 * between leaves a child that exits at once. */
int
build_run_command(struct build *b, struct task *task, const struct command *c,
                  struct buf *out, int *status, int *sig)
{
	struct state *st = b->st;
	struct proc p = PROC_INIT;
	char *prog, **env, **argv, *cmd;
	int ret = -1, stopped = 0, eof = 0, std_eof = !c->on_out, keep_fd, std_fd;
	cJSON *details;
	pid_t pgid;
	size_t i;

	*status = *sig = 0;
	prog = find_program(c->argv[0], c->cwd);
	if (!prog || access(prog, X_OK) < 0) {
		free(prog);
		return error("command '%s' not found; install it or fix the %s's cmd",
		             c->argv[0], c->what);
	}
	env = xcalloc(c->nenv + 1, sizeof(*env));
	for (i = 0; i < c->nenv; i++)
		env[i] = xasprintf("%s=%s", c->env[i].key, c->env[i].value);
	argv = xcalloc(c->argc + 1, sizeof(*argv));
	for (i = 0; i < c->argc; i++)
		argv[i] = c->argv[i];

	details = cJSON_CreateObject();
	cJSON_AddStringToObject(details, "what", c->what);
	cmd = str_shell_line(c->argv, c->argc);
	cJSON_AddStringToObject(details, "command", cmd);
	free(cmd);
	if (st && state_add(st, "command", c->id, details) < 0)
		goto out;
	p.argv = argv;
	p.path = prog;
	p.env = env;
	p.dir = c->cwd;
	p.in = PROC_NULL;
	p.out = PROC_PIPE;
	p.err = c->on_out ? PROC_PIPE : PROC_STDOUT;
	p.flags = PROC_PGROUP | PROC_HOLD | PROC_TOKEN;
	if (proc_start(&p) < 0)
		goto out;
	pgid = p.pid;
	details = cJSON_CreateObject();
	cJSON_AddStringToObject(details, "token", p.token);
	cJSON_AddNumberToObject(details, "pid", p.pid);
	cJSON_AddNumberToObject(details, "pgid", p.pid);
	cJSON_AddNumberToObject(details, "start", (double)(p.start_ticks ? p.start_ticks :
	                                                   proc_start_time(p.pid)));
	if (st && state_update(st, "command", c->id, details) < 0) {
		proc_drop(&p);	/* it never ran */
		goto out;
	}
	if (proc_go(&p) < 0)
		goto done;

	/* read its output until it exits, stopping it if the run is cancelled */
	keep_fd = c->on_out ? p.err_fd : p.out_fd;
	std_fd = c->on_out ? p.out_fd : -1;
	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = eof ? -1 : keep_fd, .events = POLLIN },
			{ .fd = std_eof ? -1 : std_fd, .events = POLLIN },
			{ .fd = p.pidfd, .events = POLLIN },
		};
		int r;

		if (poll(pfd, 3, p.pidfd >= 0 ? 100 : 10) > 0) {
			int got = 0;

			if (pfd[1].revents) {
				r = take_output(c, std_fd, 0, out);
				std_eof = r == 0;
				got = r > 0;
			}
			if (pfd[0].revents) {
				r = take_output(c, keep_fd, 1, out);
				eof = r == 0;
				got |= r > 0;
			}
			if (got)
				continue;
		}
		r = proc_poll(&p, status);
		if (r < 0)
			goto done;
		if (r > 0)
			break;
		if (task && task_cancelled(task) && !stopped) {
			stopped = 1;
			proc_signal(&p, SIGTERM);
		}
	}
	while (take_output(c, keep_fd, 1, out) > 0)
		;
	while (c->on_out && take_output(c, std_fd, 0, out) > 0)
		;
	*sig = p.term_signal;
	ret = stopped ? -2 : 0;
done:
	/* whatever it started in its group goes with it */
	proc_stop_group(pgid, NULL, STOP_GRACE);
	if (st)
		state_remove(st, "command", c->id);
out:
	proc_close(&p);
	str_free_list(env);
	free(argv);
	free(prog);
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
run_target_command(struct tgt *g, struct task *task, struct buf *out, int *status, int *sig)
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
	ret = build_run_command(g->b, task, &c, out, status, sig);
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
	int status = 0, sig = 0, r, err, ret = -1;
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
	r = run_target_command(g, task, &out, &status, &sig);
	if (r == -2) {
		error("interrupted");
		goto done;
	}
	if (r < 0)
		goto done;
	if (sig) {
		error("command killed by signal %d (%s)", sig, strsignal(sig));
		build_show_output(&out);
		goto done;
	}
	if (status) {
		error("command failed with exit status %d", status);
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
	if (out.len && g->b->verbose)
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
		cmd = str_shell_line(tg->t->argv, tg->t->argc);
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
	/* only the members carrying the token are signalled; a number no pid
	 * can be is no group of ours either */
	if (pgid > (1L << 22))
		return error("the record of the command of %s names process group %ld, "
		             "which no process can lead; nothing is signalled", id, pgid);
	if (proc_stop_group((pid_t)pgid, token, STOP_GRACE) < 0)
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

