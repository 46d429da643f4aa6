/*
 * emit: the Rust crate of a checked .hf program.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "fs.h"
#include "hash.h"
#include "str.h"
#include "xmalloc.h"
#include "hf/emit.h"
#include "hf/ptype.h"

#ifndef HYDRO_DATADIR
#define HYDRO_DATADIR "/usr/local/share/hydro"
#endif

/* the crates every program gets, as its Cargo.toml names them; the lock
 * (RUST_DIR/Cargo.lock) holds their versions */
static const char *const provided[][2] = {
	{ "hydroflow", "{ version = \"0.10\", default-features = false, "
	  "features = [\"macros\", \"deploy_integration\"] }" },
	{ "tokio", "{ version = \"1\", features = [\"full\"] }" },
	/* 0.7.13 makes hydroflow 0.10 ambiguous (E0283) */
	{ "tokio-util", "{ version = \"=0.7.11\", features = [\"codec\"] }" },
	{ "serde", "{ version = \"1\", features = [\"derive\"] }" },
	{ "bincode", "\"1.3\"" },
	{ "chrono", "{ version = \"0.4\", default-features = false, "
	  "features = [\"serde\", \"clock\", \"std\"] }" },
	/* the lattice types hydroflow's own lattice operators take */
	{ "lattices", "\"0.5\"" },
};
#define NPROVIDED (sizeof(provided) / sizeof(provided[0]))

/* crates of Rust itself, and paths that are not crates */
static const char *const builtin[] = {
	"std", "core", "alloc", "crate", "self", "super", "proc_macro", "test",
};

char *
hf_rust_dir(void)
{
	const char *env = getenv("HYDRO_RUST_DIR");
	char exe[PATH_MAX], *cand[6] = { NULL }, *found = NULL, *dir;
	ssize_t n;
	struct buf tried = BUF_INIT;

	if (env && *env)
		return path_absolute(env);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		dir = path_dirname(exe);
		/* the build tree: beside ./hydro, or above build/san/hydro */
		cand[0] = xasprintf("%s/lang/rust", dir);
		cand[1] = xasprintf("%s/../lang/rust", dir);
		cand[2] = xasprintf("%s/../../lang/rust", dir);
		/* installed: hydro in bin, hydro-python in libexec/hydro */
		cand[3] = xasprintf("%s/../share/hydro/rust", dir);
		cand[4] = xasprintf("%s/../../share/hydro/rust", dir);
		free(dir);
	}
	cand[5] = xstrdup(HYDRO_DATADIR "/rust");
	for (size_t i = 0; i < 6; i++) {
		char *probe;

		if (!cand[i])
			continue;
		probe = xasprintf("%s/hydro_runtime/Cargo.toml", cand[i]);
		if (!found && path_exists(probe))
			found = realpath(cand[i], NULL);	/* the same text from any binary */
		if (!found)
			buf_printf(&tried, "%s'%s'", tried.len ? ", " : "", cand[i]);
		free(probe);
		free(cand[i]);
	}
	if (!found)
		error("cannot find hydro's Rust runtime crate (looked in %s); run 'make install' "
		      "again or set HYDRO_RUST_DIR", buf_str(&tried));
	buf_release(&tried);
	return found;
}

/* --- crates --- */

static void
crates_add(struct hf_crates *c, const char *name, char *spec, char *dir)
{
	ALLOC_GROW(c->v, c->n, c->cap);
	c->v[c->n].name = xstrdup(name);
	c->v[c->n].spec = spec;
	c->v[c->n].dir = dir;
	c->n++;
}

void
hf_crates_release(struct hf_crates *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].spec);
		free(c->v[i].dir);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/* the crate a `use` item names (its first path segment), a new string, or
 * NULL for std's and for what is not a plain path */
static char *
use_crate(const struct hf_ast *a, const struct hf_use *u)
{
	int t = u->toks.first + 1;
	const struct hf_tok *k;

	if (t <= u->toks.last && hf_tok_is(a->src, &a->toks.v[t], "::"))
		t++;
	if (t > u->toks.last)
		return NULL;
	k = &a->toks.v[t];
	if (k->kind != TOK_IDENT)
		return NULL;
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (hf_tok_word(a->src, k, builtin[i]))
			return NULL;
	return xstrndup(a->src + k->off, k->len);
}

