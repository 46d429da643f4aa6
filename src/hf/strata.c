/*
 * strata: place every node of a checked graph in a stratum, as hydroflow's
 * flat_to_partitioned.rs does.
 *
 * An input that blocks (fold, sort, difference's neg, a #name read, ...)
 * must see all of the tick's items, so its operator runs in a later stratum
 * than whatever feeds it.  `defer_tick()` inputs are not dependencies within
 * the tick at all: they cut the graph into ticks.  The rest may form cycles,
 * which run to a fixpoint inside one stratum; a blocking input inside such a
 * cycle can never see "all" items, hence the error.
 *
 * The graph is condensed into strongly connected components (Tarjan's, with
 * an explicit stack), then strata are the longest path over the components
 * counting blocking edges: linear in nodes and edges.
 */
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"
#include "hf/graph.h"

/* whether an edge is part of the same tick's dependency graph */
static int
in_tick(const struct hf_edge *e)
{
	return e->delay != DELAY_TICK && e->delay != DELAY_TICK_LAZY;
}

struct frame {
	int node, next;	/* the node and its next out-edge position */
};

/* Tarjan's SCCs; comp[i] numbers components in reverse topological order */
static int
find_components(const struct hf_graph *g, const int *s_off, const int *s_list, int *comp)
{
	size_t n = g->nnodes;
	int *index = xcalloc(n + 1, sizeof(int)), *low = xcalloc(n + 1, sizeof(int));
	int *stack = xcalloc(n + 1, sizeof(int));
	char *on = xcalloc(n + 1, 1);
	struct frame *call = xcalloc(n + 1, sizeof(*call));
	int counter = 1, ncomp = 0, sp = 0;

	for (size_t root = 0; root < n; root++) {
		int depth = 0;

		if (index[root])
			continue;
		call[depth].node = (int)root;
		call[depth].next = 0;
		index[root] = low[root] = counter++;
		stack[sp++] = (int)root;
		on[root] = 1;
		while (depth >= 0) {
			int v = call[depth].node, w = -1;
			int nout = g->out_off[v + 1] - g->out_off[v];
			int nref = s_off[v + 1] - s_off[v];

			/* the next successor: out-edges within the tick, then #name readers */
			while (call[depth].next < nout + nref) {
				int k = call[depth].next++;

				if (k < nout) {
					const struct hf_edge *e = &g->edges[g->out_edge[g->out_off[v] + k]];

					if (in_tick(e)) {
						w = e->dst;
						break;
					}
				} else {
					w = s_list[s_off[v] + k - nout];
					break;
				}
			}
			if (w >= 0) {
				if (!index[w]) {
					index[w] = low[w] = counter++;
					stack[sp++] = w;
					on[w] = 1;
					depth++;
					call[depth].node = w;
					call[depth].next = 0;
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
			if (depth >= 0 && low[v] < low[call[depth].node])
				low[call[depth].node] = low[v];
		}
	}
	free(index);
	free(low);
	free(stack);
	free(on);
	free(call);
	return ncomp;
}

int
hf_strata(struct hf_graph *g)
{
	size_t n = g->nnodes;
	int *comp = xcalloc(n + 1, sizeof(int)), *cstratum, *s_off, *s_list, *u_off, *u_list, *fill;
	int ncomp, *order, rc = 0, max = 0;
	char buf[128];

	for (size_t i = 0; i < g->nedges; i++) {
		struct hf_edge *e = &g->edges[i];
		const struct hf_node *dst = &g->nodes[e->dst];

		e->delay = dst->kind == NODE_OP && dst->op ?
		           hf_op_delay(dst->op, e->dst_port >= 0 ? hf_port_text(g, e->dst_port, buf, sizeof(buf)) : NULL) :
		           DELAY_NONE;
		e->tick = !in_tick(e);
	}
	/* #name reads as edges from the state's owner to the reader */
	s_off = xcalloc(n + 1, sizeof(int));
	s_list = xcalloc(g->nsedges + 1, sizeof(int));
	fill = xcalloc(n + 1, sizeof(int));
	for (size_t i = 0; i < g->nsedges; i++)
		s_off[g->sedges[i].ref + 1]++;
	for (size_t i = 0; i < n; i++)
		s_off[i + 1] += s_off[i];
	for (size_t i = 0; i < g->nsedges; i++) {
		int r = g->sedges[i].ref;

		s_list[s_off[r] + fill[r]++] = g->sedges[i].user;
	}
	/* and the same by reader */
	u_off = xcalloc(n + 1, sizeof(int));
	u_list = xcalloc(g->nsedges + 1, sizeof(int));
	memset(fill, 0, (n + 1) * sizeof(int));
	for (size_t i = 0; i < g->nsedges; i++)
		u_off[g->sedges[i].user + 1]++;
	for (size_t i = 0; i < n; i++)
		u_off[i + 1] += u_off[i];
	for (size_t i = 0; i < g->nsedges; i++) {
		int u = g->sedges[i].user;

		u_list[u_off[u] + fill[u]++] = (int)i;
	}
	free(fill);

	ncomp = find_components(g, s_off, s_list, comp);
	/* the nodes by component, sources first */
	order = xcalloc(n + 1, sizeof(int));
	{
		int *start = xcalloc((size_t)ncomp + 1, sizeof(int)), *pos;

		for (size_t i = 0; i < n; i++)
			start[ncomp - 1 - comp[i] + 1]++;
		for (int c = 0; c < ncomp; c++)
			start[c + 1] += start[c];
		pos = xcalloc((size_t)ncomp + 1, sizeof(int));
		for (size_t i = 0; i < n; i++) {
			int c = ncomp - 1 - comp[i];

			order[start[c] + pos[c]++] = (int)i;
		}
		free(start);
		free(pos);
	}
	cstratum = xcalloc((size_t)ncomp + 1, sizeof(int));
	for (size_t k = 0; k < n; k++) {
		int v = order[k], c = comp[v], st = cstratum[c];

		for (int j = g->in_off[v]; j < g->in_off[v + 1]; j++) {
			const struct hf_edge *e = &g->edges[g->in_edge[j]];
			int barrier = e->delay == DELAY_STRATUM;

			if (!in_tick(e))
				continue;
			if (comp[e->src] == c) {
				if (barrier) {
					hf_diag(g->d, HF_ERROR, hf_tok_span(g->ast, e->dst_at),
					        "put `defer_tick()` on the cycle, so that the blocking input reads the previous tick",
					        "Negative edge creates a negative cycle which must be broken with a `defer_tick()` operator.");
					rc = -1;
				}
				continue;
			}
			if (cstratum[comp[e->src]] + barrier > st)
				st = cstratum[comp[e->src]] + barrier;
		}
		/* #name readers come after the state they read */
		for (int j = u_off[v]; j < u_off[v + 1]; j++) {
			const struct hf_sedge *se = &g->sedges[u_list[j]];

			if (comp[se->ref] == c) {
				hf_diag(g->d, HF_ERROR, hf_range_span(g->ast, se->at, se->at + 1),
				        "put `defer_tick()` on the cycle, so that the reference reads the previous tick",
				        "Negative edge creates a negative cycle which must be broken with a `defer_tick()` operator.");
				rc = -1;
			} else if (cstratum[comp[se->ref]] + 1 > st) {
				st = cstratum[comp[se->ref]] + 1;
			}
		}
		cstratum[c] = st;
	}
	for (size_t i = 0; i < n; i++) {
		const struct hf_node *nd = &g->nodes[i];

		g->nodes[i].stratum = cstratum[comp[i]];
		/* external inputs are moved to stratum 0, in a subgraph of their own */
		if (nd->kind == NODE_INPUT || (nd->op && (nd->op->flags & OP_EXTERNAL)))
			g->nodes[i].stratum = 0;
		if (g->nodes[i].stratum > max)
			max = g->nodes[i].stratum;
	}
	g->nstrata = max + 1;
	free(order);
	free(cstratum);
	free(comp);
	free(s_off);
	free(s_list);
	free(u_off);
	free(u_list);
	return rc;
}
