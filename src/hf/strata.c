/*
 * strata: subgraphs, strata and ticks of a checked graph, as hydroflow's
 * flat_to_partitioned.rs computes them.
 *
 * 1. Subgraphs.  Operators are coloured by degree (one input and several
 *    outputs: push; several inputs and one output: pull; ...) and fused
 *    along edges whose colours allow it (pull into push, never push into
 *    pull), never across a barrier (an input with a delay, or a #name read).
 *    What is left between subgraphs are handoffs: buffers.
 * 2. Strata.  A blocking input must see all of the tick's items, so its
 *    subgraph runs in a later stratum than what feeds it.  Edges into
 *    `defer_tick()` are not dependencies within the tick: they cut ticks.
 *    The subgraph graph is condensed into strongly connected components
 *    (Tarjan's, with an explicit stack); strata are the longest path over
 *    them, a blocking edge adding one, and a blocking edge inside a
 *    component can never be satisfied: hydroflow's "negative cycle".
 * 3. External inputs move to stratum 0, in a subgraph of their own.
 *
 * Everything is linear in the size of the graph but the fusion, which
 * orders edges in a heap (see fuse()) and checks barriers through
 * per-subgraph lists merged small into large.
 */
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"
#include "hf/strata.h"

struct ilist {
	int *v;
	size_t n, cap;
};

static void
ilist_add(struct ilist *l, int x)
{
	ALLOC_GROW(l->v, l->n, l->cap);
	l->v[l->n++] = x;
}

struct part {
	const struct hf_graph *g;
	int *parent;
	int *hrep;		/* per set root: hydroflow's representative */
	int *vsrc;		/* per edge: its source once elided nodes are
				 * gone, or -1 for an edge into one */
	char *elided;		/* per node: removed before partitioning */
	int *color;
	int *cross_src, *cross_dst;	/* barrier crossers */
	size_t ncross;
	struct ilist *lists;		/* per set representative: crossers touching it */
};

static int
find(int *parent, int x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

static int
is_tick_delay(enum hf_delay d)
{
	return d == DELAY_TICK || d == DELAY_TICK_LAZY;
}

/* whether a barrier crosser joins the two sets */
static int
blocked(struct part *pt, int rs, int rd)
{
	const struct ilist *l = pt->lists[rs].n < pt->lists[rd].n ? &pt->lists[rs] : &pt->lists[rd];

	for (size_t i = 0; i < l->n; i++) {
		int fx = find(pt->parent, pt->cross_src[l->v[i]]);
		int fy = find(pt->parent, pt->cross_dst[l->v[i]]);

		if ((fx == rs && fy == rd) || (fx == rd && fy == rs))
			return 1;
	}
	return 0;
}

/* hydroflow's can_connect_colorize: whether src may feed dst in one subgraph */
static int
can_connect(int *color, int src, int dst)
{
	int cs = color[src], cd = color[dst];

	if (cs == COLOR_NONE && cd == COLOR_NONE)
		return 0;
	if (cs == COLOR_NONE) {
		color[src] = cd == COLOR_PULL || cd == COLOR_COMP ? COLOR_PULL : COLOR_PUSH;
		return 1;
	}
	if (cd == COLOR_NONE) {
		color[dst] = cs == COLOR_PULL ? COLOR_PULL : COLOR_PUSH;
		return 1;
	}
	if (cs == COLOR_PULL)
		return 1;
	if (cs == COLOR_COMP || cs == COLOR_PUSH)
		return cd == COLOR_PUSH;
	return 0;
}

/* join a's set into b's; hydroflow's union-find keeps b's representative,
 * which orders the subgraphs */
static void
unite(struct part *pt, int a, int b)
{
	struct ilist *big, *small;
	int ra = find(pt->parent, a), rb = find(pt->parent, b), rep;

	if (ra == rb)
		return;
	rep = pt->hrep[rb];
	if (pt->lists[ra].n < pt->lists[rb].n) {
		int t = ra;

		ra = rb;
		rb = t;
	}
	pt->parent[rb] = ra;
	pt->hrep[ra] = rep;
	big = &pt->lists[ra];
	small = &pt->lists[rb];
	for (size_t i = 0; i < small->n; i++)
		ilist_add(big, small->v[i]);
	free(small->v);
	memset(small, 0, sizeof(*small));
}

/* a min-heap of edge ids */
struct heap {
	int *v;
	size_t n, cap;
};

static void
heap_push(struct heap *h, int x)
{
	size_t i;

	ALLOC_GROW(h->v, h->n, h->cap);
	for (i = h->n++; i > 0 && h->v[(i - 1) / 2] > x; i = (i - 1) / 2)
		h->v[i] = h->v[(i - 1) / 2];
	h->v[i] = x;
}

static int
heap_pop(struct heap *h)
{
	int top = h->v[0], last = h->v[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1] < h->v[c])
			c++;
		if (h->v[c] >= last)
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
	return top;
}

