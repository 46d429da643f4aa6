#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "backend.h"
#include "build_int.h"
#include "cargo.h"
#include "cli.h"
#include "crate.h"
#include "error.h"
#include "fs.h"
#include "program.h"
#include "term.h"
#include "hf/rustc.h"
#include "json.h"
#include "package.h"
#include "pool.h"
#include "sched.h"
#include "str.h"
#include "toolchain.h"
#include "xmalloc.h"

struct crt {
	struct build *b;
	struct cargo_spec spec;
	char *label;		/* "crates/echo --bin echo", for people */
	char *cname;		/* its cache entry and task: "crate LABEL" */
	struct buf users;	/* the services built from it: "'a', 'b'" */
	size_t nusers;
	char *toolchain;	/* cargo --version, rustc -vV; NULL if cargo cannot run */
	char *toolerr;
	char **dirs;		/* the directories its sources are in */
	size_t ndirs;
	char *decl;		/* what the key covers besides the files */
	struct files in;	/* the source files and their hashes, as planned */
	struct task *task;
	char *why;		/* NULL: up to date */
	int uptodate;
	struct hash key;
	char *exe;		/* the program, once built or known up to date */
	struct hf_program *prog; /* a .hf program's crate: the program */
	struct buf diags;	/* rustc's diagnostics, shown on the program */
	int ndiag_errors;
	const char *triple;	/* the target it is built for (this machine's too) */
	struct pkg *pkg;	/* its package task */
	char **files;		/* what its services declare (files=), each once */
	size_t nfiles;
};

/* whether a target that makes one of c's files is to run; with pkg, make
 * the package task wait for every such target */
static int
files_pending(const struct build *b, const struct crt *c, struct task *pkg)
{
	const struct deployment *d = b->d;
	size_t i, j, k;
	int pending = 0;

	for (i = 0; i < c->nfiles; i++)
		for (j = 0; j < d->ntargets; j++)
			for (k = 0; k < d->targets[j]->noutputs; k++) {
				struct task *t;

				if (strcmp(d->targets[j]->outputs[k], c->files[i]))
					continue;
				pending |= build_why(b, d->targets[j]) != NULL;
				if (pkg && (t = build_task(b, d->targets[j])))
					task_after(pkg, t);
			}
	return pending;
}

/* its services' files= go into its package: a program used by several
 * services carries what any of them declares */
static void
crate_use(struct crt *c, const struct service *s)
{
	size_t i, j;

	buf_printf(&c->users, "%s'%s'", c->nusers ? ", " : "", s->name);
	c->nusers++;
	for (i = 0; i < s->nfiles; i++) {
		for (j = 0; j < c->nfiles && strcmp(c->files[j], s->files[i]); j++)
			;
		if (j < c->nfiles)
			continue;
		c->files = xreallocarray(c->files, c->nfiles + 1, sizeof(*c->files));
		c->files[c->nfiles++] = xstrdup(s->files[i]);
	}
}

void
crate_free(struct crt *c)
{
	size_t i;

	cargo_spec_release(&c->spec);
	free(c->label);
	free(c->cname);
	buf_release(&c->users);
	free(c->toolchain);
	free(c->toolerr);
	for (i = 0; i < c->ndirs; i++)
		free(c->dirs[i]);
	free(c->dirs);
	free(c->decl);
	build_files_release(&c->in);
	free(c->why);
	free(c->exe);
	hf_program_free(c->prog);
	buf_release(&c->diags);
	package_free(c->pkg);
	for (i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c);
}

/* a path as the cache records it: relative to the deployment when inside it */
static char *
rel_path(const struct build *b, const char *abs)
{
	size_t n = strlen(b->d->dir);

	if (!strncmp(abs, b->d->dir, n) && abs[n] == '/')
		return xstrdup(abs + n + 1);
	if (!strcmp(abs, b->d->dir))
		return xstrdup(".");
	return xstrdup(abs);
}

