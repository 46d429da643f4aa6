/*
 * graph: the flat dataflow graph of a .hf program, and its checks.
 *
 * Diagnostics keep hydroflow v0.10's wording where it has one, so that a
 * message can be looked up in its documentation and issues; hydro adds the
 * `help:` line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "str.h"
#include "xmalloc.h"
#include "hf/graph.h"

/* one end of a pipeline: a node, or a name still to resolve, with its [port] */
struct end {
	int node;	/* -1: see name */
	int name;	/* the token naming it, or -1 */
	int port;	/* an index id (ast->idx), or -1 when elided */
	int at;		/* the token to point at */
};

struct ends {
	struct end inn, out;
};

struct link {
	struct end src, dst;
};

struct name {
	int tok;	/* the name in `name = ...` */
	int stmt;
	struct ends ends;
	unsigned visit;	/* resolution generation, for cycles */
	int cycle;	/* found in a self-referential cycle */
};

/* name chains longer than this are given up on (hydroflow's limit) */
#define RESOLVE_LIMIT 1024

struct builder {
	struct hf_graph *g;
	struct hf_ast *a;
	struct hf_diag *d;
	struct map names, ports;
	struct name *nv;
	size_t nn, capn;
	struct link *links;
	size_t nlinks, caplinks;
	unsigned gen;
	int *stack;	/* names met while resolving one end */
	size_t nstack, capstack;
	char *idx_side;	/* per index id: 'i' input, 'o' output */
	char *port_used;	/* per module port: referenced in the body */
};

static const struct hf_tok *
tk(const struct builder *b, int t)
{
	return &b->a->toks.v[t];
}

static const char *
tsrc(const struct builder *b, int t)
{
	return b->a->src + tk(b, t)->off;
}

#define TOKF(b, t) (int)tk(b, t)->len, tsrc(b, t)