/*
 * Hydroflow fuses in passes over all edges, in order, until a pass changes
 * nothing.  An edge's outcome only changes while both its ends are
 * uncoloured (a barrier or a colour clash is final), so instead of whole
 * passes only such edges are retried when an end gets a colour: later in
 * this pass if the edge comes later, else in the next one.  The result is
 * the same and the cost n log n instead of quadratic.
 */
static void
fuse(struct hf_graph *g, struct part *pt)
{
	struct ilist *pending = xcalloc(g->nnodes + 1, sizeof(*pending));
	char *queued = xcalloc(g->nedges + 1, 1);
	struct heap now = { NULL, 0, 0 }, next = { NULL, 0, 0 };

	for (size_t i = 0; i < g->nedges; i++) {
		if (pt->vsrc[i] < 0)
			continue;
		heap_push(&now, (int)i);
		queued[i] = 1;
	}
	while (now.n) {
		while (now.n) {
			int id = heap_pop(&now);
			struct hf_edge *e = &g->edges[id];
			int src = pt->vsrc[id];
			int rs = find(pt->parent, src), rd = find(pt->parent, e->dst);
			int cs = pt->color[src], cd = pt->color[e->dst];

			queued[id] = 0;
			if (rs == rd || blocked(pt, rs, rd))
				continue;
			if (cs == COLOR_NONE && cd == COLOR_NONE) {
				ilist_add(&pending[src], id);
				ilist_add(&pending[e->dst], id);
				continue;
			}
			if (!can_connect(pt->color, src, e->dst))
				continue;
			unite(pt, src, e->dst);
			e->handoff = 0;
			/* the end that just got a colour wakes its waiting edges */
			for (int k = 0; k < 2; k++) {
				int v = k ? e->dst : src;
				struct ilist *l = &pending[v];

				if ((k ? cd : cs) != COLOR_NONE)
					continue;
				for (size_t j = 0; j < l->n; j++) {
					if (queued[l->v[j]])
						continue;
					queued[l->v[j]] = 1;
					heap_push(l->v[j] > id ? &now : &next, l->v[j]);
				}
				free(l->v);
				memset(l, 0, sizeof(*l));
			}
		}
		/* the next pass */
		{
			struct heap t = now;

			now = next;
			next = t;
		}
	}
	for (size_t i = 0; i < g->nnodes; i++)
		free(pending[i].v);
	free(pending);
	free(queued);
	free(now.v);
	free(next.v);
}

/* the source of a chain of elided nodes ending at node v: the node
 * hydroflow links past them; -1 for a cycle of elided nodes alone */
static int
real_source(const struct hf_graph *g, const char *elided, int v)
{
	for (size_t steps = 0; elided[v]; steps++) {
		if (steps > g->nnodes)
			return -1;
		v = g->edges[g->in_edge[g->in_off[v]]].src;
	}
	return v;
}