/* a crate name as Rust sees it: `-` is `_` */
static int
same_crate(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
			return 0;
	return !*a && !*b;
}

/* a TOML value with its relative `path = "..."` made absolute against dir */
static char *
absolute_paths(const char *value, const char *dir)
{
	struct buf o = BUF_INIT;
	const char *s = value, *p;

	while ((p = strstr(s, "path"))) {
		const char *q = p + 4, *end;

		while (*q == ' ' || *q == '\t')
			q++;
		if ((p > value && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '-')) ||
		    *q != '=') {
			buf_add(&o, s, (size_t)(q - s));
			s = q;
			continue;
		}
		q++;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '"' || !(end = strchr(q + 1, '"'))) {
			buf_add(&o, s, (size_t)(q - s));
			s = q;
			continue;
		}
		buf_add(&o, s, (size_t)(q - s));
		if (q[1] == '/')
			buf_add(&o, q, (size_t)(end + 1 - q));
		else
			buf_printf(&o, "\"%s/%.*s\"", dir, (int)(end - q - 1), q + 1);
		s = end + 1;
	}
	buf_addstr(&o, s);
	return buf_detach(&o, NULL);
}

/* the dependency `name` of the Cargo.toml at path (its [dependencies]
 * table or a [dependencies.name] table), as a TOML value with absolute
 * paths; NULL when it has none */
static char *
manifest_dep(const char *path, const char *name)
{
	struct buf b = BUF_INIT, table = BUF_INIT;
	char **lines, *found = NULL, *dir;
	size_t n;
	int section = 0;	/* 1: [dependencies], 2: [dependencies.name] */

	if (!path_exists(path) || read_file(path, &b) < 0) {
		buf_release(&b);
		return NULL;
	}
	dir = path_dirname(path);
	lines = str_split(buf_str(&b), '\n', &n);
	for (size_t i = 0; i < n && !found; i++) {
		char *l = str_trim(lines[i]), *eq, *key;

		if (*l == '[') {
			char *want = xasprintf("[dependencies.%s]", name);

			if (section == 2)
				break;
			section = !strcmp(l, "[dependencies]") ? 1 : !strcmp(l, want) ? 2 : 0;
			free(want);
			continue;
		}
		if (!section || *l == '#' || !(eq = strchr(l, '=')))
			continue;
		*eq = '\0';
		key = str_trim(l);
		if (*key == '"' && key[strlen(key) - 1] == '"') {
			key[strlen(key) - 1] = '\0';
			key++;
		}
		if (section == 2) {
			buf_printf(&table, "%s%s = %s", table.len ? ", " : "", key, str_trim(eq + 1));
		} else if (same_crate(key, name)) {
			found = absolute_paths(str_trim(eq + 1), dir);
		}
	}
	if (!found && table.len) {
		char *t = xasprintf("{ %s }", buf_str(&table));

		found = absolute_paths(t, dir);
		free(t);
	}
	str_free_list(lines);
	buf_release(&table);
	buf_release(&b);
	free(dir);
	return found;
}

/* whether dir is inside (or is) top */
static int
path_within(const char *dir, const char *top)
{
	size_t n = strlen(top);

	return !strncmp(dir, top, n) && (dir[n] == '\0' || dir[n] == '/' || !strcmp(top, "/"));
}

/* a crate looked for in the manifests of a folder and those above it */
struct dep_look {
	const char *name;
	char *spec;	/* its dependency, once found */
};

/* path_walk_up: the dependency of dir's Cargo.toml, if it names one */
static int
dep_in_manifest(const char *dir, void *arg)
{
	struct dep_look *look = arg;
	char *m = path_join(dir, "Cargo.toml");

	look->spec = manifest_dep(m, look->name);
	free(m);
	return look->spec != NULL;
}

