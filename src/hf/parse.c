/*
 * parse: the syntax tree of a .hf file.
 */
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"
#include "hf/parse.h"

/* parenthesised pipelines nest at most this deep (the parser recurses) */
#define MAX_DEPTH 128

struct parser {
	struct hf_ast *a;
	struct hf_diag *d;
	int i;			/* current token */
	int module_kw;		/* `module`, and the braces of its body */
	int body_open, body_close;
};

static const struct hf_tok *
tok(const struct parser *p, int i)
{
	return &p->a->toks.v[i];
}

static int
is(const struct parser *p, int i, const char *punct)
{
	return hf_tok_is(p->a->src, tok(p, i), punct);
}

static int
word(const struct parser *p, int i, const char *w)
{
	return hf_tok_word(p->a->src, tok(p, i), w);
}

struct hf_span
hf_tok_span(const struct hf_ast *ast, int t)
{
	const struct hf_tok *k = &ast->toks.v[t];
	struct hf_span sp = { k->off, k->len, k->line, k->col };

	return sp;
}

struct hf_span
hf_range_span(const struct hf_ast *ast, int a, int b)
{
	struct hf_span sp = hf_tok_span(ast, a);
	const struct hf_tok *e = &ast->toks.v[b];

	if (b >= a)
		sp.len = e->off + e->len - sp.off;
	return sp;
}

char *
hf_range_text(const struct hf_ast *ast, struct hf_range r)
{
	const struct hf_tok *f, *l;

	if (r.first > r.last)
		return xstrdup("");
	f = &ast->toks.v[r.first];
	l = &ast->toks.v[r.last];
	return xstrndup(ast->src + f->off, l->off + l->len - f->off);
}

char *
hf_tok_text(const struct hf_ast *ast, int t)
{
	const struct hf_tok *k = &ast->toks.v[t];

	return xstrndup(ast->src + k->off, k->len);
}

int
hf_tok_same(const struct hf_ast *ast, int a, int b)
{
	const struct hf_tok *x = &ast->toks.v[a], *y = &ast->toks.v[b];

	return x->len == y->len && !memcmp(ast->src + x->off, ast->src + y->off, x->len);
}

static int
fail(struct parser *p, int at, const char *help, const char *msg)
{
	hf_diag(p->d, HF_ERROR, hf_tok_span(p->a, at), help, "%s", msg);
	return -1;
}

static int
fail_expected(struct parser *p, int end, const char *what, const char *help)
{
	char msg[200];

	int at_end = p->i >= end || tok(p, p->i)->kind == TOK_EOF;

	/* as syn: a lookahead of several choices says where the input ended */
	if (at_end && !strncmp(what, "one of", 6))
		snprintf(msg, sizeof(msg), "unexpected end of input, expected %s", what);
	else
		snprintf(msg, sizeof(msg), "expected %s", what);
	/* the end of the body is the end of hydroflow_syntax!'s input, which
	 * rustc shows at the macro: here, at the module's header */
	if (at_end && end == p->body_close && p->body_close > 0) {
		struct hf_extra x = { 0 };

		x.note = "the module's body ends here";
		x.note_at = hf_tok_span(p->a, p->body_close);
		x.help = help;
		hf_diag_extra(p->d, HF_ERROR, hf_range_span(p->a, p->module_kw, p->body_open),
		              &x, "%s", msg);
		return -1;
	}
	return fail(p, p->i, help, msg);
}

/* the token after a group or a single token */
static int
skip_tree(const struct parser *p, int i)
{
	const struct hf_tok *t = tok(p, i);

	return t->match >= 0 ? t->match + 1 : i + 1;
}

/*
 * The end of a type or expression: the first `stop` token at depth 0 before
 * end.  Groups are skipped whole; with angles, `<` and `>` nest too.
 */
static int
scan_until(const struct parser *p, int i, int end, const char *stop, const char *stop2, int angles)
{
	int depth = 0;

	while (i < end && tok(p, i)->kind != TOK_EOF) {
		if (!depth && (is(p, i, stop) || (stop2 && is(p, i, stop2))))
			break;
		if (angles && is(p, i, "<"))
			depth++;
		else if (angles && is(p, i, ">") && depth)
			depth--;
		i = skip_tree(p, i);
	}
	return i;
}