static int
same_spec(const struct cargo_spec *a, const struct cargo_spec *b)
{
	size_t i;

#define SAME(x, y) ((!(x) && !(y)) || ((x) && (y) && !strcmp((x), (y))))
	if (!SAME(a->src, b->src) || !SAME(a->bin, b->bin) || !SAME(a->example, b->example) ||
	    !SAME(a->profile, b->profile) || !SAME(a->triple, b->triple) ||
	    a->nfeatures != b->nfeatures)
		return 0;
	for (i = 0; i < a->nfeatures; i++)
		if (strcmp(a->features[i], b->features[i]))
			return 0;
#undef SAME
	return 1;
}

static char *
crate_label(const struct build *b, const struct cargo_spec *s)
{
	struct buf l = BUF_INIT;
	char *rel = rel_path(b, s->src);
	size_t i;

	buf_addstr(&l, rel);
	free(rel);
	if (s->example)
		buf_printf(&l, " --example %s", s->example);
	else if (s->bin)
		buf_printf(&l, " --bin %s", s->bin);
	if (strcmp(s->profile, CARGO_DEFAULT_PROFILE))
		buf_printf(&l, " --profile %s", s->profile);
	for (i = 0; i < s->nfeatures; i++)
		buf_printf(&l, "%s%s", i ? "," : " --features ", s->features[i]);
	if (s->triple)
		buf_printf(&l, " --target %s", s->triple);
	return buf_detach(&l, NULL);
}

/* what the key covers besides the files, as one line */
static char *
crate_decl(struct crt *c)
{
	const struct cargo_spec *s = &c->spec;
	const char *rf = getenv("RUSTFLAGS");
	cJSON *o = cJSON_CreateObject(), *a;
	char *text, *rel;
	size_t i;

	rel = rel_path(c->b, s->src);
	cJSON_AddStringToObject(o, "crate", rel);
	free(rel);
	if (s->bin)
		cJSON_AddStringToObject(o, "bin", s->bin);
	if (s->example)
		cJSON_AddStringToObject(o, "example", s->example);
	cJSON_AddStringToObject(o, "profile", s->profile);
	if (s->triple)	/* this machine's target keeps the keys it always had */
		cJSON_AddStringToObject(o, "target", s->triple);
	a = cJSON_AddArrayToObject(o, "features");
	for (i = 0; i < s->nfeatures; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(s->features[i]));
	cJSON_AddStringToObject(o, "target_dir", s->target_dir);
	cJSON_AddBoolToObject(o, "offline", s->offline);
	if (s->registry)
		cJSON_AddStringToObject(o, "registry", s->registry);
	if (rf)
		cJSON_AddStringToObject(o, "rustflags", rf);
	cJSON_AddStringToObject(o, "toolchain", c->toolchain ? c->toolchain : "");
	a = cJSON_AddArrayToObject(o, "dirs");
	for (i = 0; i < c->ndirs; i++) {
		rel = rel_path(c->b, c->dirs[i]);
		cJSON_AddItemToArray(a, cJSON_CreateString(rel));
		free(rel);
	}
	text = json_print(o);
	cJSON_Delete(o);
	return text;
}

/* The directories of a crate's sources.  Finding path dependencies costs a
 * cargo metadata or more; the ones recorded last time still hold while
 * every one of their Cargo.toml files is as it was. */