/* hf_crates_find and hf_crates_lint: an unknown crate reported at level */
static int
crates_find(struct hf_unit *unit, const char *config_dir, enum hf_level level,
            struct hf_crates *out)
{
	const struct hf_ast *a = &unit->ast;
	char *abs = path_absolute(unit->path), *pdir = path_dirname(abs);
	char *top = xstrdup(config_dir ? config_dir : "/");
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (config_dir) {
		free(top);
		top = path_absolute(config_dir);
	}
	if (!path_within(pdir, top)) {
		free(top);
		top = xstrdup("/");
	}
	for (size_t i = 0; i < a->nuses; i++) {
		char *name = use_crate(a, &a->uses[i]), *spec = NULL, *dir = NULL;
		struct dep_look look;
		struct buf manifests = BUF_INIT, folders = BUF_INIT;
		int dup = 0;

		if (!name)
			continue;
		for (size_t j = 0; j < out->n; j++)
			dup |= same_crate(out->v[j].name, name);
		for (size_t j = 0; j < NPROVIDED; j++)
			dup |= same_crate(provided[j][0], name) && strcmp(name, "tokio_util");
		if (dup || !strcmp(name, "hydro_runtime")) {
			free(name);
			continue;
		}
		/* 1: a Cargo.toml here or above, up to the config's directory */
		look.name = name;
		look.spec = NULL;
		path_walk_up(pdir, top, dep_in_manifest, &look);
		spec = look.spec;
		buf_printf(&manifests, "%s up to %s", pdir, top);
		/* 2: a crate directory beside the program, its src/, the config */
		if (!spec) {
			char *cand[3];

			cand[0] = path_join(pdir, name);
			cand[1] = !strcmp(path_basename(pdir), "src") ? path_dirname(pdir) : NULL;
			if (cand[1]) {
				char *c = path_join(cand[1], name);

				free(cand[1]);
				cand[1] = c;
			}
			cand[2] = config_dir ? path_join(top, name) : NULL;
			for (size_t j = 0; j < 3; j++) {
				char *m;

				if (!cand[j] || (j == 2 && cand[1] && !strcmp(cand[2], cand[1])) ||
				    (j && !strcmp(cand[j], cand[0])))
					continue;
				m = path_join(cand[j], "Cargo.toml");
				if (!dir && path_exists(m)) {
					dir = xstrdup(cand[j]);
					spec = xasprintf("{ path = \"%s\" }", dir);
				}
				buf_printf(&folders, "%s%s", folders.len ? ", " : "", cand[j]);
				free(m);
			}
			for (size_t j = 0; j < 3; j++)
				free(cand[j]);
		}
		if (spec) {
			/* a path dependency's sources are the build's inputs */
			if (!dir) {
				const char *q = strstr(spec, "path");

				if (q && (q = strchr(q, '"')))
					dir = xstrndup(q + 1, strcspn(q + 1, "\""));
			}
			crates_add(out, name, spec, dir);
		} else {
			struct hf_use *u = &a->uses[i];
			char *help = xasprintf("declare it in a Cargo.toml's [dependencies] (looked in "
			                       "%s), put the crate in one of %s, or use one of "
			                       "the crates hydro provides: hydroflow, tokio, serde, "
			                       "bincode, chrono, lattices", buf_str(&manifests),
			                       buf_str(&folders));

			hf_diag(&unit->diag, level, hf_range_span(a, u->toks.first, u->toks.last),
			        help, "unresolved crate `%s`%s", name, level == HF_WARNING ?
			        ": the program can be checked but not built here" : "");
			free(help);
			rc = level == HF_ERROR ? -1 : 1;
		}
		buf_release(&manifests);
		buf_release(&folders);
		free(name);
	}
	if (rc)
		hf_diag_summary(&unit->diag);
	free(abs);
	free(pdir);
	free(top);
	return rc < 0 ? -1 : 0;
}

int
hf_crates_find(struct hf_unit *unit, const char *config_dir, struct hf_crates *out)
{
	return crates_find(unit, config_dir, HF_ERROR, out);
}