static void
make_subgraphs(struct hf_graph *g, struct part *pt)
{
	size_t n = g->nnodes;

	for (size_t i = 0; i < n; i++) {
		int in = g->in_off[i + 1] - g->in_off[i], out = g->out_off[i + 1] - g->out_off[i];
		const struct hf_op *op = g->nodes[i].op;

		pt->parent[i] = (int)i;
		pt->hrep[i] = (int)i;
		pt->elided[i] = g->nodes[i].kind == NODE_OP && op && (op->flags & OP_ELIDED) &&
		                in == 1 && out == 1;
		if (in == 0 && out == 0)
			pt->color[i] = COLOR_NONE;
		else if (in == 0 && out == 1)
			pt->color[i] = COLOR_PULL;
		else if (in == 1 && out == 0)
			pt->color[i] = COLOR_PUSH;
		else if (in == 1 && out == 1)
			pt->color[i] = COLOR_NONE;
		else if (out <= 1)
			pt->color[i] = COLOR_PULL;
		else if (in <= 1)
			pt->color[i] = COLOR_PUSH;
		else
			pt->color[i] = COLOR_COMP;
	}
	/* hydroflow removes a union or tee with one input and one output and
	 * links its neighbours directly, the new edge where the one out of it
	 * was: edges into such a node take no part, edges out of one start
	 * where the chain of them does */
	for (size_t i = 0; i < g->nedges; i++)
		pt->vsrc[i] = pt->elided[g->edges[i].dst] ? -1 :
		              real_source(g, pt->elided, g->edges[i].src);
	for (size_t i = 0; i < g->nedges; i++) {
		if (g->edges[i].delay == DELAY_NONE || pt->vsrc[i] < 0)
			continue;
		pt->cross_src[pt->ncross] = pt->vsrc[i];
		pt->cross_dst[pt->ncross] = g->edges[i].dst;
		ilist_add(&pt->lists[pt->vsrc[i]], (int)pt->ncross);
		ilist_add(&pt->lists[g->edges[i].dst], (int)pt->ncross);
		pt->ncross++;
	}
	for (size_t i = 0; i < g->nsedges; i++) {
		pt->cross_src[pt->ncross] = g->sedges[i].ref;
		pt->cross_dst[pt->ncross] = g->sedges[i].user;
		ilist_add(&pt->lists[g->sedges[i].ref], (int)pt->ncross);
		ilist_add(&pt->lists[g->sedges[i].user], (int)pt->ncross);
		pt->ncross++;
	}
	for (size_t i = 0; i < g->nedges; i++)
		g->edges[i].handoff = 1;
	fuse(g, pt);
	/* an elided node runs with what feeds it, in that subgraph, keeping
	 * its representative */
	for (size_t i = 0; i < n; i++) {
		int r = pt->elided[i] ? real_source(g, pt->elided, (int)i) : -1;

		if (r < 0)
			continue;
		unite(pt, (int)i, r);
		pt->color[i] = pt->color[r];
		g->edges[g->in_edge[g->in_off[i]]].handoff = 0;
	}
}

/* a dependency between subgraphs within a tick */
struct dep {
	int from, to;
	int barrier;		/* a blocking input: a later stratum */
	size_t key;		/* hydroflow's order of them */
};