static void
crate_dirs(struct crt *c, const struct cache_entry *e)
{
	const cJSON *d;
	cJSON *decl = e && e->decl ? cJSON_Parse(e->decl) : NULL;
	char **dirs = NULL;
	size_t n = 0, cap = 0, i, j;
	int ok = decl != NULL;

	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(decl, "dirs")) {
		char *abs, *toml, *rel;
		struct hash h;

		if (!ok || !cJSON_IsString(d))
			break;
		abs = path_join(c->b->d->dir, d->valuestring);
		toml = path_join(abs, "Cargo.toml");
		rel = rel_path(c->b, toml);
		for (j = 0; j < e->ninputs; j++)
			if (!strcmp(e->inputs[j].path, rel))
				break;
		/* a directory without a Cargo.toml (a virtual workspace's) counts on its own */
		if (j < e->ninputs && (cache_hash_file(c->b->cache, toml, &h) != 0 ||
		                       memcmp(h.b, e->inputs[j].hash.b, HASH_LEN)))
			ok = 0;
		free(toml);
		free(rel);
		ALLOC_GROW(dirs, n, cap);
		dirs[n++] = abs;
	}
	cJSON_Delete(decl);
	if (!ok || !n || strcmp(dirs[0], c->spec.src)) {
		for (i = 0; i < n; i++)
			free(dirs[i]);
		free(dirs);
		cargo_source_dirs(c->spec.src, &dirs, &n);
	}
	c->dirs = dirs;
	c->ndirs = n;
}

/* the source files with their hashes, in *in */
static int
crate_files(struct crt *c, struct files *in)
{
	char **files = NULL;
	size_t n = 0, cap = 0, i;
	int ret = 0;

	for (i = 0; i < c->ndirs; i++)
		cargo_source_files(c->dirs[i], &files, &n, &cap);
	for (i = 0; i < n; i++) {
		struct hash h;
		char *rel;
		size_t j;
		int r;

		rel = rel_path(c->b, files[i]);
		for (j = 0; j < in->n; j++)
			if (!strcmp(in->v[j].path, rel))
				break;
		if (j < in->n) {
			free(rel);	/* a directory listed twice */
			continue;
		}
		r = cache_hash_file(c->b->cache, files[i], &h);
		if (r) {
			free(rel);
			if (r < 0) {
				ret = -1;
				break;
			}
			continue;	/* gone since the listing */
		}
		in->v = xreallocarray(in->v, in->n + 1, sizeof(*in->v));
		in->v[in->n].path = rel;
		in->v[in->n++].hash = h;
	}
	for (i = 0; i < n; i++)
		free(files[i]);
	free(files);
	return ret;
}

static void
crate_key(const char *decl, const struct files *in, struct hash *out)
{
	struct hasher h;
	char n[32];
	size_t i;

	hasher_init(&h);
	hasher_addstr(&h, "hydro crate 1");
	hasher_addstr(&h, decl);
	snprintf(n, sizeof(n), "%zu", in->n);
	hasher_addstr(&h, n);
	for (i = 0; i < in->n; i++) {
		hasher_addstr(&h, in->v[i].path);
		hasher_add(&h, in->v[i].hash.b, HASH_LEN);
	}
	hasher_final(&h, out);
}

static int
same_inputs(const struct cache_entry *e, const struct files *in)
{
	size_t i;

	if (e->ninputs != in->n)
		return 0;
	for (i = 0; i < in->n; i++)
		if (strcmp(e->inputs[i].path, in->v[i].path) ||
		    memcmp(e->inputs[i].hash.b, in->v[i].hash.b, HASH_LEN))
			return 0;
	return 1;
}

/* decide whether the crate is up to date (on the main thread, before the
 * run): the reason to build it, or NULL with c->exe set */
static char *
crate_decide(struct crt *c)
{
	const struct cache_entry *e;
	struct hash h;
	int r;

	if (!c->toolchain)
		return xstrdup("cargo cannot be run");
	e = cache_get(c->b->cache, c->cname);
	crate_dirs(c, e);
	c->decl = crate_decl(c);
	if (crate_files(c, &c->in) < 0)
		return xstrdup("its sources cannot be read");
	if (e && e->decl && !strcmp(e->decl, c->decl) && same_inputs(e, &c->in))
		c->key = e->key;
	else
		crate_key(c->decl, &c->in, &c->key);
	if (!e)
		return xstrdup("never built");
	if (memcmp(e->key.b, c->key.b, HASH_LEN)) {
		char *why = build_input_change(e, &c->in);

		return why ? why : xstrdup("its flags or the toolchain changed");
	}
	if (e->noutputs != 1)
		return xstrdup("its program is not recorded");
	r = cache_hash_file(c->b->cache, e->outputs[0].path, &h);
	if (r < 0)
		return xasprintf("its program '%s' cannot be read", e->outputs[0].path);
	if (r > 0)
		return xasprintf("its program '%s' is missing", e->outputs[0].path);
	if (memcmp(h.b, e->outputs[0].hash.b, HASH_LEN))
		return xasprintf("its program '%s' was changed", e->outputs[0].path);
	c->exe = xstrdup(e->outputs[0].path);
	return NULL;
}