int
hf_crates_lint(struct hf_unit *unit, struct hf_crates *out)
{
	return crates_find(unit, NULL, HF_WARNING, out);
}

/* --- main.rs --- */

/* a prefix no identifier of the file begins with */
static char *
fresh_prefix(const struct hf_ast *a)
{
	struct buf pre = BUF_INIT;
	int clash;

	buf_addstr(&pre, "__hydro");
	do {
		clash = 0;
		for (size_t i = 0; i < a->toks.n && !clash; i++) {
			const struct hf_tok *t = &a->toks.v[i];

			clash = t->kind == TOK_IDENT && t->len >= pre.len &&
			        !memcmp(a->src + t->off, pre.data, pre.len);
		}
		if (clash)
			buf_addch(&pre, '_');
	} while (clash);
	return buf_detach(&pre, NULL);
}

/* a Rust string literal of s */
static void
add_rust_str(struct buf *o, const char *s)
{
	buf_addch(o, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_addch(o, '\\');
		if (*s == '\n')
			buf_addstr(o, "\\n");
		else
			buf_addch(o, *s);
	}
	buf_addch(o, '"');
}

/* whether the body reads or feeds the port `name` */
static int
port_used(const struct hf_ast *a, int name)
{
	for (size_t i = 0; i < a->npipes; i++)
		if (a->pipes[i].kind == PIPE_NAME && hf_tok_same(a, a->pipes[i].tok, name))
			return 1;
	return 0;
}

enum hf_emit_origin
hf_emit_origin(const struct hf_program *p, unsigned line, size_t *port)
{
	const struct hf_ast *a = &p->unit->ast;
	int open = a->toks.v[a->module + 1].match + 1, close = a->toks.v[open].match;
	unsigned head = a->toks.v[a->module - 1].line, next;

	if (line < head || (line > a->toks.v[open].line && line <= a->toks.v[close].line))
		return EMIT_SAME;
	if (line < head || line <= a->toks.v[open].line)
		return EMIT_HEADER;
	next = a->toks.v[close].line + 1;
	for (size_t i = 0; i < p->nports; i++) {
		if (!port_used(a, a->ports[i].name))
			continue;
		if (line == next++) {
			*port = i;
			return EMIT_PORT;
		}
	}
	return EMIT_OTHER;
}

/* the source text from byte off to end, with every character of a param
 * declaration made a space (its line stays, empty) */
static void
add_head(const struct hf_ast *a, struct buf *o, unsigned end)
{
	size_t start = o->len;

	buf_add(o, a->src, end);
	for (size_t i = 0; i < a->nparams; i++) {
		const struct hf_param_decl *pd = &a->params[i];
		unsigned from = a->toks.v[pd->name - 1].off;
		const struct hf_tok *semi = &a->toks.v[pd->value.last + 1];

		for (unsigned k = from; k < semi->off + semi->len && k < end; k++)
			if (o->data[start + k] != '\n')
				o->data[start + k] = ' ';
	}
}

/* a new, empty line of the prologue */
static struct buf *
new_item(struct buf **v, size_t *n, size_t *cap)
{
	ALLOC_GROW(*v, *n, *cap);
	buf_init(&(*v)[*n], 0);
	return &(*v)[(*n)++];
}