static int
new_pipe(struct hf_ast *a, enum hf_pipe_kind kind, int t)
{
	struct hf_pipe *pp;

	ALLOC_GROW(a->pipes, a->npipes, a->cappipes);
	pp = &a->pipes[a->npipes];
	memset(pp, 0, sizeof(*pp));
	pp->kind = kind;
	pp->tok = t;
	pp->inn = pp->out = pp->inner = pp->generics = -1;
	return (int)a->npipes++;
}

/* [port] at p->i; returns the index id or -1 */
static int
parse_index(struct parser *p)
{
	int open = p->i, close = tok(p, open)->match, t = open + 1;
	struct hf_ast *a = p->a;

	if (close != open + 2 || (tok(p, t)->kind != TOK_NUMBER && tok(p, t)->kind != TOK_IDENT)) {
		p->i = open + 1;
		return fail_expected(p, close, "a port: a number or a name",
		                     "a port index is `[0]`, `[1]` or a name such as `[pos]`");
	}
	p->i = close + 1;
	ALLOC_GROW(a->idx, a->nidx, a->capidx);
	a->idx[a->nidx].tok = t;
	a->idx[a->nidx].used = 0;
	return (int)a->nidx++;
}

/* #name references anywhere inside tokens [i, end) */
static void
find_srefs(struct parser *p, int i, int end)
{
	struct hf_ast *a = p->a;

	for (; i + 1 < end; i++) {
		if (is(p, i, "#") && tok(p, i + 1)->kind == TOK_IDENT) {
			ALLOC_GROW(a->srefs, a->nsrefs, a->capsrefs);
			a->srefs[a->nsrefs++].hash = i;
		}
	}
}

/* the end of one operator argument starting at i: a `,` at depth 0 or end */
static int
arg_end(const struct parser *p, int i, int end)
{
	int angles = 0;

	if (i < end && word(p, i, "async"))
		i++;
	if (i < end && word(p, i, "move"))
		i++;
	if (i < end && is(p, i, "|")) {
		/* closure parameters may hold commas in types: |x: HashMap<K, V>| */
		i++;
		while (i < end && !is(p, i, "|"))
			i = skip_tree(p, i);
		if (i < end)
			i++;
	}
	while (i < end) {
		if (!angles && is(p, i, ","))
			break;
		if (is(p, i, "::") && i + 1 < end && is(p, i + 1, "<")) {
			angles++;
			i += 2;
			continue;
		}
		if (angles && is(p, i, "<"))
			angles++;
		else if (angles && is(p, i, ">"))
			angles--;
		i = skip_tree(p, i);
	}
	return i;
}

static int
parse_operator(struct parser *p, int end)
{
	struct hf_ast *a = p->a;
	int name = p->i, id, open, close, i;

	p->i++;
	if (is(p, p->i, "<")) {
		int gt = scan_until(p, p->i + 1, end, ">", NULL, 1);
		char help[160];
		const struct hf_tok *t = tok(p, name);

		snprintf(help, sizeof(help), "write the turbofish: `%.*s::<...>()`",
		         (int)(t->len > 60 ? 60 : t->len), a->src + t->off);
		hf_diag(p->d, HF_ERROR, hf_range_span(a, name, gt < end ? gt : p->i), help,
		        "Missing `::` before `<...>` generic arguments");
		return -1;
	}
	id = new_pipe(a, PIPE_OP, name);
	if (is(p, p->i, "::")) {
		int lt = p->i + 1, gt;

		if (!is(p, lt, "<")) {
			p->i = lt;
			return fail_expected(p, end, "`<`", "generic arguments are written `op::<'static>()`");
		}
		gt = scan_until(p, lt + 1, end, ">", NULL, 1);
		if (gt >= end || !is(p, gt, ">")) {
			p->i = gt;
			return fail_expected(p, end, "`>`", "close the generic arguments with `>`");
		}
		a->pipes[id].generics = lt;
		p->i = gt + 1;
	}
	if (!is(p, p->i, "("))
		return fail_expected(p, end, "parentheses",
		                     "an operator is called with its arguments: `map(|x| x)`");
	open = p->i;
	close = tok(p, open)->match;
	a->pipes[id].arg0 = (int)a->nargs;
	for (i = open + 1; i < close; ) {
		int e = arg_end(p, i, close);

		if (e == i) {
			p->i = i;
			return fail(p, i, "remove the extra `,`", "expected an expression");
		}
		ALLOC_GROW(a->args, a->nargs, a->capargs);
		a->args[a->nargs].first = i;
		a->args[a->nargs].last = e - 1;
		a->nargs++;
		a->pipes[id].nargs++;
		i = e < close ? e + 1 : e;
	}
	a->pipes[id].sref0 = (int)a->nsrefs;
	find_srefs(p, open + 1, close);
	a->pipes[id].nsref = (int)a->nsrefs - a->pipes[id].sref0;
	a->pipes[id].close = close;
	p->i = close + 1;
	return id;
}