/* what cargo's stdout feeds while a crate builds */
struct crate_feed {
	struct cargo_msgs *msgs;
	struct task *task;
	size_t total;		/* the packages of its Cargo.lock, or 0 */
};

static void
crate_out(void *arg, const char *data, size_t n)
{
	struct crate_feed *f = arg;

	cargo_msgs_feed(f->msgs, data, n);
	if (f->total)
		task_set_steps(f->task, f->msgs->artifacts, f->total);
}

/* the number of packages in dir's Cargo.lock, the crate excluded: about as
 * many "compiler-artifact" messages as a build gives; 0 without a lock */
static size_t
lock_packages(const char *dir)
{
	char *lock = path_join(dir, "Cargo.lock");
	struct buf b = BUF_INIT;
	const char *s;
	size_t n = 0;

	if (path_exists(lock) && read_file(lock, &b) == 0)
		for (s = buf_str(&b); (s = strstr(s, "[[package]]")); s++)
			n++;
	buf_release(&b);
	free(lock);
	return n > 1 ? n - 1 : 0;
}

/* a rustc diagnostic on a program's crate, kept shown on the .hf file */
static void
crate_diag(void *arg, const cJSON *message)
{
	struct crt *c = arg;
	const char *level = json_str(message, "level");

	/* the closing "aborting due to" and "for more information" lines */
	if (!cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(message, "spans")))
		return;
	if (level && !strcmp(level, "warning") && !c->b->verbose)
		return;
	c->ndiag_errors += hf_rustc_render(c->prog, message, "src/main.rs",
	                                   term_color(2), &c->diags);
}

