#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cargo.h"
#include "error.h"
#include "fs.h"
#include "json.h"
#include "proc.h"
#include "str.h"
#include "xmalloc.h"

/* cargo's JSON lines can be long (a package's features and file names), but
 * not this long: a longer one is dropped, not grown without end */
#define LINE_MAX_BYTES (4u << 20)
/* how deep a crate's source tree is walked */
#define WALK_DEPTH 32
/* path dependencies followed, at most */
#define DIRS_MAX 64

void
cargo_spec_env(struct cargo_spec *s, const char *default_target_dir)
{
	const char *td = getenv("CARGO_TARGET_DIR"), *off = getenv("HYDRO_CARGO_OFFLINE");
	const char *reg = getenv("HYDRO_CARGO_REGISTRY");

	free(s->target_dir);
	s->target_dir = td && *td ? path_absolute(td) : xstrdup(default_target_dir);
	s->offline = off && *off && strcmp(off, "0");
	free(s->registry);
	s->registry = NULL;
	if (s->offline) {
		if (!reg)
			reg = CARGO_DEBIAN_REGISTRY;
		if (*reg)
			s->registry = xstrdup(reg);
	}
}

void
cargo_spec_release(struct cargo_spec *s)
{
	size_t i;

	free(s->src);
	free(s->bin);
	free(s->example);
	free(s->profile);
	for (i = 0; i < s->nfeatures; i++)
		free(s->features[i]);
	free(s->features);
	free(s->target_dir);
	free(s->registry);
	free(s->triple);
	free(s->cargo);
	free(s->rustc);
	free(s->linker);
	memset(s, 0, sizeof(*s));
}

const char *
cargo_program(void)
{
	const char *c = getenv("CARGO");

	return c && *c ? c : "cargo";
}

/* ---- running cargo and rustc for what they print ---- */

/* stdout to the first buffer, stderr to the second */
static int
collect(void *arg, int stream, const char *data, size_t n)
{
	buf_add(((struct buf **)arg)[stream - 1], data, n);
	return 0;
}

/* run argv in dir, its stdout in *out (stderr kept for the error); the exit
 * status, or -1 with the error reported */
static int
capture(char **argv, const char *dir, struct buf *out, struct buf *err)
{
	struct proc p = PROC_INIT;
	struct buf *bufs[2] = { out, err };

	p.argv = argv;
	p.dir = dir;
	p.out = PROC_PIPE;
	p.err = PROC_PIPE;
	if (proc_start(&p) < 0)
		return -1;
	proc_read(&p, collect, bufs);
	return proc_finish(&p);
}

int
cargo_toolchain(const char *dir, char **out)
{
	struct cargo_spec s;

	memset(&s, 0, sizeof(s));
	return cargo_spec_toolchain(&s, dir, out);
}

int
cargo_spec_toolchain(const struct cargo_spec *s, const char *dir, char **out)
{
	const char *rustc = s->rustc ? s->rustc : getenv("RUSTC");
	char *cv[] = { (char *)(s->cargo ? s->cargo : cargo_program()), "--version", NULL };
	char *rv[] = { (char *)(rustc && *rustc ? rustc : "rustc"), "-vV", NULL };
	struct buf o = BUF_INIT, e = BUF_INIT;
	int st;

	st = capture(cv, dir, &o, &e);
	if (st != 0) {
		if (st > 0)
			error("'%s --version' failed (exit status %d): %s", cv[0], st,
			      str_trim((char *)buf_str(&e)));
		else
			error("cannot run cargo ('%s'); install Rust, set CARGO, or give "
			      "the service a 'standin'", cv[0]);
		goto fail;
	}
	buf_addch(&o, '\n');
	/* without rustc cargo fails later, with its own message */
	if (capture(rv, dir, &o, &e) != 0)
		buf_addstr(&o, "rustc: unknown\n");
	buf_release(&e);
	*out = buf_detach(&o, NULL);
	return 0;
fail:
	buf_release(&o);
	buf_release(&e);
	return -1;
}

int
cargo_sysroot(const char *rustc, char **out)
{
	char *argv[] = { (char *)rustc, "--print", "sysroot", NULL };
	struct buf o = BUF_INIT, e = BUF_INIT;
	int st = capture(argv, NULL, &o, &e);

	buf_release(&e);
	if (st != 0 || !o.len) {
		buf_release(&o);
		return -1;
	}
	*out = xstrdup(str_trim((char *)buf_str(&o)));
	buf_release(&o);
	return 0;
}

