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

static void
unite(struct part *pt, int a, int b)
{
	struct ilist *big, *small;
	int ra = find(pt->parent, a), rb = find(pt->parent, b);

	if (ra == rb)
		return;
	if (pt->lists[ra].n < pt->lists[rb].n) {
		int t = ra;

		ra = rb;
		rb = t;
	}
	pt->parent[rb] = ra;
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
		heap_push(&now, (int)i);
		queued[i] = 1;
	}
	while (now.n) {
		while (now.n) {
			int id = heap_pop(&now);
			struct hf_edge *e = &g->edges[id];
			int rs = find(pt->parent, e->src), rd = find(pt->parent, e->dst);
			int cs = pt->color[e->src], cd = pt->color[e->dst];

			queued[id] = 0;
			if (rs == rd || blocked(pt, rs, rd))
				continue;
			if (cs == COLOR_NONE && cd == COLOR_NONE) {
				ilist_add(&pending[e->src], id);
				ilist_add(&pending[e->dst], id);
				continue;
			}
			if (!can_connect(pt->color, e->src, e->dst))
				continue;
			unite(pt, e->src, e->dst);
			e->handoff = 0;
			/* the end that just got a colour wakes its waiting edges */
			for (int k = 0; k < 2; k++) {
				int v = k ? e->dst : e->src;
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

static void
make_subgraphs(struct hf_graph *g, struct part *pt)
{
	size_t n = g->nnodes;

	for (size_t i = 0; i < n; i++) {
		int in = g->in_off[i + 1] - g->in_off[i], out = g->out_off[i + 1] - g->out_off[i];

		pt->parent[i] = (int)i;
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
	for (size_t i = 0; i < g->nedges; i++) {
		if (g->edges[i].delay == DELAY_NONE)
			continue;
		pt->cross_src[pt->ncross] = g->edges[i].src;
		pt->cross_dst[pt->ncross] = g->edges[i].dst;
		ilist_add(&pt->lists[g->edges[i].src], (int)pt->ncross);
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
}

/* Tarjan's SCCs over n vertices (successors adj[off[v]..off[v+1])); components
 * are numbered in reverse topological order; returns their count */
static int
components(int n, const int *off, const int *adj, int *comp)
{
	int *index = xcalloc((size_t)n + 1, sizeof(int)), *low = xcalloc((size_t)n + 1, sizeof(int));
	int *stack = xcalloc((size_t)n + 1, sizeof(int)), *cv = xcalloc((size_t)n + 1, sizeof(int));
	int *ci = xcalloc((size_t)n + 1, sizeof(int));
	char *on = xcalloc((size_t)n + 1, 1);
	int counter = 1, ncomp = 0, sp = 0;

	for (int root = 0; root < n; root++) {
		int depth = 0;

		if (index[root])
			continue;
		cv[0] = root;
		ci[0] = off[root];
		index[root] = low[root] = counter++;
		stack[sp++] = root;
		on[root] = 1;
		while (depth >= 0) {
			int v = cv[depth];

			if (ci[depth] < off[v + 1]) {
				int w = adj[ci[depth]++];

				if (!index[w]) {
					index[w] = low[w] = counter++;
					stack[sp++] = w;
					on[w] = 1;
					depth++;
					cv[depth] = w;
					ci[depth] = off[w];
				} else if (on[w] && index[w] < low[v]) {
					low[v] = index[w];
				}
				continue;
			}
			if (low[v] == index[v]) {
				int x;

				do {
					x = stack[--sp];
					on[x] = 0;
					comp[x] = ncomp;
				} while (x != v);
				ncomp++;
			}
			depth--;
			if (depth >= 0 && low[v] < low[cv[depth]])
				low[cv[depth]] = low[v];
		}
	}
	free(index);
	free(low);
	free(stack);
	free(cv);
	free(ci);
	free(on);
	return ncomp;
}

/* a dependency between subgraphs within a tick */
struct dep {
	int from, to;
	int barrier;		/* a blocking input: a later stratum */
	struct hf_span at;	/* where to point when it closes a cycle */
};

static int
cmp_dep_from(const void *a, const void *b)
{
	const struct dep *x = a, *y = b;

	return x->from != y->from ? (x->from < y->from ? -1 : 1) : (x->to < y->to ? -1 : x->to > y->to);
}

/* strata of the subgraphs; -1 on a negative cycle */
static int
subgraph_strata(struct hf_graph *g, int nsg, int *stratum)
{
	struct dep *deps = xcalloc(g->nedges + g->nsedges + 1, sizeof(*deps));
	size_t ndeps = 0;
	int *off = xcalloc((size_t)nsg + 2, sizeof(int)), *adj, *comp, *order, *start;
	int ncomp, rc = 0;

	for (size_t i = 0; i < g->nedges; i++) {
		const struct hf_edge *e = &g->edges[i];

		if (!e->handoff || is_tick_delay(e->delay))
			continue;
		deps[ndeps].from = g->nodes[e->src].subgraph;
		deps[ndeps].to = g->nodes[e->dst].subgraph;
		deps[ndeps].barrier = e->delay == DELAY_STRATUM;
		deps[ndeps].at = hf_tok_span(g->ast, e->dst_at);
		ndeps++;
	}
	for (size_t i = 0; i < g->nsedges; i++) {
		deps[ndeps].from = g->nodes[g->sedges[i].ref].subgraph;
		deps[ndeps].to = g->nodes[g->sedges[i].user].subgraph;
		deps[ndeps].barrier = 1;
		deps[ndeps].at = hf_range_span(g->ast, g->sedges[i].at, g->sedges[i].at + 1);
		ndeps++;
	}
	qsort(deps, ndeps, sizeof(*deps), cmp_dep_from);
	adj = xcalloc(ndeps + 1, sizeof(int));
	for (size_t i = 0; i < ndeps; i++) {
		off[deps[i].from + 1]++;
		adj[i] = deps[i].to;
	}
	for (int s = 0; s < nsg; s++)
		off[s + 1] += off[s];
	comp = xcalloc((size_t)nsg + 1, sizeof(int));
	ncomp = components(nsg, off, adj, comp);

	/* components sources first; each takes the strata of its predecessors */
	order = xcalloc((size_t)nsg + 1, sizeof(int));
	start = xcalloc((size_t)ncomp + 2, sizeof(int));
	for (int s = 0; s < nsg; s++)
		start[ncomp - comp[s]]++;
	for (int c = 0; c < ncomp; c++)
		start[c + 1] += start[c];
	for (int s = 0; s < nsg; s++)
		order[start[ncomp - 1 - comp[s]]++] = s;
	memset(stratum, 0, (size_t)nsg * sizeof(int));
	/* component by component, sources first: a component shares one
	 * stratum, the highest its predecessors gave any member */
	for (int first = 0, last; first < nsg; first = last) {
		int hi = 0, c = comp[order[first]];

		for (last = first; last < nsg && comp[order[last]] == c; last++)
			if (stratum[order[last]] > hi)
				hi = stratum[order[last]];
		for (int m = first; m < last; m++)
			stratum[order[m]] = hi;
		for (int m = first; m < last; m++) {
			for (int j = off[order[m]]; j < off[order[m] + 1]; j++) {
				const struct dep *dp = &deps[j];

				if (comp[dp->to] == c) {
					if (dp->barrier) {
						hf_diag(g->d, HF_ERROR, dp->at,
						        "put `defer_tick()` on the cycle, so that the blocking input reads the previous tick's items",
						        "Negative edge creates a negative cycle which must be broken with a `defer_tick()` operator.");
						rc = -1;
					}
					continue;
				}
				if (hi + dp->barrier > stratum[dp->to])
					stratum[dp->to] = hi + dp->barrier;
			}
		}
	}
	free(deps);
	free(off);
	free(adj);
	free(comp);
	free(order);
	free(start);
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
	pt.color = xcalloc(n + 1, sizeof(int));
	pt.cross_src = xcalloc(g->nedges + g->nsedges + 1, sizeof(int));
	pt.cross_dst = xcalloc(g->nedges + g->nsedges + 1, sizeof(int));
	pt.lists = xcalloc(n + 1, sizeof(*pt.lists));
	make_subgraphs(g, &pt);

	/* number the subgraphs in the order of their first node; one extra
	 * slot per node for external inputs moved out below */
	sgid = xcalloc(n + 1, sizeof(int));
	for (size_t i = 0; i < n; i++)
		sgid[i] = -1;
	for (size_t i = 0; i < n; i++) {
		int r = find(pt.parent, (int)i);

		if (sgid[r] < 0)
			sgid[r] = nsg++;
		g->nodes[i].subgraph = sgid[r];
		g->nodes[i].color = pt.color[i];
	}
	stratum = xcalloc(2 * n + 1, sizeof(int));
	rc = subgraph_strata(g, nsg, stratum);
	for (int s = 0; s < nsg; s++)
		if (stratum[s] > max)
			max = stratum[s];

	/* tick edges: hydroflow routes them through a delayer subgraph in an
	 * extra stratum after the others when they do not already go backwards */
	for (size_t i = 0; i < g->nedges; i++) {
		struct hf_edge *e = &g->edges[i];

		if (e->tick)
			e->delayer = e->delay == DELAY_TICK_LAZY ||
			             stratum[g->nodes[e->src].subgraph] <= stratum[g->nodes[e->dst].subgraph];
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
	free(pt.color);
	free(pt.cross_src);
	free(pt.cross_dst);
	free(sgid);
	free(stratum);
	return rc;
}