static int parse_pipeline(struct parser *p, int end, int depth);

static const char elem_expected[] = "one of: square brackets, `mod`, identifier, parentheses";
static const char elem_help[] =
	"a pipeline element is an operator `map(f)`, a name, or a pipeline in parentheses";

static int
parse_one(struct parser *p, int end, int depth)
{
	struct hf_ast *a = p->a;
	int inn = -1, id;

	if (p->i < end && is(p, p->i, "[")) {
		if ((inn = parse_index(p)) < 0)
			return -1;
		if (p->i >= end || (!is(p, p->i, "(") && tok(p, p->i)->kind != TOK_IDENT))
			return fail_expected(p, end, "one of: parentheses, identifier, `mod`", elem_help);
	}
	if (p->i < end && word(p, p->i, "mod"))
		return fail(p, p->i, "name the port in the module header and use its name: "
		            "`module main(input inbound: T) { inbound -> ... }`",
		            "`mod` is not a pipeline element of a .hf module: its ports have names");
	if (p->i < end && tok(p, p->i)->kind == TOK_IDENT && inn < 0 &&
	    (is(p, p->i + 1, "(") || is(p, p->i + 1, "<") || is(p, p->i + 1, "::")))
		return parse_operator(p, end);
	if (p->i < end && tok(p, p->i)->kind == TOK_IDENT) {
		id = new_pipe(a, PIPE_NAME, p->i);
		p->i++;
	} else if (p->i < end && is(p, p->i, "(")) {
		int open = p->i, close = tok(p, open)->match, inner;

		if (depth >= MAX_DEPTH)
			return fail(p, open, "name the inner pipelines instead of nesting them",
			            "pipelines are nested too deeply");
		p->i = open + 1;
		if ((inner = parse_pipeline(p, close, depth + 1)) < 0)
			return -1;
		if (p->i != close)
			return fail(p, p->i, "a parenthesised pipeline holds one pipeline, without `;`",
			            "unexpected token, expected `)`");
		id = new_pipe(a, PIPE_PAREN, open);
		a->pipes[id].inner = inner;
		p->i = close + 1;
	} else {
		return fail_expected(p, end, elem_expected, elem_help);
	}
	a->pipes[id].inn = inn;
	if (p->i < end && is(p, p->i, "[")) {
		int out = parse_index(p);

		if (out < 0)
			return -1;
		a->pipes[id].out = out;
	}
	return id;
}

static int
parse_pipeline(struct parser *p, int end, int depth)
{
	struct hf_ast *a = p->a;
	int *elems = NULL, id = -1;
	size_t n = 0, cap = 0;

	for (;;) {
		int e = parse_one(p, end, depth);

		if (e < 0)
			goto out;
		ALLOC_GROW(elems, n, cap);
		elems[n++] = e;
		if (p->i >= end || is(p, p->i, ";"))
			break;
		if (!is(p, p->i, "->")) {
			const char *help = "connect pipeline elements with `->`";

			if (a->pipes[e].kind == PIPE_NAME && a->pipes[e].inn >= 0 &&
			    (is(p, p->i, "(") || is(p, p->i, "::")))
				help = "a port index cannot be put on an operator: name it first, "
				       "`j = join(); a -> [0]j; b -> [1]j;`";
			fail(p, p->i, help, "expected `->`");
			goto out;
		}
		p->i++;
	}
	if (n == 1) {
		id = elems[0];
	} else {
		id = new_pipe(a, PIPE_CHAIN, a->pipes[elems[0]].tok);
		a->pipes[id].first = (int)a->nchain;
		a->pipes[id].n = (int)n;
		for (size_t k = 0; k < n; k++) {
			ALLOC_GROW(a->chain, a->nchain, a->capchain);
			a->chain[a->nchain++] = elems[k];
		}
	}
out:
	free(elems);
	return id;
}