static int
crate_run(struct task *task, void *arg)
{
	struct crt *c = arg;
	struct files post = { NULL, 0 }, outs = { NULL, 0 };
	struct cargo_msgs msgs;
	struct crate_feed feed;
	struct buf out = BUF_INIT;
	struct cache_entry e;
	struct command cmd;
	char **argv, *what, *exe = NULL;
	int status = 0, sig = 0, r, ret = -1;
	size_t i, j, argc = 0;

	if (!c->toolchain)
		return error("%s", c->toolerr);
	cache_drop(c->b->cache, c->cname);
	argv = cargo_build_argv(&c->spec);
	while (argv[argc])
		argc++;
	what = xasprintf("crate '%s'", c->label);
	cargo_msgs_init(&msgs, &c->spec);
	if (c->prog) {
		msgs.on_diag = crate_diag;
		msgs.diag_arg = c;
		buf_reset(&c->diags);
		c->ndiag_errors = 0;
	}
	memset(&cmd, 0, sizeof(cmd));
	cmd.id = c->cname;
	cmd.what = what;
	cmd.argv = argv;
	cmd.argc = argc;
	cmd.cwd = c->spec.src;
	feed.msgs = &msgs;
	feed.task = task;
	feed.total = lock_packages(c->spec.src);
	cmd.on_out = crate_out;
	cmd.arg = &feed;
	r = build_run_command(c->b, task, &cmd, &out, &status, &sig);
	if (r == -2) {
		error("interrupted");
		goto done;
	}
	if (r < 0)
		goto done;
	if (c->diags.len)
		fwrite(c->diags.data, 1, c->diags.len, stderr);
	if (sig || status) {
		/* cargo's rendered diagnostics, then what failed */
		if (!c->ndiag_errors)
			build_show_output(&out);
		if (sig)
			error("cargo build of %s '%s' for %s %s killed by signal %d",
			      c->prog ? "program" : "crate", c->label, c->nusers == 1 ? "service" : "services",
			      buf_str(&c->users), sig);
		else
			error("cargo build of %s '%s' for %s %s failed (exit status %d)",
			      c->prog ? "program" : "crate", c->label, c->nusers == 1 ? "service" : "services",
			      buf_str(&c->users), status);
		goto done;
	}
	exe = cargo_msgs_exe(&msgs);
	if (!exe) {
		error("crate '%s' for %s %s: no program to run", c->label,
		      c->nusers == 1 ? "service" : "services", buf_str(&c->users));
		goto done;
	}
	if (out.len && c->b->verbose)
		build_show_output(&out);

	/* The build may have written Cargo.lock: record it as it is now, and
	 * the sources with the hashes they had before the build, so that one
	 * edited while cargo ran is seen as changed next time. */
	if (crate_files(c, &post) < 0)
		goto done;
	for (i = 0; i < post.n; i++)
		for (j = 0; j < c->in.n && !str_ends(post.v[i].path, "Cargo.lock"); j++)
			if (!strcmp(post.v[i].path, c->in.v[j].path)) {
				post.v[i].hash = c->in.v[j].hash;
				break;
			}
	crate_key(c->decl, &post, &c->key);
	outs.v = xcalloc(1, sizeof(*outs.v));
	outs.v[0].path = xstrdup(exe);
	outs.n = 1;
	r = cache_hash_file(c->b->cache, exe, &outs.v[0].hash);
	if (r) {
		if (r > 0)
			error("cargo reported '%s', which does not exist", exe);
		goto done;
	}
	memset(&e, 0, sizeof(e));
	e.name = c->cname;
	e.key = c->key;
	e.decl = c->decl;
	e.inputs = post.v;
	e.ninputs = post.n;
	e.outputs = outs.v;
	e.noutputs = outs.n;
	task_set_key(task, &c->key);
	if (cache_put(c->b->cache, &e, c->b->d->dir) < 0)
		goto done;
	c->exe = exe;
	exe = NULL;
	ret = 0;
done:
	free(exe);
	build_files_release(&post);
	build_files_release(&outs);
	cargo_msgs_release(&msgs);
	buf_release(&out);
	str_free_list(argv);
	free(what);
	return ret;
}

/* where cross builds for triple go: beside the shared target directory, a
 * new string ("/work/cargo-target" gives "/work/cargo-target-aarch64"), for
 * they use another toolchain, whose artifacts for the build machine would
 * replace this machine's own toolchain's */
static char *
cross_target_dir(const char *target_dir, const char *triple)
{
	char *real = realpath(target_dir, NULL), *dir;
	const char *dash = strchr(triple, '-');

	dir = xasprintf("%s-%.*s", real ? real : target_dir,
	                (int)(dash ? dash - triple : (ptrdiff_t)strlen(triple)), triple);
	free(real);
	return dir;
}

/* a host whose target triple read_triples asks for, and what the asking
 * reported, kept to be said on the planning thread */
struct triple_ask {
	struct host *h;
	struct error_log log;
	int failed;
};

/* on a pool thread: the backend reads the triple and keeps it */
static void
triple_read(void *arg)
{
	struct triple_ask *a = arg;

	error_set_reporter(error_log_keep, &a->log);
	a->failed = !strcmp(host_triple(a->h), "unknown") && a->log.nerrors;
	error_set_reporter(NULL, NULL);
}

/*
 * The target triples of the hosts services are built for, asked of every
 * such host at once before planning needs them: a backend may read it from
 * the machine (connecting to it), and keeps the answer, so that planning's
 * own host_triple() calls find it.  What each host's asking reported is
 * said here, host after host; -1 when a host could not tell, its error
 * said once, and the triple not asked again.
 */