static int
cmp_dep_key(const void *a, const void *b)
{
	const struct dep *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

/* adjacency in dependency order: list of v is idx[off[v]..off[v+1]) */
struct adj {
	int *off, *idx;
};

static void
adj_build(struct adj *a, const struct dep *deps, size_t ndeps, int nsg, int by_to)
{
	int *pos = xcalloc((size_t)nsg + 1, sizeof(int));

	a->off = xcalloc((size_t)nsg + 2, sizeof(int));
	a->idx = xcalloc(ndeps + 1, sizeof(int));
	for (size_t i = 0; i < ndeps; i++)
		a->off[(by_to ? deps[i].to : deps[i].from) + 1]++;
	for (int v = 0; v < nsg; v++)
		a->off[v + 1] += a->off[v];
	for (size_t i = 0; i < ndeps; i++) {
		int v = by_to ? deps[i].to : deps[i].from;

		a->idx[a->off[v] + pos[v]++] = (int)i;
	}
	free(pos);
}

static void
adj_release(struct adj *a)
{
	free(a->off);
	free(a->idx);
}

/*
 * Hydroflow's components and their order (graph_algorithms.rs): Kosaraju's
 * algorithm over the subgraphs in id order, a component represented by its
 * first member found; then a depth-first postorder over the subgraphs in id
 * order where only a representative has predecessors, those of its own
 * predecessors outside its component.  A member that is not the
 * representative thus comes where its id puts it, whatever feeds it.
 */
/*
 * Depth-first postorder over the subgraphs, roots in id order, into out:
 * without comp, along the adjacency to each dependency's `to`; with comp,
 * only a representative (comp[u] == u) goes on, to the representatives of
 * its dependencies' `from` outside its component.  The stack is explicit:
 * its depth is the number of subgraphs at most.
 */
static int
postorder(int nsg, const struct dep *deps, const struct adj *a, const int *comp, int *out)
{
	int *stack = xcalloc((size_t)nsg + 1, sizeof(int)), *at = xcalloc((size_t)nsg + 1, sizeof(int));
	char *mark = xcalloc((size_t)nsg + 1, 1);
	int n = 0;

	for (int root = 0; root < nsg; root++) {
		int sp = 0;

		if (mark[root])
			continue;
		mark[root] = 1;
		stack[sp] = root;
		at[sp++] = a->off[root];
		while (sp) {
			int u = stack[sp - 1];

			if ((!comp || comp[u] == u) && at[sp - 1] < a->off[u + 1]) {
				const struct dep *d = &deps[a->idx[at[sp - 1]++]];
				int w = comp ? comp[d->from] : d->to;

				if (w != u && !mark[w]) {
					mark[w] = 1;
					stack[sp] = w;
					at[sp++] = a->off[w];
				}
				continue;
			}
			out[n++] = u;
			sp--;
		}
	}
	free(stack);
	free(at);
	free(mark);
	return n;
}

/*
 * Hydroflow's components and their order (graph_algorithms.rs): Kosaraju's
 * algorithm over the subgraphs in id order, a component represented by its
 * first member found; then a depth-first postorder over the subgraphs in id
 * order where only a representative has predecessors, those of its own
 * predecessors outside its component.  A member that is not the
 * representative thus comes where its id puts it, whatever feeds it.
 */
static int *
hydroflow_order(int nsg, const struct dep *deps, const struct adj *succ, const struct adj *pred)
{
	int *comp = xcalloc((size_t)nsg + 1, sizeof(int)), *stack = xcalloc((size_t)nsg + 1, sizeof(int));
	int *fin = xcalloc((size_t)nsg + 1, sizeof(int)), *order = xcalloc((size_t)nsg + 1, sizeof(int));
	int nfin = postorder(nsg, deps, succ, NULL, fin);

	/* components over predecessors, latest finished first */
	for (int v = 0; v < nsg; v++)
		comp[v] = -1;
	for (int k = nfin - 1; k >= 0; k--) {
		int root = fin[k], sp = 0;

		if (comp[root] >= 0)
			continue;
		comp[root] = root;
		stack[sp++] = root;
		while (sp) {
			int u = stack[--sp];

			for (int j = pred->off[u]; j < pred->off[u + 1]; j++) {
				int w = deps[pred->idx[j]].from;

				if (comp[w] < 0) {
					comp[w] = root;
					stack[sp++] = w;
				}
			}
		}
	}
	/* a representative after the components feeding it */
	postorder(nsg, deps, pred, comp, order);
	free(comp);
	free(stack);
	free(fin);
	return order;
}

/*
 * Strata of the subgraphs, and the negative-cycle check, as hydroflow
 * decides them: in its order, a subgraph takes the highest stratum of its
 * predecessors placed already (plus one across a blocking input), and a
 * blocking edge whose end is not in a later stratum than its start is the
 * error, reported once, at the first such edge.  So a cycle through a
 * blocking input is accepted when the order happens to place the blocking
 * end after the other, as hydroflow accepts it.  -1 on the error.
 */
static int
subgraph_strata(struct hf_graph *g, const struct part *pt, int nsg, int *stratum)
{
	struct dep *deps = xcalloc(g->nedges + g->nsedges + 1, sizeof(*deps));
	size_t ndeps = 0, nelided = 0, k = 0;
	int *elided_order = xcalloc(g->nnodes + 1, sizeof(int)), *order, *seen, *best;
	char *placed = xcalloc((size_t)nsg + 1, 1);
	struct adj succ, pred;
	int rc = 0;

	/* handoff nodes take the slots of the elided nodes first, the last
	 * removed first (unions, then tees, each in id order), then new ones:
	 * hydroflow walks its nodes, handoffs among them, in slot order */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < g->nnodes; i++)
			if (pt->elided[i] && (strcmp(g->nodes[i].op->name, "union") != 0) == pass)
				elided_order[nelided++] = (int)i;
	for (size_t i = 0; i < g->nedges; i++) {
		const struct hf_edge *e = &g->edges[i];

		if (!e->handoff || pt->vsrc[i] < 0)
			continue;
		k++;
		if (is_tick_delay(e->delay))
			continue;
		deps[ndeps].from = g->nodes[pt->vsrc[i]].subgraph;
		deps[ndeps].to = g->nodes[e->dst].subgraph;
		deps[ndeps].barrier = e->delay == DELAY_STRATUM;
		deps[ndeps].key = k - 1 < nelided ? (size_t)elided_order[nelided - k] : g->nnodes + k;
		ndeps++;
	}
	for (size_t i = 0; i < g->nsedges; i++) {
		deps[ndeps].from = g->nodes[g->sedges[i].ref].subgraph;
		deps[ndeps].to = g->nodes[g->sedges[i].user].subgraph;
		deps[ndeps].barrier = 1;
		deps[ndeps].key = g->nnodes + g->nedges + 1 + i;
		ndeps++;
	}
	/* the keys are distinct: the order is total */
	qsort(deps, ndeps, sizeof(*deps), cmp_dep_key);
	adj_build(&succ, deps, ndeps, nsg, 0);
	adj_build(&pred, deps, ndeps, nsg, 1);
	order = hydroflow_order(nsg, deps, &succ, &pred);

	/* a pair of subgraphs counts one barrier if any edge between them is
	 * one; seen/best gather a subgraph's predecessors */
	seen = xcalloc((size_t)nsg + 1, sizeof(int));
	best = xcalloc((size_t)nsg + 1, sizeof(int));
	for (int v = 0; v < nsg; v++)
		seen[v] = -1;
	for (int m = 0; m < nsg; m++) {
		int v = order[m], hi = 0;

		for (int j = pred.off[v]; j < pred.off[v + 1]; j++) {
			const struct dep *d = &deps[pred.idx[j]];

			if (seen[d->from] != v) {
				seen[d->from] = v;
				best[d->from] = 0;
			}
			if (d->barrier)
				best[d->from] = 1;
		}
		for (int j = pred.off[v]; j < pred.off[v + 1]; j++) {
			int u = deps[pred.idx[j]].from;

			if (placed[u] && stratum[u] + best[u] > hi)
				hi = stratum[u] + best[u];
		}
		stratum[v] = hi;
		placed[v] = 1;
	}
	for (size_t i = 0; i < g->nedges && !rc; i++) {
		const struct hf_edge *e = &g->edges[i];

		if (!e->handoff || pt->vsrc[i] < 0 || e->delay != DELAY_STRATUM)
			continue;
		if (stratum[g->nodes[e->dst].subgraph] <= stratum[g->nodes[pt->vsrc[i]].subgraph]) {
			hf_diag(g->d, HF_ERROR, hf_tok_span(g->ast, e->dst_at),
			        "put `defer_tick()` on the cycle, so that the blocking input reads the previous tick's items",
			        "Negative edge creates a negative cycle which must be broken with a `defer_tick()` operator.");
			rc = -1;
		}
	}
	adj_release(&succ);
	adj_release(&pred);
	free(deps);
	free(elided_order);
	free(order);
	free(seen);
	free(best);
	free(placed);
	return rc;
}