void
hf_emit_main(struct hf_program *p, struct buf *o)
{
	const struct hf_ast *a = &p->unit->ast;
	int modtok = a->module - 1, open, close;
	unsigned lines, have = 0;
	char *pre = fresh_prefix(a), *stem = xstrdup(path_basename(p->path));
	struct buf *items = NULL, *it;
	size_t nitems = 0, capitems = 0;

	/* the body: `module main ( ... ) { ... }` */
	open = a->toks.v[a->module + 1].match + 1;
	close = a->toks.v[open].match;
	lines = a->toks.v[open].line - a->toks.v[modtok].line + 1;
	if (strchr(stem, '.'))
		*strrchr(stem, '.') = '\0';

	add_head(a, o, a->toks.v[modtok].off);

	/* the prologue, one item a line while the header has lines */
#define ITEM() (new_item(&items, &nitems, &capitems))
	buf_addstr(ITEM(), "fn main() {");
	it = ITEM();
	buf_printf(it, "let %s_program = ::hydro_runtime::Program::new(", pre);
	add_rust_str(it, stem);
	buf_addstr(it, ", &[");
	for (size_t i = 0; i < p->nparams; i++) {
		buf_addstr(it, i ? ", " : "");
		add_rust_str(it, p->params[i].name);
	}
	buf_addstr(it, "]);");
	for (size_t i = 0; i < p->nparams; i++) {
		const struct hf_param_info *pi = &p->params[i];

		it = ITEM();
		buf_printf(it, "let %s: %s = %s_program.param::<%s>(", pi->name, pi->type, pre, pi->type);
		add_rust_str(it, pi->name);
		buf_addstr(it, ", ");
		add_rust_str(it, pi->type);
		buf_printf(it, ").unwrap_or_else(|| %s);", pi->value);
	}
	it = ITEM();
	buf_printf(it, "%s_program.run(&[", pre);
	for (int inputs = 1, first = 1; inputs >= 0; inputs--) {
		for (size_t i = 0; i < p->nports; i++) {
			if (p->ports[i].is_input != inputs)
				continue;
			buf_addstr(it, first ? "(" : ", (");
			add_rust_str(it, p->ports[i].name);
			buf_printf(it, ", %s)", hf_port_split(p->ports[i].type, NULL) ? "true" : "false");
			first = 0;
		}
		if (inputs) {
			buf_addstr(it, "], &[");
			first = 1;
		}
	}
	buf_printf(it, "], |%s_ports| {", pre);
	for (size_t i = 0; i < p->nports; i++) {
		const struct hf_port_info *pi = &p->ports[i];
		char *inner;
		int addr = hf_port_split(pi->type, &inner);

		if (!port_used(a, a->ports[i].name)) {
			free(inner);
			continue;
		}
		it = ITEM();
		buf_printf(it, "let %s%s_port_%s = %s_ports.%s%s::<%s>(", pi->is_input ? "" : "mut ",
		           pre, pi->name, pre, pi->is_input ? "input" : "output", addr ? "_addr" : "",
		           inner);
		add_rust_str(it, pi->name);
		if (pi->is_input) {
			buf_addstr(it, ", ");
			add_rust_str(it, pi->type);
		}
		buf_addstr(it, ");");
		free(inner);
	}
	buf_addstr(ITEM(), "::hydroflow::hydroflow_syntax! {");
#undef ITEM
	for (size_t i = 0; i < nitems; i++) {
		buf_add(o, items[i].data, items[i].len);
		if (have + 1 < lines && i + 1 < nitems) {
			buf_addch(o, '\n');
			have++;
		} else if (i + 1 < nitems) {
			buf_addch(o, ' ');
		}
		buf_release(&items[i]);
	}
	free(items);
	while (have + 1 < lines) {
		buf_addch(o, '\n');
		have++;
	}
	/* the body, as written */
	buf_add(o, a->src + a->toks.v[open].off + 1,
	        a->toks.v[close].off - a->toks.v[open].off - 1);
	/* the epilogue: the ports' ends in the flow */
	buf_addstr(o, "\n");
	for (size_t i = 0; i < p->nports; i++) {
		const struct hf_port_info *pi = &p->ports[i];

		if (!port_used(a, a->ports[i].name))
			continue;
		/* an input's stream yields batches, polled once a batch; an
		 * output's messages go straight into its connections' buffers,
		 * which the runtime writes when the flow has run what it can */
		if (pi->is_input)
			buf_printf(o, "%s = source_stream(%s_port_%s) -> flatten();\n",
			           pi->name, pre, pi->name);
		else
			buf_printf(o, "%s = for_each(|%s_msg| %s_port_%s.send(%s_msg));\n",
			           pi->name, pre, pre, pi->name, pre);
	}
	buf_addstr(o, "}\n})\n}\n");
	free(pre);
	free(stem);
}