static int
read_triples(const struct build *b)
{
	const struct deployment *d = b->d;
	struct triple_ask *asks;
	struct pool *pool;
	size_t i, j, n = 0;
	int ret = 0;

	if (b->target)
		return 0;
	asks = xcalloc(d->nhosts + 1, sizeof(*asks));
	for (i = 0; i < d->nservices; i++) {
		const struct service *s = d->services[i];

		if (s->nstandin || s->kind == SERVICE_PROCESS || s->kind == SERVICE_SCRIPT ||
		    (host_caps(s->host) & BACKEND_THIS_MACHINE))
			continue;
		for (j = 0; j < n && asks[j].h != s->host; j++)
			;
		if (j == n)
			asks[n++].h = s->host;
	}
	if (n) {
		pool = pool_new(n < SCHED_IO_JOBS ? (unsigned)n : SCHED_IO_JOBS);
		for (i = 0; i < n; i++)
			pool_submit(pool, triple_read, &asks[i]);
		pool_free(pool);
	}
	for (i = 0; i < n; i++) {
		error_log_replay(&asks[i].log, NULL);
		error_log_release(&asks[i].log);
		if (asks[i].failed)
			ret = -1;
	}
	free(asks);
	return ret;
}

/* the target service s is built for: build --target, else its host's */
static const char *
service_triple(const struct build *b, const struct service *s)
{
	return b->target ? b->target : host_triple(s->host);
}

/* the crate of a spec for toolchain tc, found or added (spec is taken);
 * prog: the .hf program it was made from (taken), or NULL; toolchain: its
 * toolchain's version when known, else asked */
static struct crt *
crate_of_spec(struct build *b, struct cargo_spec spec, struct hf_program *prog,
              const char *hf, const char *toolchain, const struct toolchain *tc)
{
	struct crt *c;
	char *td;
	size_t i;

	if (!tc->native) {
		spec.triple = xstrdup(tc->triple);
		spec.cargo = xstrdup(tc->cargo);
		spec.rustc = tc->rustc ? xstrdup(tc->rustc) : NULL;
		spec.linker = tc->linker ? xstrdup(tc->linker) : NULL;
	}
	for (i = 0; i < b->ncrts; i++) {
		if (same_spec(&b->crts[i]->spec, &spec)) {
			cargo_spec_release(&spec);
			hf_program_free(prog);
			return b->crts[i];
		}
	}
	if (spec.triple) {
		td = spec.target_dir;
		spec.target_dir = cross_target_dir(td, spec.triple);
		free(td);
	}
	c = xcalloc(1, sizeof(*c));
	c->b = b;
	c->spec = spec;
	c->prog = prog;
	c->triple = tc->triple;
	if (prog) {
		char *rel = rel_path(b, hf);
		struct buf l = BUF_INIT;

		buf_addstr(&l, rel);
		if (strcmp(spec.profile, CARGO_DEFAULT_PROFILE))
			buf_printf(&l, " --profile %s", spec.profile);
		if (spec.triple)
			buf_printf(&l, " --target %s", spec.triple);
		c->label = buf_detach(&l, NULL);
		c->cname = xasprintf("program %s", c->label);
		free(rel);
	} else {
		c->label = crate_label(b, &c->spec);
		c->cname = xasprintf("crate %s", c->label);
	}
	/* rustup may choose a toolchain per directory: ask in the crate's */
	if (toolchain)
		c->toolchain = xstrdup(toolchain);
	for (i = 0; i < b->ncrts && !c->toolchain; i++)
		if (!strcmp(b->crts[i]->spec.src, c->spec.src) &&
		    b->crts[i]->triple == c->triple && b->crts[i]->toolchain) {
			c->toolchain = xstrdup(b->crts[i]->toolchain);
			break;
		}
	/* this machine's, remembered as for programs: no cargo call when unchanged */
	if (!c->toolchain && (c->spec.cargo || c->spec.rustc ?
	                      cargo_spec_toolchain(&c->spec, c->spec.src, &c->toolchain) :
	                      program_toolchain(c->spec.src, &c->toolchain)) < 0) {
		c->toolerr = xstrdup(error_last());
		error_clear();
	}
	b->crts = xreallocarray(b->crts, b->ncrts + 1, sizeof(*b->crts));
	b->crts[b->ncrts++] = c;
	return c;
}