char **
cargo_build_argv(const struct cargo_spec *s)
{
	char **v = NULL;
	size_t n = 0, cap = 0, i;
	struct buf f = BUF_INIT;

#define ADD(x) do { ALLOC_GROW(v, n, cap); v[n++] = (x); } while (0)
	ADD(xstrdup(s->cargo ? s->cargo : cargo_program()));
	ADD(xstrdup("build"));
	if (s->triple) {
		ADD(xstrdup("--target"));
		ADD(xstrdup(s->triple));
	}
	if (s->rustc) {
		ADD(xstrdup("--config"));
		ADD(xasprintf("build.rustc=\"%s\"", s->rustc));
	}
	if (s->linker) {
		ADD(xstrdup("--config"));
		ADD(xasprintf("target.%s.linker=\"%s\"", s->triple, s->linker));
	}
	ADD(xstrdup("--profile"));
	ADD(xstrdup(s->profile ? s->profile : CARGO_DEFAULT_PROFILE));
	if (s->example) {
		ADD(xstrdup("--example"));
		ADD(xstrdup(s->example));
	} else if (s->bin) {
		ADD(xstrdup("--bin"));
		ADD(xstrdup(s->bin));
	}
	if (s->nfeatures) {
		for (i = 0; i < s->nfeatures; i++) {
			if (i)
				buf_addch(&f, ',');
			buf_addstr(&f, s->features[i]);
		}
		ADD(xstrdup("--features"));
		ADD(buf_detach(&f, NULL));
	}
	ADD(xstrdup("--target-dir"));
	ADD(xstrdup(s->target_dir));
	ADD(xstrdup(s->json_diags ? "--message-format=json" :
	            "--message-format=json-render-diagnostics"));
	if (s->locked)
		ADD(xstrdup("--locked"));
	if (s->offline) {
		ADD(xstrdup("--offline"));
		if (s->registry) {
			/* Debian's crates as the registry (docs/guide.md, "Rust crates") */
			ADD(xstrdup("--config"));
			ADD(xstrdup("source.crates-io.replace-with=\"hydro-offline\""));
			ADD(xstrdup("--config"));
			ADD(xasprintf("source.hydro-offline.directory=\"%s\"", s->registry));
		}
	}
	ADD(NULL);
#undef ADD
	buf_release(&f);
	return v;
}

/* ---- what a build reads ---- */

static int
has_dir(char **dirs, size_t n, const char *d)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(dirs[i], d))
			return 1;
	return 0;
}

static void
add_dir(char ***dirs, size_t *n, size_t *cap, const char *d)
{
	char *abs;

	if (!d || !*d)
		return;
	abs = path_absolute(d);
	if (!abs || has_dir(*dirs, *n, abs) || *n >= DIRS_MAX) {
		free(abs);
		return;
	}
	ALLOC_GROW(*dirs, *n, *cap);
	(*dirs)[(*n)++] = abs;
}

/* the workspace root and path dependencies cargo metadata names for the
 * crate in dir */
static void
metadata_dirs(const char *dir, char ***dirs, size_t *n, size_t *cap)
{
	char *argv[] = { (char *)cargo_program(), "metadata", "--offline", "--no-deps",
	                 "--format-version", "1", NULL };
	struct buf o = BUF_INIT, e = BUF_INIT;
	const cJSON *pkg, *dep;
	cJSON *m;

	if (capture(argv, dir, &o, &e) != 0) {
		error_clear();
		goto out;
	}
	m = cJSON_Parse(buf_str(&o));
	if (!m)
		goto out;
	add_dir(dirs, n, cap, json_str(m, "workspace_root"));
	cJSON_ArrayForEach(pkg, cJSON_GetObjectItemCaseSensitive(m, "packages")) {
		const char *mp = json_str(pkg, "manifest_path");
		char *pd = mp ? path_dirname(mp) : NULL;

		/* only the package in dir: other workspace members are not read */
		if (pd && !strcmp(pd, dir)) {
			cJSON_ArrayForEach(dep, cJSON_GetObjectItemCaseSensitive(pkg, "dependencies"))
				add_dir(dirs, n, cap, json_str(dep, "path"));
		}
		free(pd);
	}
	cJSON_Delete(m);
out:
	buf_release(&o);
	buf_release(&e);
}

void
cargo_source_dirs(const char *src, char ***dirs, size_t *n)
{
	size_t cap = 0, i;

	*dirs = NULL;
	*n = 0;
	add_dir(dirs, n, &cap, src);
	/* a breadth-first walk: each path dependency may have its own */
	for (i = 0; i < *n; i++) {
		char *toml = path_join((*dirs)[i], "Cargo.toml");

		if (path_exists(toml))
			metadata_dirs((*dirs)[i], dirs, n, &cap);
		free(toml);
	}
}

static void
add_file(char ***files, size_t *n, size_t *cap, char *path)
{
	ALLOC_GROW(*files, *n, *cap);
	(*files)[(*n)++] = path;
}

static void
walk(const char *dir, int depth, char ***files, size_t *n, size_t *cap)
{
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if (depth > WALK_DEPTH || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		char *p;

		if (de->d_name[0] == '.')
			continue;	/* ., .., and editors' hidden files */
		p = path_join(dir, de->d_name);
		if (stat(p, &sb) < 0) {
			free(p);
			continue;
		}
		if (S_ISDIR(sb.st_mode)) {
			walk(p, depth + 1, files, n, cap);
			free(p);
		} else if (S_ISREG(sb.st_mode)) {
			add_file(files, n, cap, p);
		} else {
			free(p);
		}
	}
	closedir(d);
}