/* the members of each subgraph, in data order (a topological order of the
 * edges inside subgraphs) */
static void
collect_members(struct hf_graph *g)
{
	size_t n = g->nnodes;
	int *indeg = xcalloc(n + 1, sizeof(int)), *queue = xcalloc(n + 1, sizeof(int));
	int *pos = xcalloc(g->nsubgraphs + 1, sizeof(int));
	size_t head = 0, tail = 0;

	for (size_t i = 0; i < g->nedges; i++)
		if (!g->edges[i].handoff)
			indeg[g->edges[i].dst]++;
	for (size_t i = 0; i < n; i++)
		if (!indeg[i])
			queue[tail++] = (int)i;
	while (head < tail) {
		int v = queue[head++];

		for (int j = g->out_off[v]; j < g->out_off[v + 1]; j++) {
			const struct hf_edge *e = &g->edges[g->out_edge[j]];

			if (!e->handoff && --indeg[e->dst] == 0)
				queue[tail++] = e->dst;
		}
	}
	/* tail == n: edges inside subgraphs never form a cycle */
	for (size_t i = 0; i < g->nsubgraphs; i++)
		g->subgraphs[i].n = 0;
	for (size_t i = 0; i < n; i++)
		g->subgraphs[g->nodes[i].subgraph].n++;
	for (size_t i = 1; i < g->nsubgraphs; i++)
		g->subgraphs[i].first = g->subgraphs[i - 1].first + g->subgraphs[i - 1].n;
	g->sg_nodes = xcalloc(n + 1, sizeof(int));
	for (size_t k = 0; k < tail; k++) {
		int v = queue[k], s = g->nodes[v].subgraph;

		g->sg_nodes[g->subgraphs[s].first + pos[s]++] = v;
	}
	free(indeg);
	free(queue);
	free(pos);
}