/* the crate a service is built from, found or added; NULL with the error
 * reported when its target cannot be built for */
static struct crt *
crate_of(struct build *b, const struct service *s)
{
	const struct toolchain *tc;
	struct cargo_spec spec;
	char *td;
	size_t i;

	if (toolchain_find(service_triple(b, s), &tc) < 0)
		return NULL;
	memset(&spec, 0, sizeof(spec));
	spec.src = xstrdup(s->src);
	spec.bin = s->bin ? xstrdup(s->bin) : NULL;
	spec.example = s->example ? xstrdup(s->example) : NULL;
	spec.profile = xstrdup(s->profile ? s->profile : CARGO_DEFAULT_PROFILE);
	spec.features = xcalloc(s->nfeatures + 1, sizeof(*spec.features));
	for (i = 0; i < s->nfeatures; i++)
		spec.features[i] = xstrdup(s->features[i]);
	spec.nfeatures = s->nfeatures;
	td = path_join(b->d->dir, ".hydro/target");
	cargo_spec_env(&spec, td);
	free(td);
	return crate_of_spec(b, spec, NULL, NULL, NULL, tc);
}

/* the crate of service s's .hf program, written and found or added;
 * *toolchain: this machine's toolchain, asked for the first program built
 * for it (another target's toolchain is asked by crate_of_spec) */
static struct crt *
program_of(struct build *b, const struct service *s, char **toolchain)
{
	const struct toolchain *tc;
	struct cargo_spec spec, ask;
	struct hf_program *prog;
	char *own = NULL;
	struct crt *c;

	if (toolchain_find(service_triple(b, s), &tc) < 0)
		return NULL;
	if (tc->native) {
		if (!*toolchain && program_toolchain(b->d->dir, toolchain) < 0) {
			*toolchain = NULL;
			return NULL;
		}
	} else {
		memset(&ask, 0, sizeof(ask));
		ask.cargo = (char *)tc->cargo;
		ask.rustc = (char *)tc->rustc;
		if (cargo_spec_toolchain(&ask, b->d->dir, &own) < 0)
			return NULL;
	}
	if (program_spec(b->d, s, own ? own : *toolchain, &spec, &prog) < 0) {
		free(own);
		return NULL;
	}
	c = crate_of_spec(b, spec, prog, s->src, own ? own : *toolchain, tc);
	free(own);
	return c;
}

/* a program built for another target runs here under qemu: know that it
 * can before building anything */
static int
check_runner(const struct build *b, const struct service *s)
{
	const char *const *words;
	int n;

	if (b->target || !(host_caps(s->host) & BACKEND_THIS_MACHINE))
		return 0;
	return toolchain_runner(service_triple(b, s), &words, &n);
}