static void
diag(struct builder *b, enum hf_level lv, struct hf_span sp, const char *help, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void
diag(struct builder *b, enum hf_level lv, struct hf_span sp, const char *help, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hf_diag(b->d, lv, sp, help, "%s", msg);
}

static struct hf_span
span(const struct builder *b, int t)
{
	return hf_tok_span(b->a, t);
}

/* the whole operator call: name to closing parenthesis */
static struct hf_span
op_span(const struct builder *b, int node)
{
	const struct hf_node *n = &b->g->nodes[node];

	if (n->kind != NODE_OP)
		return span(b, n->tok);
	return hf_range_span(b->a, n->tok, b->a->pipes[n->pipe].close);
}

/* "file:line:col" of a token, for messages that point at a second place */
static const char *
where(const struct builder *b, int t, char *buf, size_t size)
{
	snprintf(buf, size, "%s:%u:%u", b->d->path, tk(b, t)->line, tk(b, t)->col);
	return buf;
}

const char *
hf_port_text(const struct hf_graph *g, int t, char *buf, size_t size)
{
	const struct hf_tok *k;

	if (t < 0)
		return "";
	k = &g->ast->toks.v[t];
	snprintf(buf, size, "%.*s", (int)k->len, g->ast->src + k->off);
	return buf;
}

static int
add_node(struct builder *b, enum hf_node_kind kind, int tok)
{
	struct hf_graph *g = b->g;
	struct hf_node *n;

	ALLOC_GROW(g->nodes, g->nnodes, g->capnodes);
	n = &g->nodes[g->nnodes];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->tok = tok;
	n->pipe = n->port = -1;
	n->lifetimes[0] = n->lifetimes[1] = -1;
	return (int)g->nnodes++;
}

static struct end
end_node(int node, int at)
{
	struct end e = { node, -1, -1, at };

	return e;
}

/* put [idx] on an end that may already carry one (the inner one wins) */
static struct end
overlay(struct builder *b, struct end e, int idx, int is_out)
{
	char loc[512];
	const char *io = is_out ? "output" : "input";

	if (idx < 0)
		return e;
	if (e.port < 0) {
		e.port = idx;
		return e;
	}
	diag(b, HF_ERROR, span(b, b->a->idx[e.port].tok), "keep one of the two indexes",
	     "Indexing on %s is overwritten below (%s) (1/2).", io,
	     where(b, b->a->idx[idx].tok, loc, sizeof(loc)));
	diag(b, HF_ERROR, span(b, b->a->idx[idx].tok), "keep one of the two indexes",
	     "Cannot index on already-indexed %s, previously indexed above (%s) (2/2).", io,
	     where(b, b->a->idx[e.port].tok, loc, sizeof(loc)));
	b->a->idx[idx].used = 1;
	return e;
}

static void
add_link(struct builder *b, struct end src, struct end dst)
{
	ALLOC_GROW(b->links, b->nlinks, b->caplinks);
	b->links[b->nlinks].src = src;
	b->links[b->nlinks].dst = dst;
	b->nlinks++;
}

static struct ends
build_pipe(struct builder *b, int id)
{
	const struct hf_pipe *p = &b->a->pipes[id];
	struct ends e;

	switch (p->kind) {
	case PIPE_NAME:
		e.inn.node = e.out.node = -1;
		e.inn.name = e.out.name = p->tok;
		e.inn.at = e.out.at = p->tok;
		e.inn.port = p->inn;
		e.out.port = p->out;
		return e;
	case PIPE_OP: {
		int node = add_node(b, NODE_OP, p->tok);

		b->g->nodes[node].pipe = id;
		e.inn = e.out = end_node(node, p->tok);
		return e;
	}
	case PIPE_PAREN: {
		int inn = p->inn, out = p->out;

		e = build_pipe(b, p->inner);
		e.inn = overlay(b, e.inn, inn, 0);
		e.out = overlay(b, e.out, out, 1);
		return e;
	}
	case PIPE_CHAIN: {
		/* hydroflow nests `a -> b -> c` to the right, as a -> (b -> c):
		 * it builds every element in order, then links them innermost
		 * first, b -> c before a -> b.  Edges keep that order, which
		 * decides how subgraphs fuse and strata fall (strata.c). */
		int first = p->first, n = p->n;
		struct ends *el = xcalloc((size_t)n, sizeof(*el));

		for (int i = 0; i < n; i++)
			el[i] = build_pipe(b, b->a->chain[first + i]);
		for (int i = n - 1; i > 0; i--)
			add_link(b, el[i - 1].out, el[i].inn);
		e.inn = el[0].inn;
		e.out = el[n - 1].out;
		free(el);
		return e;
	}
	}
	memset(&e, 0, sizeof(e));
	return e;
}

static void
add_stmt(struct builder *b, int si)
{
	const struct hf_stmt *st = &b->a->stmts[si];
	struct ends e = build_pipe(b, st->pipe);
	int prev, port;
	char loc[512];

	if (st->name < 0)
		return;
	prev = (int)map_get(&b->names, tsrc(b, st->name), tk(b, st->name)->len);
	if (prev >= 0) {
		int pt = b->nv[prev].tok;

		diag(b, HF_ERROR, span(b, pt), "give one of them another name",
		     "Existing assignment to `%.*s` conflicts with later assignment: %s (1/2)",
		     TOKF(b, pt), where(b, st->name, loc, sizeof(loc)));
		diag(b, HF_ERROR, hf_range_span(b->a, st->name, st->last), "give one of them another name",
		     "Name assignment to `%.*s` conflicts with existing assignment: %s (2/2)",
		     TOKF(b, pt), where(b, pt, loc, sizeof(loc)));
		return;
	}
	port = (int)map_get(&b->ports, tsrc(b, st->name), tk(b, st->name)->len);
	if (port >= 0) {
		diag(b, HF_ERROR, span(b, st->name), "choose another name for the pipeline",
		     "Name assignment to `%.*s` conflicts with the module port declared at %s",
		     TOKF(b, st->name), where(b, b->a->ports[port].name, loc, sizeof(loc)));
		return;
	}
	ALLOC_GROW(b->nv, b->nn, b->capn);
	b->nv[b->nn].tok = st->name;
	b->nv[b->nn].stmt = si;
	b->nv[b->nn].ends = e;
	b->nv[b->nn].visit = 0;
	b->nv[b->nn].cycle = 0;
	map_put(&b->names, tsrc(b, st->name), tk(b, st->name)->len, (int)b->nn);
	b->nn++;
}

/* the node of a module port, marking it used */
static int
port_node(struct builder *b, int port)
{
	b->port_used[port] = 1;
	return b->g->port_node[port];
}

/* the closest of the names assigned and the ports to token t, into found */
static const char *
closest_name(struct builder *b, int t, char *found, size_t size)
{
	const char **names;
	char *want, *hit;
	size_t n = 0;
	const char *best;

	if (tk(b, t)->len > 64 || b->nn + b->a->nports > 2000)
		return NULL;
	names = xcalloc(b->nn + b->a->nports + 1, sizeof(*names));
	for (size_t i = 0; i < b->nn; i++)
		names[n++] = hf_tok_text(b->a, b->nv[i].tok);
	for (size_t i = 0; i < b->a->nports; i++)
		names[n++] = hf_tok_text(b->a, b->a->ports[i].name);
	want = hf_tok_text(b->a, t);
	best = str_closest(want, names, n);
	hit = NULL;
	if (best) {
		snprintf(found, size, "%s", best);
		hit = found;
	}
	for (size_t i = 0; i < n; i++)
		free((char *)names[i]);
	free(names);
	free(want);
	return hit;
}

static void
undefined_name(struct builder *b, int t, const char *fmt)
{
	char help[256], found[128];
	const char *near = closest_name(b, t, found, sizeof(found));

	if (near && tk(b, t)->len <= 64)
		snprintf(help, sizeof(help), "there is a name with a similar spelling: `%s`", near);
	else if (tk(b, t)->len <= 64)
		snprintf(help, sizeof(help), "assign it in a statement: `%.*s = ...;`", TOKF(b, t));
	else
		snprintf(help, sizeof(help), "assign it in a statement");
	diag(b, HF_ERROR, span(b, t), help, fmt, TOKF(b, t));
}

/*
 * Follow names until an end is a node.  Ports met on the way combine; a
 * name met twice is a cycle.  Returns the end, node -1 on failure.
 */
static struct end
resolve(struct builder *b, struct end e, int is_out)
{
	if (e.port >= 0)
		b->a->idx[e.port].used = 1;
	if (e.node >= 0)
		return e;
	b->gen++;
	b->nstack = 0;
	while (e.node < 0) {
		int n = (int)map_get(&b->names, tsrc(b, e.name), tk(b, e.name)->len);
		struct end next;

		if (n < 0) {
			int port = (int)map_get(&b->ports, tsrc(b, e.name), tk(b, e.name)->len);

			if (port < 0) {
				undefined_name(b, e.name, "Cannot find name `%.*s`; name was never assigned.");
				e.node = -1;
				return e;
			}
			e.node = port_node(b, port);
			break;
		}
		if (b->nv[n].visit != b->gen) {
			ALLOC_GROW(b->stack, b->nstack, b->capstack);
			b->stack[b->nstack++] = e.name;
		}
		if (b->nv[n].visit == b->gen || b->nv[n].cycle) {
			for (size_t i = 0; i < b->nstack; i++) {
				int k = (int)map_get(&b->names, tsrc(b, b->stack[i]), tk(b, b->stack[i])->len);

				diag(b, HF_ERROR, span(b, b->stack[i]),
				     "a name must lead to an operator; break the cycle with an operator such as `identity()`",
				     "Name `%.*s` forms or references an illegal self-referential cycle (%zu/%zu).",
				     TOKF(b, b->stack[i]), i + 1, b->nstack);
				b->nv[k].cycle = 1;
			}
			e.node = -1;
			return e;
		}
		if (b->nstack >= RESOLVE_LIMIT) {
			diag(b, HF_ERROR, span(b, b->stack[0]), "shorten the chain of names",
			     "Reached the recursion limit %d while resolving names. This is either a hydroflow bug "
			     "or you have an absurdly long chain of names starting at `%.*s`.",
			     RESOLVE_LIMIT, TOKF(b, b->stack[0]));
			e.node = -1;
			return e;
		}
		b->nv[n].visit = b->gen;
		next = is_out ? b->nv[n].ends.out : b->nv[n].ends.inn;
		if (next.port >= 0)
			b->a->idx[next.port].used = 1;
		if (e.port >= 0 && next.port >= 0) {
			char loc[512];
			const char *io = is_out ? "output" : "input";

			diag(b, HF_ERROR, span(b, b->a->idx[next.port].tok), "keep one of the two indexes",
			     "Indexing on %s is overwritten below (%s) (1/2).", io,
			     where(b, b->a->idx[e.port].tok, loc, sizeof(loc)));
			diag(b, HF_ERROR, span(b, b->a->idx[e.port].tok), "keep one of the two indexes",
			     "Cannot index on already-indexed %s, previously indexed above (%s) (2/2).", io,
			     where(b, b->a->idx[next.port].tok, loc, sizeof(loc)));
		} else if (e.port >= 0) {
			next.port = e.port;
		}
		next.at = e.at;
		e = next;
	}
	return e;
}

static void
add_edge(struct builder *b, struct end s, struct end t)
{
	struct hf_graph *g = b->g;
	struct hf_edge *e;

	if (g->nodes[t.node].kind == NODE_INPUT) {
		diag(b, HF_ERROR, span(b, t.at), "read from it instead: `name -> ...`, or send to an output port",
		     "`%.*s` is an input port: nothing can be sent into it", TOKF(b, g->nodes[t.node].tok));
		return;
	}
	if (g->nodes[s.node].kind == NODE_OUTPUT) {
		diag(b, HF_ERROR, span(b, s.at), "send to it instead: `... -> name`, or read from an input port",
		     "`%.*s` is an output port: nothing can be read from it", TOKF(b, g->nodes[s.node].tok));
		return;
	}
	ALLOC_GROW(g->edges, g->nedges, g->capedges);
	e = &g->edges[g->nedges++];
	memset(e, 0, sizeof(*e));
	e->src = s.node;
	e->dst = t.node;
	e->src_port = s.port >= 0 ? b->a->idx[s.port].tok : -1;
	e->dst_port = t.port >= 0 ? b->a->idx[t.port].tok : -1;
	e->src_at = s.port >= 0 ? e->src_port : s.at;
	e->dst_at = t.port >= 0 ? e->dst_port : t.at;
	g->nodes[s.node].nout++;
	g->nodes[t.node].nin++;
}

static void
build_adjacency(struct hf_graph *g)
{
	size_t n = g->nnodes;
	int *fill;

	g->out_off = xcalloc(n + 1, sizeof(int));
	g->in_off = xcalloc(n + 1, sizeof(int));
	g->out_edge = xcalloc(g->nedges + 1, sizeof(int));
	g->in_edge = xcalloc(g->nedges + 1, sizeof(int));
	for (size_t i = 0; i < g->nedges; i++) {
		g->out_off[g->edges[i].src + 1]++;
		g->in_off[g->edges[i].dst + 1]++;
	}
	for (size_t i = 0; i < n; i++) {
		g->out_off[i + 1] += g->out_off[i];
		g->in_off[i + 1] += g->in_off[i];
	}
	fill = xcalloc(2 * n + 1, sizeof(int));
	for (size_t i = 0; i < g->nedges; i++) {
		int s = g->edges[i].src, t = g->edges[i].dst;

		g->out_edge[g->out_off[s] + fill[s]++] = (int)i;
		g->in_edge[g->in_off[t] + fill[n + t]++] = (int)i;
	}
	free(fill);
}

/* edges sorted by port text, to find duplicates in n log n */
static const struct hf_graph *sort_graph;
static int sort_out;

static int
cmp_port(const void *x, const void *y)
{
	const struct hf_edge *a = &sort_graph->edges[*(const int *)x];
	const struct hf_edge *b = &sort_graph->edges[*(const int *)y];
	const struct hf_tok *ta = &sort_graph->ast->toks.v[sort_out ? a->src_port : a->dst_port];
	const struct hf_tok *tb = &sort_graph->ast->toks.v[sort_out ? b->src_port : b->dst_port];
	size_t n = ta->len < tb->len ? ta->len : tb->len;
	int c = memcmp(sort_graph->ast->src + ta->off, sort_graph->ast->src + tb->off, n);

	if (c)
		return c;
	if (ta->len != tb->len)
		return ta->len < tb->len ? -1 : 1;
	return *(const int *)x - *(const int *)y;
}

static void
check_port_conflicts(struct builder *b, int node, int is_out)
{
	struct hf_graph *g = b->g;
	int lo = is_out ? g->out_off[node] : g->in_off[node];
	int hi = is_out ? g->out_off[node + 1] : g->in_off[node + 1];
	const int *list = is_out ? g->out_edge : g->in_edge;
	int *v = NULL;
	size_t n = 0, cap = 0;

	for (int i = lo; i < hi; i++) {
		const struct hf_edge *e = &g->edges[list[i]];

		if ((is_out ? e->src_port : e->dst_port) >= 0) {
			ALLOC_GROW(v, n, cap);
			v[n++] = list[i];
		}
	}
	if (n > 1) {
		sort_graph = g;
		sort_out = is_out;
		qsort(v, n, sizeof(*v), cmp_port);
		for (size_t i = 1; i < n; i++) {
			int p0 = is_out ? g->edges[v[i - 1]].src_port : g->edges[v[i - 1]].dst_port;
			int p1 = is_out ? g->edges[v[i]].src_port : g->edges[v[i]].dst_port;
			const char *io = is_out ? "Output" : "Input";
			char loc[512];

			if (!hf_tok_same(b->a, p0, p1))
				continue;
			diag(b, HF_ERROR, span(b, p0), "each port of an operator takes one connection",
			     "%s connection conflicts with below (%s) (1/2)", io, where(b, p1, loc, sizeof(loc)));
			diag(b, HF_ERROR, span(b, p1), "each port of an operator takes one connection",
			     "%s connection conflicts with above (%s) (2/2)", io, where(b, p0, loc, sizeof(loc)));
		}
	}
	free(v);
}

static int
is_lifetime(struct builder *b, int t, const char *name)
{
	const struct hf_tok *k = tk(b, t);
	size_t n = strlen(name);

	return k->len == n + 1 && !memcmp(tsrc(b, t) + 1, name, n);
}

/* split the generic arguments of an operator; counts and checks lifetimes */
static void
read_generics(struct builder *b, int node, int *first, int *last)
{
	struct hf_node *n = &b->g->nodes[node];
	const struct hf_pipe *p = &b->a->pipes[n->pipe];
	int i = p->generics + 1, depth = 0, arg = i, lifetimes_done = 0;

	*first = i;
	*last = i - 1;
	if (p->generics < 0)
		return;
	for (;; ) {
		const struct hf_tok *t = tk(b, i);
		int at_end = hf_tok_is(b->a->src, t, ">") && !depth;

		if (at_end || (!depth && hf_tok_is(b->a->src, t, ","))) {
			if (i > arg) {
				const struct hf_tok *a0 = tk(b, arg);

				if (!lifetimes_done && a0->kind == TOK_LIFETIME && i == arg + 1) {
					if (is_lifetime(b, arg, "tick") || is_lifetime(b, arg, "static") ||
					    is_lifetime(b, arg, "mutable")) {
						if (n->nlifetimes < 2)
							n->lifetimes[n->nlifetimes] = arg;
						n->nlifetimes++;
					} else {
						diag(b, HF_ERROR, span(b, arg), "persistence is `'tick` (the default) or `'static`",
						     "Unknown lifetime generic argument `%.*s`, expected `'tick`, `'static`, or `'mutable`.",
						     TOKF(b, arg));
						lifetimes_done = 2;
					}
				} else if (lifetimes_done < 2 && a0->kind != TOK_LIFETIME) {
					lifetimes_done = 1;
					n->ntypes++;
				} else {
					lifetimes_done = 2;
				}
				*last = i - 1;
			}
			arg = i + 1;
			if (at_end)
				break;
		} else if (hf_tok_is(b->a->src, t, "<")) {
			depth++;
		} else if (hf_tok_is(b->a->src, t, ">")) {
			depth--;
		}
		i = t->match >= 0 ? t->match + 1 : i + 1;
	}
}

/* unknown operators and generic arguments, first for every node (as hydroflow) */
static void
check_op_kind(struct builder *b, int node)
{
	struct hf_node *n = &b->g->nodes[node];
	const struct hf_tok *t = tk(b, n->tok);
	int first, last;
	struct hf_span gsp;
	char words[64], help[256];

	n->op = hf_op_find(tsrc(b, n->tok), t->len);
	if (!n->op) {
		char *name = hf_tok_text(b->a, n->tok);
		const char *near = t->len <= 64 ? hf_op_closest(name) : NULL;

		if (near)
			snprintf(help, sizeof(help), "there is an operator with a similar name: `%s`", near);
		else
			snprintf(help, sizeof(help), "the operators are listed in docs/hf.md");
		diag(b, HF_ERROR, span(b, n->tok), help, "Unknown operator `%s`", name);
		free(name);
		return;
	}
	if (n->op->flags & OP_NOT_IN_HF) {
		diag(b, HF_ERROR, span(b, n->tok),
		     n->op->hard_in.max ? "declare an output port instead: `module main(output name: T)`" :
		     "declare an input port instead: `module main(input name: T)`",
		     "`%s` cannot be used in a .hf module", n->op->name);
		n->op = NULL;
		return;
	}
	read_generics(b, node, &first, &last);
	gsp = last >= first ? hf_range_span(b->a, first, last) : span(b, n->tok);
	if (!hf_arity_has(n->op->lifetimes, (unsigned)n->nlifetimes)) {
		hf_arity_words(n->op->lifetimes, words, sizeof(words));
		if (n->op->lifetimes.max == 0)
			snprintf(help, sizeof(help), "`%s` keeps no state: remove the lifetime", n->op->name);
		else if (n->op->lifetimes.max > 1)
			snprintf(help, sizeof(help), "give at most one lifetime per input: `%s::<'tick, 'static>()`",
			         n->op->name);
		else
			snprintf(help, sizeof(help), "give one lifetime: `%s::<'static>()`", n->op->name);
		diag(b, HF_ERROR, gsp, help,
		     "`%s` should have %s persistence lifetime arguments, actually has %d.",
		     n->op->name, words, n->nlifetimes);
	}
	if (!hf_arity_has(n->op->types, (unsigned)n->ntypes)) {
		hf_arity_words(n->op->types, words, sizeof(words));
		diag(b, HF_ERROR, gsp, n->op->types.max ? "give the type after any lifetimes" :
		     "remove the type arguments; rustc infers the item type",
		     "`%s` should have %s generic type arguments, actually has %d.",
		     n->op->name, words, n->ntypes);
	}
}

static void
degree_error(struct builder *b, int node, int is_in, int hard, struct hf_arity r, int deg)
{
	const struct hf_node *n = &b->g->nodes[node];
	const char *name = n->op->name;
	char words[64], help[256];

	hf_arity_words(r, words, sizeof(words));
	if (!hard)
		snprintf(help, sizeof(help), "`%s` with fewer than two %s does nothing: remove it, or add a branch",
		         name, is_in ? "inputs" : "outputs");
	else if (is_in && deg < r.min)
		snprintf(help, sizeof(help), "connect %s: `... -> %s`", r.min > 1 ? "its inputs" : "an input",
		         name);
	else if (is_in && r.max == 0)
		snprintf(help, sizeof(help), "`%s` is a source: start the pipeline with it", name);
	else if (is_in)
		snprintf(help, sizeof(help), "merge the inputs first: `u = union(); a -> u; b -> u; u -> %s`", name);
	else if (deg < r.min)
		snprintf(help, sizeof(help), "connect its output, e.g. `-> for_each(|x| println!(\"{:?}\", x))`");
	else if (r.max == 0)
		snprintf(help, sizeof(help), "`%s` is a sink: it ends the pipeline", name);
	else
		snprintf(help, sizeof(help), "share the output through `tee()`: `t = ... -> tee(); t -> a; t -> b;`");
	diag(b, hard ? HF_ERROR : HF_WARNING, op_span(b, node), help, "`%s` %s have %s %s, actually has %d.",
	     name, hard ? "must" : "should", words, is_in ? "input(s)" : "output(s)", deg);
}

/* fixed port names (join's 0 and 1, difference's pos and neg, ...) */
static void
check_fixed_ports(struct builder *b, int node, int is_out)
{
	struct hf_graph *g = b->g;
	const struct hf_node *n = &g->nodes[node];
	const char *const *want = is_out ? n->op->ports_out : n->op->ports_in;
	int lo = is_out ? g->out_off[node] : g->in_off[node];
	int hi = is_out ? g->out_off[node + 1] : g->in_off[node + 1];
	const int *list = is_out ? g->out_edge : g->in_edge;
	int seen[2] = { 0, 0 };
	const char *io = is_out ? "output" : "input";
	char help[256];

	if (!want[0])
		return;
	snprintf(help, sizeof(help), "`%s` has the %s ports `[%s]` and `[%s]`: name it and index it, "
	         "`x = %s(); ... -> [%s]x;`", n->op->name, io, want[0], want[1], n->op->name, want[0]);
	for (int i = lo; i < hi; i++) {
		const struct hf_edge *e = &g->edges[list[i]];
		int p = is_out ? e->src_port : e->dst_port;
		int at = is_out ? e->src_at : e->dst_at;
		int k;

		for (k = 0; k < 2; k++)
			if (p >= 0 && tk(b, p)->len == strlen(want[k]) && !memcmp(tsrc(b, p), want[k], tk(b, p)->len))
				break;
		if (k < 2) {
			seen[k] = 1;
			continue;
		}
		if (p < 0)
			diag(b, HF_ERROR, span(b, at), help,
			     "Unexpected %s port: <elided>. Expected one of: `%s`, `%s`", io, want[0], want[1]);
		else
			diag(b, HF_ERROR, span(b, p), help,
			     "Unexpected %s port: `%.*s`. Expected one of: `%s`, `%s`", io, TOKF(b, p), want[0], want[1]);
	}
	if (!seen[0] && !seen[1])
		diag(b, HF_ERROR, op_span(b, node), help, "Missing expected %s port(s): `%s`, `%s`.", io,
		     want[0], want[1]);
	else if (!seen[0] || !seen[1])
		diag(b, HF_ERROR, op_span(b, node), help, "Missing expected %s port(s): `%s`.", io,
		     !seen[0] ? want[0] : want[1]);
}

/* the closure parameters of argument 0: tokens of the second parameter */
static int
closure_second_param(struct builder *b, int node, int *first, int *last)
{
	const struct hf_pipe *p = &b->a->pipes[b->g->nodes[node].pipe];
	const struct hf_range *arg = &b->a->args[p->arg0];
	int i = arg->first, end, nparams = 1;

	if (i <= arg->last && hf_tok_word(b->a->src, tk(b, i), "move"))
		i++;
	if (i > arg->last || !hf_tok_is(b->a->src, tk(b, i), "|")) {
		diag(b, HF_ERROR, hf_range_span(b->a, arg->first, arg->last),
		     "write a closure: `|item, var_args!(a, b)| ...`", "Argument must be a two-argument closure expression");
		return -1;
	}
	end = ++i;
	while (end <= arg->last && !hf_tok_is(b->a->src, tk(b, end), "|"))
		end = tk(b, end)->match >= 0 ? tk(b, end)->match + 1 : end + 1;
	*first = -1;
	for (int k = i; k < end; k = tk(b, k)->match >= 0 ? tk(b, k)->match + 1 : k + 1) {
		if (hf_tok_is(b->a->src, tk(b, k), ",")) {
			nparams++;
			if (nparams == 2)
				*first = k + 1;
		}
	}
	if (end == i)
		nparams = 0;
	if (nparams != 2 || *first >= end) {
		struct hf_span sp = end > i ? hf_range_span(b->a, i, end - 1) : span(b, i - 1);

		if (!strcmp(b->g->nodes[node].op->name, "partition"))
			diag(b, HF_ERROR, sp, "the first parameter is the item, the second names the ports",
			     "Closure provided to `partition(..)` must have two arguments: the first argument is the item, "
			     "and for named ports the second argument must contain a Rust 'slice pattern' to determine the "
			     "port names and order. For example, the second argument could be `[foo, bar, baz]` for ports "
			     "`foo`, `bar`, and `baz`.");
		else
			diag(b, HF_ERROR, sp, "the first parameter is the item, the second names the ports",
			     "Closure provided to `%s(..)` must have two arguments: the first argument is the item, "
			     "and the second argument lists ports. E.g. the second argument could be `var_args!(port_a, port_b, ..)`.",
			     b->g->nodes[node].op->name);
		return -1;
	}
	*last = end - 1;
	return 0;
}

static int
is_port_ident(struct builder *b, int k, int last)
{
	const struct hf_tok *t = tk(b, k);

	if (t->kind != TOK_IDENT)
		return 0;
	if (k < last && hf_tok_is(b->a->src, tk(b, k + 1), "!"))
		return 0;	/* var_args! */
	return !hf_tok_word(b->a->src, t, "_") && !hf_tok_word(b->a->src, t, "mut") &&
	       !hf_tok_word(b->a->src, t, "ref");
}

/* demux and partition: the ports used must be the ones the closure names */
static void
check_named_outputs(struct builder *b, int node, int first, int last)
{
	struct hf_graph *g = b->g;
	const char *name = g->nodes[node].op->name;
	char loc[512];

	for (int i = g->out_off[node]; i < g->out_off[node + 1]; i++) {
		const struct hf_edge *e = &g->edges[g->out_edge[i]];
		int k, found = 0;

		if (e->src_port < 0 || tk(b, e->src_port)->kind != TOK_IDENT) {
			diag(b, HF_ERROR, span(b, e->src_at), "index the output with a port the closure names: `d[name] -> ...`",
			     "Output port from `%s(..)` must be specified and must be a valid identifier.", name);
			continue;
		}
		for (k = first; k <= last; k++)
			if (is_port_ident(b, k, last) && hf_tok_same(b->a, k, e->src_port))
				found = 1;
		if (!found) {
			diag(b, HF_ERROR, hf_range_span(b->a, first, last), "add the port to the closure's second parameter",
			     "Argument specifying the output ports in `%s(..)` does not contain extra port `%.*s`: (%s) (1/2).",
			     name, TOKF(b, e->src_port), where(b, e->src_port, loc, sizeof(loc)));
			diag(b, HF_ERROR, span(b, e->src_port), "add the port to the closure's second parameter",
			     "Port `%.*s` not found in the arguments specified in `%s(..)`'s closure: (%s) (2/2).",
			     TOKF(b, e->src_port), name, where(b, first, loc, sizeof(loc)));
		}
	}
	for (int k = first; k <= last; k++) {
		int found = 0;

		if (!is_port_ident(b, k, last))
			continue;
		for (int i = g->out_off[node]; i < g->out_off[node + 1]; i++) {
			int p = g->edges[g->out_edge[i]].src_port;

			if (p >= 0 && hf_tok_same(b->a, k, p))
				found = 1;
		}
		if (!found)
			diag(b, HF_ERROR, span(b, k), "connect it: `d[port] -> ...`, or remove it from the closure",
			     "`%s(..)` closure argument `%.*s` missing corresponding output port.", name, TOKF(b, k));
	}
}

static void
check_demux(struct builder *b, int node)
{
	int first, last;

	if (b->a->pipes[b->g->nodes[node].pipe].nargs != 1 || closure_second_param(b, node, &first, &last) < 0)
		return;
	check_named_outputs(b, node, first, last);
}

static void
check_partition(struct builder *b, int node)
{
	struct hf_graph *g = b->g;
	int nint = 0, nname = 0, first, last;
	long max = -1;
	char *have;

	for (int i = g->out_off[node]; i < g->out_off[node + 1]; i++) {
		const struct hf_edge *e = &g->edges[g->out_edge[i]];

		if (e->src_port < 0) {
			diag(b, HF_ERROR, span(b, e->src_at), "index each output: `p[0] -> ...` or `p[name] -> ...`",
			     "Output ports from `partition` cannot be blank, must be named or indexed.");
			return;
		}
		if (tk(b, e->src_port)->kind == TOK_NUMBER)
			nint++;
		else
			nname++;
	}
	if (nint && nname) {
		/* hydroflow sorts a node's ports, indices before names */
		for (int pass = 0; pass < 2; pass++)
			for (int i = g->out_off[node]; i < g->out_off[node + 1]; i++) {
				int t = g->edges[g->out_edge[i]].src_port;

				if ((tk(b, t)->kind == TOK_NUMBER) == !pass)
					diag(b, HF_ERROR, span(b, t),
					     "use names everywhere (`|x, [a, b]|`) or indices everywhere",
					     "Output ports from `partition` must either be all integer indices or all identifiers.");
			}
		return;
	}
	if (b->a->pipes[g->nodes[node].pipe].nargs != 1)
		return;
	if (nname) {
		if (closure_second_param(b, node, &first, &last) < 0)
			return;
		if (!hf_tok_is(b->a->src, tk(b, first), "[")) {
			diag(b, HF_ERROR, hf_range_span(b->a, first, last), "write the ports as `|item, [a, b]|`",
			     "Second argument for the `partition` closure must contain a Rust 'slice pattern' to determine the port names and order.");
			return;
		}
		check_named_outputs(b, node, first, last);
		return;
	}
	/* indices: 0..n-1, each once */
	for (int i = g->out_off[node]; i < g->out_off[node + 1]; i++) {
		long v;
		char *s = hf_tok_text(b->a, g->edges[g->out_edge[i]].src_port);

		if (str_to_long(s, 0, 1L << 20, &v) < 0) {
			diag(b, HF_ERROR, span(b, g->edges[g->out_edge[i]].src_port), "use indices 0, 1, 2, ...",
			     "Output ports from `partition` must be non-nonegative indices starting from zero.");
			free(s);
			return;
		}
		free(s);
		if (v > max)
			max = v;
	}
	have = xcalloc((size_t)max + 2, 1);
	for (int i = g->out_off[node]; i < g->out_off[node + 1]; i++) {
		char *s = hf_tok_text(b->a, g->edges[g->out_edge[i]].src_port);
		long v = 0;

		str_to_long(s, 0, 1L << 20, &v);
		have[v] = 1;
		free(s);
	}
	for (long k = 0; k <= max; k++) {
		if (!have[k]) {
			for (int i = g->out_off[node]; i < g->out_off[node + 1]; i++) {
				int p = g->edges[g->out_edge[i]].src_port;
				char *s = hf_tok_text(b->a, p);
				long v = 0;

				str_to_long(s, 0, 1L << 20, &v);
				free(s);
				if (v == max)
					diag(b, HF_ERROR, span(b, p), "number the outputs 0, 1, 2, ... without gaps",
					     "Output port indices from `partition` must be consecutive from zero, missing %ld.", k);
			}
			break;
		}
	}
	free(have);
}

static void
check_demux_enum(struct builder *b, int node)
{
	struct hf_graph *g = b->g;

	for (int i = g->out_off[node]; i < g->out_off[node + 1]; i++) {
		const struct hf_edge *e = &g->edges[g->out_edge[i]];

		if (e->src_port < 0 || tk(b, e->src_port)->kind != TOK_IDENT)
			diag(b, HF_ERROR, span(b, e->src_at), "index each output with a variant name: `d[Circle] -> ...`",
			     "Output port from `demux_enum(..)` must be specified and must be a valid identifier.");
	}
}

static void
check_op(struct builder *b, int node)
{
	struct hf_node *n = &b->g->nodes[node];
	const struct hf_op *op = n->op;
	const struct hf_pipe *p = &b->a->pipes[n->pipe];
	char help[256];

	if ((unsigned)p->nargs != op->nargs) {
		if (op->nargs)
			snprintf(help, sizeof(help), "`%s` takes %s", op->name, op->args_help);
		else
			snprintf(help, sizeof(help), "`%s` takes no arguments: `%s()`", op->name, op->name);
		diag(b, HF_ERROR, op_span(b, node), help, "expected %u argument(s), found %d", op->nargs, p->nargs);
	}
	if (!hf_arity_has(op->hard_in, (unsigned)n->nin)) {
		degree_error(b, node, 1, 1, op->hard_in, n->nin);
	} else if (!hf_arity_has(op->soft_in, (unsigned)n->nin)) {
		degree_error(b, node, 1, 0, op->soft_in, n->nin);
	}
	if (!hf_arity_has(op->hard_out, (unsigned)n->nout)) {
		degree_error(b, node, 0, 1, op->hard_out, n->nout);
	} else if (!hf_arity_has(op->soft_out, (unsigned)n->nout)) {
		degree_error(b, node, 0, 0, op->soft_out, n->nout);
	}
	check_fixed_ports(b, node, 0);
	check_fixed_ports(b, node, 1);
}

/*
 * What hydroflow only finds when it writes the code, so only once everything
 * else checked: operator-specific rules and degenerate subgraphs.
 */
static void
check_codegen(struct builder *b, int node)
{
	struct hf_node *n = &b->g->nodes[node];
	const struct hf_op *op = n->op;

	/* each operator decides what it makes of a lifetime, as hydroflow's do */
	for (int i = 0; i < n->nlifetimes && i < 2; i++) {
		int t = n->lifetimes[i];

		if (op->flags & OP_STATIC_ONLY) {
			if (!is_lifetime(b, t, "static"))
				diag(b, HF_ERROR, op_span(b, node), "write `persist::<'static>()`",
				     "%s only supports `'static`.", op->name);
		} else if (op->flags & OP_TICK_ONLY) {
			if (!is_lifetime(b, t, "tick"))
				diag(b, HF_ERROR, op_span(b, node), "persist the inputs instead, with `persist::<'static>()` before each",
				     "`%s()` can only have `'tick` persistence.", op->name);
		} else if (is_lifetime(b, t, "mutable") && !(op->flags & OP_MUTABLE)) {
			diag(b, HF_ERROR, op_span(b, node), "use `'tick` or `'static`",
			     "An implementation of 'mutable does not exist");
			return;
		}
	}
	if (!strcmp(op->name, "demux"))
		check_demux(b, node);
	else if (!strcmp(op->name, "partition"))
		check_partition(b, node);
	else if (!strcmp(op->name, "demux_enum"))
		check_demux_enum(b, node);
	if (n->nin == 0 && n->nout == 0)
		diag(b, HF_ERROR, op_span(b, node), "connect it to a pipeline, or remove it",
		     "Degenerate subgraph detected, is there a disconnected `null()` or other degenerate pipeline somewhere?");
}

static void
check_port_node(struct builder *b, int node)
{
	const struct hf_node *n = &b->g->nodes[node];
	int deg = n->kind == NODE_INPUT ? n->nout : n->nin;

	if (deg == 1)
		return;
	if (n->kind == NODE_INPUT)
		diag(b, HF_ERROR, span(b, n->tok), deg ? "share it through `tee()`: `t = name -> tee(); t -> a; t -> b;`" :
		     "read from it: `name -> ...`",
		     "input port `%.*s` must have exactly 1 output(s), actually has %d.", TOKF(b, n->tok), deg);
	else
		diag(b, HF_ERROR, span(b, n->tok), deg ? "merge the pipelines first: `u = union(); a -> u; b -> u; u -> name;`" :
		     "send to it: `... -> name`",
		     "output port `%.*s` must have exactly 1 input(s), actually has %d.", TOKF(b, n->tok), deg);
}

static void
check_srefs(struct builder *b, int node, int undefined)
{
	const struct hf_pipe *p = &b->a->pipes[b->g->nodes[node].pipe];

	for (int i = 0; i < p->nsref; i++) {
		int hash = b->a->srefs[p->sref0 + i].hash, name = hash + 1;
		struct hf_span sp = hf_range_span(b->a, hash, name);
		struct end e = { -1, name, -1, name };
		int n = (int)map_get(&b->names, tsrc(b, name), tk(b, name)->len);
		const struct hf_node *r;

		if (n < 0) {
			if (undefined)
				diag(b, HF_ERROR, sp, "assign the stateful operator a name: `name = ... -> fold(...);`",
				     "Cannot find referenced name `%.*s`; name was never assigned.", TOKF(b, name));
			continue;
		}
		if (undefined)
			continue;
		e = resolve(b, e, 1);
		if (e.node < 0)
			continue;
		r = &b->g->nodes[e.node];
		if (r->kind != NODE_OP || !r->op)
			continue;
		if (!(r->op->flags & OP_SINGLETON)) {
			diag(b, HF_ERROR, sp, "reference an operator with state: fold, reduce, persist, state",
			     "Cannot reference operator `%s`. Only operators with singleton state can be referenced.",
			     r->op->name);
			continue;
		}
		if (e.node == node) {
			diag(b, HF_ERROR, sp, "an operator cannot read its own state",
			     "Operator `%s` references its own singleton state.", r->op->name);
			continue;
		}
		ALLOC_GROW(b->g->sedges, b->g->nsedges, b->g->capsedges);
		b->g->sedges[b->g->nsedges].ref = e.node;
		b->g->sedges[b->g->nsedges].user = node;
		b->g->sedges[b->g->nsedges].at = hash;
		b->g->nsedges++;
	}
}

static void
check_ports_decl(struct builder *b)
{
	struct map params = MAP_INIT;
	char loc[512];

	for (size_t i = 0; i < b->a->nparams; i++) {
		int t = b->a->params[i].name;
		int prev = (int)map_get(&params, tsrc(b, t), tk(b, t)->len);

		if (prev >= 0)
			diag(b, HF_ERROR, span(b, t), "give each parameter its own name",
			     "param `%.*s` is declared twice (first at %s)", TOKF(b, t),
			     where(b, b->a->params[prev].name, loc, sizeof(loc)));
		else
			map_put(&params, tsrc(b, t), tk(b, t)->len, (int)i);
	}
	map_release(&params);

	for (size_t i = 0; i < b->a->nports; i++) {
		int t = b->a->ports[i].name;
		int prev = (int)map_get(&b->ports, tsrc(b, t), tk(b, t)->len);

		if (prev >= 0) {
			diag(b, HF_ERROR, span(b, t), "give each port its own name",
			     "port `%.*s` is declared twice (first at %s)", TOKF(b, t),
			     where(b, b->a->ports[prev].name, loc, sizeof(loc)));
			continue;
		}
		map_put(&b->ports, tsrc(b, t), tk(b, t)->len, (int)i);
	}
}

/* a name's text, to sort names as hydroflow's BTreeMap of them does */
struct sorted_name {
	const char *s;
	size_t len;
	int name;
};

static int
cmp_sorted_name(const void *x, const void *y)
{
	const struct sorted_name *a = x, *b = y;
	int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

static void
unused_index(struct builder *b, int idx, char *done)
{
	if (idx < 0 || b->a->idx[idx].used || done[idx])
		return;
	done[idx] = 1;
	diag(b, HF_ERROR, span(b, b->a->idx[idx].tok), "move the index to the other side of the name",
	     "%s port index is unused. (Is the port on the correct side?)",
	     b->idx_side[idx] == 'i' ? "Input" : "Output");
}

/* indexes never used: those on names first, in the order of the names'
 * text, input before output, as hydroflow walks its names; then any other */
static void
check_unused_indexes(struct builder *b)
{
	struct sorted_name *v = xcalloc(b->nn + 1, sizeof(*v));
	char *done = xcalloc(b->a->nidx + 1, 1);

	for (size_t i = 0; i < b->nn; i++) {
		v[i].s = tsrc(b, b->nv[i].tok);
		v[i].len = tk(b, b->nv[i].tok)->len;
		v[i].name = (int)i;
	}
	qsort(v, b->nn, sizeof(*v), cmp_sorted_name);
	for (size_t i = 0; i < b->nn; i++) {
		unused_index(b, b->nv[v[i].name].ends.inn.port, done);
		unused_index(b, b->nv[v[i].name].ends.out.port, done);
	}
	for (size_t i = 0; i < b->a->nidx; i++)
		unused_index(b, (int)i, done);
	free(v);
	free(done);
}

int
hf_graph_build(struct hf_graph *g, struct hf_ast *ast, struct hf_diag *d)
{
	struct builder b;
	unsigned errors = d->nerr;
	size_t nnodes;

	memset(g, 0, sizeof(*g));
	g->ast = ast;
	g->d = d;
	memset(&b, 0, sizeof(b));
	b.g = g;
	b.a = ast;
	b.d = d;
	g->port_node = xcalloc(ast->nports + 1, sizeof(int));
	b.port_used = xcalloc(ast->nports + 1, 1);
	for (size_t i = 0; i < ast->nports; i++) {
		const struct hf_port_decl *pd = &ast->ports[i];
		int node = add_node(&b, pd->is_input ? NODE_INPUT : NODE_OUTPUT, pd->name);

		g->nodes[node].port = (int)i;
		g->port_node[i] = node;
	}
	check_ports_decl(&b);
	for (size_t i = 0; i < ast->nstmts; i++)
		add_stmt(&b, (int)i);
	for (size_t i = 0; i < b.nlinks; i++) {
		struct end s = resolve(&b, b.links[i].src, 1);
		struct end t = resolve(&b, b.links[i].dst, 0);

		if (s.node >= 0 && t.node >= 0)
			add_edge(&b, s, t);
	}
	build_adjacency(g);
	nnodes = g->nnodes;
	/* hydroflow resolves #name reads with the links, before any check */
	for (size_t i = 0; i < nnodes; i++)
		if (g->nodes[i].kind == NODE_OP)
			check_srefs(&b, (int)i, 1);
	for (size_t i = 0; i < nnodes; i++)
		if (g->nodes[i].kind == NODE_OP)
			check_op_kind(&b, (int)i);
	for (size_t i = 0; i < nnodes; i++) {
		check_port_conflicts(&b, (int)i, 1);
		check_port_conflicts(&b, (int)i, 0);
		if (g->nodes[i].kind != NODE_OP && b.port_used[g->nodes[i].port])
			check_port_node(&b, (int)i);
		else if (g->nodes[i].op)
			check_op(&b, (int)i);
	}
	b.idx_side = xcalloc(ast->nidx + 1, 1);
	for (size_t i = 0; i < ast->npipes; i++) {
		if (ast->pipes[i].inn >= 0)
			b.idx_side[ast->pipes[i].inn] = 'i';
		if (ast->pipes[i].out >= 0)
			b.idx_side[ast->pipes[i].out] = 'o';
	}
	check_unused_indexes(&b);
	for (size_t i = 0; i < nnodes; i++)
		if (g->nodes[i].kind == NODE_OP && g->nodes[i].op)
			check_srefs(&b, (int)i, 0);
	for (size_t i = 0; i < ast->nports; i++)
		if (!b.port_used[i] && (int)map_get(&b.ports, tsrc(&b, ast->ports[i].name),
		                                    tk(&b, ast->ports[i].name)->len) == (int)i)
			diag(&b, HF_WARNING, span(&b, ast->ports[i].name),
			     ast->ports[i].is_input ? "read from it in the body (`name -> ...`), or remove it" :
			     "send to it in the body (`... -> name`), or remove it",
			     "module port `%.*s` is never used", TOKF(&b, ast->ports[i].name));
	free(b.idx_side);
	free(b.port_used);
	map_release(&b.names);
	map_release(&b.ports);
	free(b.nv);
	free(b.links);
	free(b.stack);
	return d->nerr != errors ? -1 : 0;
}

int
hf_graph_check_late(struct hf_graph *g)
{
	struct builder b;
	unsigned errors = g->d->nerr;

	memset(&b, 0, sizeof(b));
	b.g = g;
	b.a = g->ast;
	b.d = g->d;
	for (size_t i = 0; i < g->nnodes; i++)
		if (g->nodes[i].kind == NODE_OP && g->nodes[i].op)
			check_codegen(&b, (int)i);
	return g->d->nerr != errors ? -1 : 0;
}

void
hf_graph_release(struct hf_graph *g)
{
	free(g->nodes);
	free(g->edges);
	free(g->sedges);
	free(g->port_node);
	free(g->out_off);
	free(g->out_edge);
	free(g->in_off);
	free(g->in_edge);
	free(g->subgraphs);
	free(g->sg_nodes);
	memset(g, 0, sizeof(*g));
}