static const char use_expected[] =
	"one of: identifier, `self`, `super`, `crate`, `try`, `*`, curly braces";
static const char use_help[] = "a use item is a path: `use std::net::SocketAddr;`";

/* a use tree, as syn reads one: path::{tree, ...}, path::*, path as name */
static int
parse_use_tree(struct parser *p, int end, int depth)
{
	for (;;) {
		if (p->i < end && tok(p, p->i)->kind == TOK_IDENT) {
			p->i++;
			if (p->i < end && is(p, p->i, "::")) {
				p->i++;
				continue;
			}
			if (p->i < end && word(p, p->i, "as")) {
				p->i++;
				if (p->i >= end || tok(p, p->i)->kind != TOK_IDENT)
					return fail_expected(p, end, "identifier", use_help);
				p->i++;
			}
			return 0;
		}
		if (p->i < end && is(p, p->i, "*")) {
			p->i++;
			return 0;
		}
		if (p->i < end && is(p, p->i, "{") && depth < MAX_DEPTH) {
			int close = tok(p, p->i)->match;

			p->i++;
			while (p->i < close) {
				if (parse_use_tree(p, close, depth + 1) < 0)
					return -1;
				if (p->i < close && !is(p, p->i, ","))
					return fail_expected(p, close, "`,`", use_help);
				if (p->i < close)
					p->i++;
			}
			p->i = close + 1;
			return 0;
		}
		return fail_expected(p, end, use_expected, use_help);
	}
}

/* `use ...;`, at the `use` */
static int
parse_use(struct parser *p, int end)
{
	struct hf_ast *a = p->a;
	int first = p->i;

	p->i++;
	if (p->i < end && is(p, p->i, "::"))
		p->i++;
	if (parse_use_tree(p, end, 0) < 0)
		return -1;
	if (p->i >= end || !is(p, p->i, ";"))
		return fail_expected(p, end, "`;`", "end the `use` item with `;`");
	ALLOC_GROW(a->uses, a->nuses, a->capuses);
	a->uses[a->nuses].toks.first = first;
	a->uses[a->nuses].toks.last = p->i;
	a->nuses++;
	p->i++;
	return 0;
}

static int
parse_stmt(struct parser *p, int end)
{
	struct hf_ast *a = p->a;
	struct hf_stmt st = { -1, -1, p->i, p->i };

	if (word(p, p->i, "use"))
		return parse_use(p, end);
	if (tok(p, p->i)->kind == TOK_IDENT && is(p, p->i + 1, "=")) {
		st.name = p->i;
		p->i += 2;
	}
	if ((st.pipe = parse_pipeline(p, end, 0)) < 0)
		return -1;
	if (p->i >= end || !is(p, p->i, ";"))
		return fail_expected(p, end, "`;`", "end the statement with `;`");
	st.last = p->i - 1;
	p->i++;
	ALLOC_GROW(a->stmts, a->nstmts, a->capstmts);
	a->stmts[a->nstmts++] = st;
	return 0;
}

static int
parse_param(struct parser *p, int end)
{
	struct hf_ast *a = p->a;
	struct hf_param_decl pd;
	int e;

	p->i++;
	if (tok(p, p->i)->kind != TOK_IDENT)
		return fail_expected(p, end, "a parameter name", "write `param name: Type = default;`");
	pd.name = p->i++;
	if (!is(p, p->i, ":"))
		return fail_expected(p, end, "`:`", "give the parameter a type: `param n: u32 = 3;`");
	p->i++;
	e = scan_until(p, p->i, end, "=", ";", 1);
	if (e == p->i || !is(p, e, "=")) {
		p->i = e;
		return e == pd.name + 2 ? fail_expected(p, end, "a type", "write `param name: Type = default;`") :
		       fail_expected(p, end, "`=`", "give the parameter a default: `param n: u32 = 3;`");
	}
	pd.type.first = p->i;
	pd.type.last = e - 1;
	p->i = e + 1;
	e = scan_until(p, p->i, end, ";", NULL, 0);
	if (e == p->i || !is(p, e, ";")) {
		p->i = e;
		return fail_expected(p, end, e == pd.type.last + 2 ? "an expression" : "`;`",
		                     "write `param name: Type = default;`");
	}
	pd.value.first = p->i;
	pd.value.last = e - 1;
	p->i = e + 1;
	ALLOC_GROW(a->params, a->nparams, a->capparams);
	a->params[a->nparams++] = pd;
	return 0;
}