int
crate_add(struct build *b, struct graph *g)
{
	const struct deployment *d = b->d;
	char *toolchain = NULL;
	size_t i;

	free(b->svc_crt);
	b->svc_crt = xcalloc(d->nservices + 1, sizeof(*b->svc_crt));
	if (read_triples(b) < 0)
		return -1;
	for (i = 0; i < d->nservices; i++) {
		const struct service *s = d->services[i];
		struct crt *c;
		char *toml;
		int ok;

		/* a standin runs in place of the crate, which is not built */
		if (s->nstandin || s->kind == SERVICE_PROCESS || s->kind == SERVICE_SCRIPT)
			continue;
		if (check_runner(b, s) < 0) {
			free(toolchain);
			return -1;
		}
		if (s->kind == SERVICE_HYDROFLOW) {
			if (!(c = program_of(b, s, &toolchain))) {
				free(toolchain);
				return -1;
			}
			b->svc_crt[i] = c;
			crate_use(c, s);
			continue;
		}
		if (!s->src) {
			free(toolchain);
			return error("%s: service '%s': a crate needs 'src', its directory",
			             d->config, s->name);
		}
		toml = path_join(s->src, "Cargo.toml");
		ok = path_exists(toml);
		free(toml);
		if (!ok) {
			free(toolchain);
			return error("%s: service '%s': no Cargo.toml in '%s'; give the "
			             "crate's directory as 'src', or a 'standin'",
			             d->config, s->name, s->src);
		}
		if (!(c = crate_of(b, s))) {
			free(toolchain);
			return -1;
		}
		b->svc_crt[i] = c;
		crate_use(c, s);
	}
	free(toolchain);
	for (i = 0; i < b->ncrts; i++) {
		struct crt *c = b->crts[i];
		char **argv, *cmd;
		size_t argc = 0;

		if (c->task)
			continue;
		c->task = graph_add(g, TASK_BUILD, c->cname, crate_run, c);
		argv = cargo_build_argv(&c->spec);
		while (argv[argc])
			argc++;
		cmd = str_shell_line(argv, argc);
		task_set_command(c->task, cmd);
		free(cmd);
		str_free_list(argv);
		c->why = crate_decide(c);
		c->uptodate = !c->why;
		if (c->uptodate) {
			task_set_key(c->task, &c->key);
			task_uptodate(c->task);
		}
		c->pkg = package_add(b->cache, b->d->dir, g, c->task, &(struct package_src){
			c->label, c->prog ? "program" : "crate", c->triple, &c->exe, &c->key,
			c->uptodate, c->files, c->nfiles, files_pending(b, c, NULL) });
		files_pending(b, c, package_task(c->pkg));
	}
	return 0;
}

const char *
crate_target(const struct build *b, size_t i)
{
	return i < b->ncrts ? b->crts[i]->triple : NULL;
}

const struct pkg *
crate_package(const struct build *b, size_t i)
{
	return i < b->ncrts ? b->crts[i]->pkg : NULL;
}

const struct pkg *
crate_service_package(const struct build *b, const struct service *s)
{
	return b && b->svc_crt && s->index < b->d->nservices && b->svc_crt[s->index] ?
	       b->svc_crt[s->index]->pkg : NULL;
}

int
crate_prune(const struct build *b)
{
	const char **keep = xcalloc(b->ncrts + 1, sizeof(*keep));
	size_t i, n = 0;
	int ret;

	for (i = 0; i < b->ncrts; i++)
		if (package_path(b->crts[i]->pkg))
			keep[n++] = package_path(b->crts[i]->pkg);
	ret = package_prune(b->d->dir, keep, n);
	free(keep);
	return ret;
}

const char *
crate_service_target(const struct build *b, const struct service *s)
{
	return b && b->svc_crt && s->index < b->d->nservices && b->svc_crt[s->index] ?
	       b->svc_crt[s->index]->triple : NULL;
}

int
crate_step(const struct build *b, size_t i, struct build_step *out)
{
	const struct crt *c;

	if (i >= b->ncrts)
		return 0;
	c = b->crts[i];
	memset(out, 0, sizeof(*out));
	out->name = c->label;
	out->users = buf_str(&c->users);
	out->why = c->why;
	out->task = c->task;
	return 1;
}

struct task *
crate_task(const struct build *b, const struct service *s)
{
	return b && b->svc_crt && s->index < b->d->nservices && b->svc_crt[s->index] ?
	       b->svc_crt[s->index]->task : NULL;
}

const char *
crate_exe(const struct build *b, const struct service *s)
{
	return b && b->svc_crt && s->index < b->d->nservices && b->svc_crt[s->index] ?
	       b->svc_crt[s->index]->exe : NULL;
}