static int
by_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
cargo_source_files(const char *dir, char ***files, size_t *n, size_t *cap)
{
	static const char *const top[] = {
		"Cargo.toml", "Cargo.lock", "build.rs", ".cargo/config.toml", ".cargo/config",
		"rust-toolchain", "rust-toolchain.toml",
	};
	static const char *const trees[] = { "src", "examples", "benches" };
	size_t i, start = *n;

	for (i = 0; i < sizeof(top) / sizeof(*top); i++) {
		char *p = path_join(dir, top[i]);
		struct stat sb;

		if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode))
			add_file(files, n, cap, p);
		else
			free(p);
	}
	for (i = 0; i < sizeof(trees) / sizeof(*trees); i++) {
		char *p = path_join(dir, trees[i]);

		walk(p, 0, files, n, cap);
		free(p);
	}
	qsort(*files + start, *n - start, sizeof(**files), by_path);
}

/* ---- cargo's JSON messages ---- */

void
cargo_msgs_init(struct cargo_msgs *m, const struct cargo_spec *s)
{
	memset(m, 0, sizeof(*m));
	buf_init(&m->line, LINE_MAX_BYTES);
	m->want = s->example ? s->example : s->bin;
	m->example = s->example != NULL;
}

static int
has_kind(const cJSON *target, const char *kind)
{
	const cJSON *k;

	cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(target, "kind"))
		if (cJSON_IsString(k) && !strcmp(k->valuestring, kind))
			return 1;
	return 0;
}

static void
take_line(struct cargo_msgs *m, const char *text)
{
	const cJSON *target;
	const char *reason, *exe, *name;
	cJSON *o;
	size_t i;

	if (text[0] != '{')
		return;		/* a build script's stray output, say */
	o = cJSON_Parse(text);
	if (!o)
		return;
	reason = json_str(o, "reason");
	if (reason && !strcmp(reason, "build-finished")) {
		m->finished = json_bool(o, "success", 0) ? 1 : -1;
	} else if (reason && !strcmp(reason, "compiler-message") && m->on_diag) {
		m->on_diag(m->diag_arg, cJSON_GetObjectItemCaseSensitive(o, "message"));
	} else if (reason && !strcmp(reason, "compiler-artifact")) {
		m->artifacts++;
		target = cJSON_GetObjectItemCaseSensitive(o, "target");
		exe = json_str(o, "executable");
		name = json_str(target, "name");
		if (exe && name && has_kind(target, m->example ? "example" : "bin") &&
		    (!m->want || !strcmp(name, m->want))) {
			for (i = 0; i < m->nexes; i++)
				if (!strcmp(m->names[i], name))
					break;
			if (i == m->nexes) {
				m->exes = xreallocarray(m->exes, m->nexes + 1, sizeof(*m->exes));
				m->names = xreallocarray(m->names, m->nexes + 1, sizeof(*m->names));
				m->exes[i] = NULL;
				m->names[i] = xstrdup(name);
				m->nexes++;
			}
			free(m->exes[i]);
			m->exes[i] = xstrdup(exe);
		}
	}
	cJSON_Delete(o);
}

void
cargo_msgs_feed(struct cargo_msgs *m, const char *data, size_t n)
{
	const char *nl;

	while (n) {
		nl = memchr(data, '\n', n);
		if (!nl) {
			if (buf_add(&m->line, data, n) < 0)
				buf_reset(&m->line);	/* too long: not ours */
			return;
		}
		if (buf_add(&m->line, data, (size_t)(nl - data)) == 0)
			take_line(m, buf_str(&m->line));
		buf_reset(&m->line);
		n -= (size_t)(nl - data) + 1;
		data = nl + 1;
	}
}

char *
cargo_msgs_exe(struct cargo_msgs *m)
{
	struct buf names = BUF_INIT;
	size_t i;

	if (m->line.len) {
		take_line(m, buf_str(&m->line));
		buf_reset(&m->line);
	}
	if (m->nexes == 1)
		return xstrdup(m->exes[0]);
	if (!m->nexes) {
		if (m->want)
			error("cargo built no %s named '%s'", m->example ? "example" : "binary",
			      m->want);
		else
			error("cargo built no binary; the crate needs a [[bin]] or "
			      "src/main.rs, or set 'example'");
		return NULL;
	}
	for (i = 0; i < m->nexes; i++)
		buf_printf(&names, "%s'%s'", i ? ", " : "", m->names[i]);
	error("the crate has several binaries (%s); choose one with 'bin'", buf_str(&names));
	buf_release(&names);
	return NULL;
}

void
cargo_msgs_release(struct cargo_msgs *m)
{
	size_t i;

	for (i = 0; i < m->nexes; i++) {
		free(m->exes[i]);
		free(m->names[i]);
	}
	free(m->exes);
	free(m->names);
	buf_release(&m->line);
	memset(m, 0, sizeof(*m));
}
