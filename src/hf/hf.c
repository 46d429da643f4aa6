/*
 * hf: the Hydroflow front end, the entry points the CLI and the bindings use.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fs.h"
#include "term.h"
#include "xmalloc.h"
#include "hf/emit.h"
#include "hf/hf.h"
#include "hf/strata.h"

/* programs larger than this are refused before lexing */
#define MAX_SOURCE (64u << 20)

int
hf_unit_check(struct hf_unit *u, const char *path, const char *src, size_t len,
              FILE *out, enum hf_style style)
{
	memset(u, 0, sizeof(*u));
	u->path = xstrdup(path);
	buf_init(&u->src, 0);
	buf_add(&u->src, src, len);
	hf_diag_init(&u->diag, u->path, u->src.data ? u->src.data : "", len, out, style);
	u->parsed = 1;
	/* hydroflow's order: a pass runs only when the one before it checked */
	if (hf_parse(&u->ast, u->diag.src, len, &u->diag) == 0) {
		u->built = 1;
		if (hf_graph_build(&u->graph, &u->ast, &u->diag) == 0 && hf_strata(&u->graph) == 0)
			hf_graph_check_late(&u->graph);
	}
	hf_diag_summary(&u->diag);
	return u->diag.nerr ? -1 : 0;
}

void
hf_unit_release(struct hf_unit *u)
{
	if (u->built)
		hf_graph_release(&u->graph);
	if (u->parsed)
		hf_ast_release(&u->ast);
	buf_release(&u->src);
	free(u->path);
	memset(u, 0, sizeof(*u));
}

/* read and check one file, diagnostics on stderr (or as JSON on stdout) */
static int
unit_load(struct hf_unit *u, const char *path, int json)
{
	struct buf b;
	int rc;

	buf_init(&b, MAX_SOURCE);
	if (read_file(path, &b) < 0) {
		buf_release(&b);
		memset(u, 0, sizeof(*u));
		return -1;
	}
	if (json)
		rc = hf_unit_check(u, path, buf_str(&b), b.len, stdout, HF_JSON);
	else
		rc = hf_unit_check(u, path, buf_str(&b), b.len, stderr,
		                   term_color(2) ? HF_COLOR : HF_PLAIN);
	buf_release(&b);
	return rc;
}

/* in JSON, what error() says about a file (it cannot be read) is a
 * diagnostic of that file too, on stdout */
static void
json_reporter(enum error_level level, const char *msg, void *arg)
{
	struct hf_span whole = { 0, 0, 0, 0 };
	struct hf_diag d;

	if (level == LEVEL_NOTE)
		return;
	hf_diag_init(&d, arg, "", 0, stdout, HF_JSON);
	hf_diag(&d, level == LEVEL_ERROR ? HF_ERROR : HF_WARNING, whole, NULL, "%s", msg);
}

int
hf_check_files(const char *const *paths, size_t n, int json)
{
	error_reporter *old;
	void *old_arg;
	int rc = 0;

	old = error_get_reporter(&old_arg);
	for (size_t i = 0; i < n; i++) {
		struct hf_unit u;
		struct hf_crates c;

		if (json)
			error_set_reporter(json_reporter, (void *)paths[i]);
		if (unit_load(&u, paths[i], json) < 0)
			rc = -1;
		else if (hf_crates_lint(&u, &c) == 0)	/* the `use` lines' crates */
			hf_crates_release(&c);
		hf_unit_release(&u);
	}
	error_set_reporter(old, old_arg);
	fflush(stdout);
	return rc;
}

int
hf_graph_file(const char *path, enum graph_format format, FILE *out)
{
	struct hf_unit u;

	if (unit_load(&u, path, 0) < 0) {
		/* a file that could not be read was reported as such */
		if (u.parsed)
			error("cannot draw '%s': it does not check", path);
		hf_unit_release(&u);
		return -1;
	}
	hf_unit_draw(&u, format, out);
	hf_unit_release(&u);
	return 0;
}

struct hf_program *
hf_load(const char *path)
{
	struct hf_unit *u = xcalloc(1, sizeof(*u));
	struct hf_program *p;
	const struct hf_ast *a;

	/* the bindings give absolute paths; messages show the user's */
	if (unit_load(u, path_display(path), 0) < 0) {
		hf_unit_release(u);
		free(u);
		return NULL;
	}
	a = &u->ast;
	p = xcalloc(1, sizeof(*p));
	p->path = xstrdup(path);
	p->unit = u;
	p->nports = a->nports;
	p->ports = xcalloc(a->nports + 1, sizeof(*p->ports));
	for (size_t i = 0; i < a->nports; i++) {
		p->ports[i].name = hf_tok_text(a, a->ports[i].name);
		p->ports[i].is_input = a->ports[i].is_input;
		p->ports[i].type = hf_range_text(a, a->ports[i].type);
		p->ports[i].line = a->toks.v[a->ports[i].name].line;
	}
	p->nparams = a->nparams;
	p->params = xcalloc(a->nparams + 1, sizeof(*p->params));
	for (size_t i = 0; i < a->nparams; i++) {
		p->params[i].name = hf_tok_text(a, a->params[i].name);
		p->params[i].type = hf_range_text(a, a->params[i].type);
		p->params[i].value = hf_range_text(a, a->params[i].value);
		p->params[i].line = a->toks.v[a->params[i].name].line;
	}
	p->nuses = a->nuses;
	p->uses = xcalloc(a->nuses + 1, sizeof(*p->uses));
	for (size_t i = 0; i < a->nuses; i++)
		p->uses[i] = hf_range_text(a, a->uses[i].toks);
	return p;
}

void
hf_program_free(struct hf_program *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nports; i++) {
		free(p->ports[i].name);
		free(p->ports[i].type);
	}
	for (size_t i = 0; i < p->nparams; i++) {
		free(p->params[i].name);
		free(p->params[i].type);
		free(p->params[i].value);
	}
	for (size_t i = 0; i < p->nuses; i++)
		free(p->uses[i]);
	free(p->ports);
	free(p->params);
	free(p->uses);
	hf_unit_release(p->unit);
	free(p->unit);
	free(p->path);
	free(p);
}