static int
parse_ports(struct parser *p, int close)
{
	struct hf_ast *a = p->a;

	while (p->i < close) {
		struct hf_port_decl pd;
		int e;

		if (!word(p, p->i, "input") && !word(p, p->i, "output"))
			return fail_expected(p, close, "`input` or `output`",
			                     "declare a port as `input name: Type` or `output name: Type`");
		pd.is_input = word(p, p->i, "input");
		p->i++;
		if (tok(p, p->i)->kind != TOK_IDENT || p->i >= close)
			return fail_expected(p, close, "a port name", "write `input name: Type`");
		pd.name = p->i++;
		if (p->i >= close || !is(p, p->i, ":"))
			return fail_expected(p, close, "`:`", "give the port a type: `input name: Type`");
		p->i++;
		e = scan_until(p, p->i, close, ",", NULL, 1);
		if (e == p->i)
			return fail_expected(p, close, "a type", "give the port a type: `input name: Type`");
		pd.type.first = p->i;
		pd.type.last = e - 1;
		ALLOC_GROW(a->ports, a->nports, a->capports);
		a->ports[a->nports++] = pd;
		p->i = e < close ? e + 1 : e;
	}
	return 0;
}

static int
parse_file(struct parser *p)
{
	struct hf_ast *a = p->a;
	int eof = (int)a->toks.n - 1, close;

	for (;;) {
		if (word(p, p->i, "use")) {
			if (parse_use(p, eof) < 0)
				return -1;
		} else if (word(p, p->i, "param")) {
			if (parse_param(p, eof) < 0)
				return -1;
		} else {
			break;
		}
	}
	if (!word(p, p->i, "module"))
		return fail_expected(p, eof, "`module main(...) { ... }`",
		                     "a .hf file is `use` lines, `param` lines, then `module main(ports) { body }`");
	p->module_kw = p->i++;
	if (tok(p, p->i)->kind != TOK_IDENT)
		return fail_expected(p, eof, "a module name", "write `module main(...) { ... }`");
	if (!word(p, p->i, "main"))
		return fail(p, p->i, "rename it: `module main(...)`", "the module must be called `main`");
	a->module = p->i++;
	if (!is(p, p->i, "("))
		return fail_expected(p, eof, "parentheses", "list the ports, or write `module main() { ... }`");
	close = tok(p, p->i)->match;
	p->i++;
	if (parse_ports(p, close) < 0)
		return -1;
	p->i = close + 1;
	if (!is(p, p->i, "{"))
		return fail_expected(p, eof, "`{`", "the body follows the ports: `module main() { ... }`");
	close = tok(p, p->i)->match;
	p->body_open = p->i++;
	p->body_close = close;
	while (p->i < close)
		if (parse_stmt(p, close) < 0)
			return -1;
	p->i = close + 1;
	if (p->i != eof)
		return fail(p, p->i, "a file holds one module; move other code into its body",
		            "expected end of file after the module");
	return 0;
}

int
hf_parse(struct hf_ast *ast, const char *src, size_t len, struct hf_diag *d)
{
	struct parser p = { .a = ast, .d = d };

	memset(ast, 0, sizeof(*ast));
	ast->src = src;
	ast->module = -1;
	if (hf_lex(src, len, &ast->toks, d) < 0)
		return -1;
	return parse_file(&p);
}

void
hf_ast_release(struct hf_ast *a)
{
	hf_toks_release(&a->toks);
	free(a->uses);
	free(a->params);
	free(a->ports);
	free(a->stmts);
	free(a->pipes);
	free(a->chain);
	free(a->args);
	free(a->idx);
	free(a->srefs);
	memset(a, 0, sizeof(*a));
}