/* --- the crate --- */

char *
hf_emit_bin_name(const char *path)
{
	char *abs = path_absolute(path), *stem = xstrdup(path_basename(abs)), *name;
	char hex[HASH_HEX_LEN];
	struct hash h;

	if (strchr(stem, '.'))
		*strrchr(stem, '.') = '\0';
	for (char *s = stem; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			*s = '_';
	hash_bytes(abs, strlen(abs), &h);
	hash_hex(&h, hex);
	name = xasprintf("%s-%.8s", *stem ? stem : "program", hex);
	free(abs);
	free(stem);
	return name;
}

/* write path with data unless it already holds exactly that */
static int
write_if_changed(const char *path, const char *data, size_t len)
{
	struct buf old = BUF_INIT;
	int same = 0;

	if (path_exists(path) && read_file(path, &old) == 0)
		same = old.len == len && !memcmp(old.data, data, len);
	buf_release(&old);
	return same ? 0 : write_file_atomic(path, data, len, 0644);
}

int
hf_emit(struct hf_program *p, const struct hf_crates *crates, const char *rust_dir,
        const char *dir)
{
	struct buf toml = BUF_INIT, main_rs = BUF_INIT, lock = BUF_INIT;
	char *bin = hf_emit_bin_name(p->path), *src = path_join(dir, "src");
	char *f_toml = path_join(dir, "Cargo.toml"), *f_lock = path_join(dir, "Cargo.lock");
	char *f_main = path_join(src, "main.rs"), *shipped = path_join(rust_dir, "Cargo.lock");
	char *f_stamp = path_join(dir, "Cargo.lock.shipped");
	int rc = -1;

	buf_printf(&toml, "# The crate hydro makes of %s; written again at every build.\n"
	           "[package]\nname = \"hydro_program\"\nversion = \"0.1.0\"\n"
	           "edition = \"2021\"\npublish = false\n\n"
	           "[[bin]]\nname = \"%s\"\npath = \"src/main.rs\"\n\n"
	           "[dependencies]\nhydro_runtime = { path = \"%s/hydro_runtime\" }\n",
	           p->path, bin, rust_dir);
	for (size_t i = 0; i < NPROVIDED; i++)
		buf_printf(&toml, "%s = %s\n", provided[i][0], provided[i][1]);
	for (size_t i = 0; crates && i < crates->n; i++)
		buf_printf(&toml, "%s = %s\n", crates->v[i].name, crates->v[i].spec);
	buf_addstr(&toml, "\n[workspace]\n");
	hf_emit_main(p, &main_rs);

	if (read_file(shipped, &lock) < 0)
		goto out;
	if (mkdir_p(src, 0755) < 0 ||
	    write_if_changed(f_toml, toml.data, toml.len) < 0 ||
	    write_if_changed(f_main, main_rs.data, main_rs.len) < 0)
		goto out;
	/* the shipped resolution; cargo adds the program's own crates to it,
	 * so the lock cargo wrote is kept until another shipped lock comes:
	 * the stamp names the one it started from */
	if (!crates || !crates->n) {
		if (write_if_changed(f_lock, lock.data, lock.len) < 0)
			goto out;
	} else {
		struct hash h;
		char hex[HASH_HEX_LEN];
		struct buf old = BUF_INIT;
		int same;

		hash_bytes(lock.data, lock.len, &h);
		hash_hex(&h, hex);
		same = path_exists(f_lock) && path_exists(f_stamp) &&
		       read_file(f_stamp, &old) == 0 && !strcmp(buf_str(&old), hex);
		buf_release(&old);
		if (!same && (write_file_atomic(f_lock, lock.data, lock.len, 0644) < 0 ||
		              write_file_atomic(f_stamp, hex, strlen(hex), 0644) < 0))
			goto out;
	}
	rc = 0;
out:
	buf_release(&toml);
	buf_release(&main_rs);
	buf_release(&lock);
	free(bin);
	free(src);
	free(f_toml);
	free(f_lock);
	free(f_stamp);
	free(f_main);
	free(shipped);
	return rc;
}