int
hf_strata(struct hf_graph *g)
{
	size_t n = g->nnodes;
	struct part pt;
	int *sgid, *stratum, nsg = 0, rc, max = 0;
	char buf[128];

	for (size_t i = 0; i < g->nedges; i++) {
		struct hf_edge *e = &g->edges[i];
		const struct hf_node *dst = &g->nodes[e->dst];

		e->delay = dst->kind == NODE_OP && dst->op ?
		           hf_op_delay(dst->op, e->dst_port >= 0 ? hf_port_text(g, e->dst_port, buf, sizeof(buf)) : NULL) :
		           DELAY_NONE;
		e->tick = is_tick_delay(e->delay);
	}
	memset(&pt, 0, sizeof(pt));
	pt.g = g;
	pt.parent = xcalloc(n + 1, sizeof(int));
	pt.hrep = xcalloc(n + 1, sizeof(int));
	pt.vsrc = xcalloc(g->nedges + 1, sizeof(int));
	pt.elided = xcalloc(n + 1, 1);
	pt.color = xcalloc(n + 1, sizeof(int));
	pt.cross_src = xcalloc(g->nedges + g->nsedges + 1, sizeof(int));
	pt.cross_dst = xcalloc(g->nedges + g->nsedges + 1, sizeof(int));
	pt.lists = xcalloc(n + 1, sizeof(*pt.lists));
	make_subgraphs(g, &pt);

	/* number the subgraphs as hydroflow does, in the order of their
	 * representatives; one extra slot per node for external inputs moved
	 * out below */
	sgid = xcalloc(n + 1, sizeof(int));
	for (size_t i = 0; i < n; i++) {
		int r = find(pt.parent, (int)i);

		if (pt.hrep[r] == (int)i)
			sgid[r] = nsg++;
	}
	for (size_t i = 0; i < n; i++) {
		g->nodes[i].subgraph = sgid[find(pt.parent, (int)i)];
		g->nodes[i].color = pt.color[i];
	}
	stratum = xcalloc(2 * n + 1, sizeof(int));
	rc = subgraph_strata(g, &pt, nsg, stratum);
	for (int s = 0; s < nsg; s++)
		if (stratum[s] > max)
			max = stratum[s];

	/* tick edges: hydroflow routes them through a delayer subgraph in an
	 * extra stratum after the others when they do not already go backwards */
	for (size_t i = 0; i < g->nedges; i++) {
		struct hf_edge *e = &g->edges[i];

		if (e->tick)
			e->delayer = e->delay == DELAY_TICK_LAZY ||
			             stratum[g->nodes[pt.vsrc[i] >= 0 ? pt.vsrc[i] : e->src].subgraph] <=
			             stratum[g->nodes[e->dst].subgraph];
	}
	/* external inputs run in stratum 0, in a subgraph of their own */
	for (size_t i = 0; i < n; i++) {
		struct hf_node *nd = &g->nodes[i];

		if ((nd->kind == NODE_INPUT || (nd->op && (nd->op->flags & OP_EXTERNAL))) &&
		    stratum[nd->subgraph] != 0) {
			nd->subgraph = nsg;
			stratum[nsg++] = 0;
			for (int j = g->out_off[i]; j < g->out_off[i + 1]; j++)
				g->edges[g->out_edge[j]].handoff = 1;
		}
	}
	g->nsubgraphs = (size_t)nsg;
	g->subgraphs = xcalloc((size_t)nsg + 1, sizeof(*g->subgraphs));
	for (int s = 0; s < nsg; s++)
		g->subgraphs[s].stratum = stratum[s];
	for (size_t i = 0; i < n; i++)
		g->nodes[i].stratum = stratum[g->nodes[i].subgraph];
	g->nstrata = max + 1;
	collect_members(g);

	for (size_t i = 0; i <= n; i++)
		free(pt.lists[i].v);
	free(pt.lists);
	free(pt.parent);
	free(pt.hrep);
	free(pt.vsrc);
	free(pt.elided);
	free(pt.color);
	free(pt.cross_src);
	free(pt.cross_dst);
	free(sgid);
	free(stratum);
	return rc;
}
