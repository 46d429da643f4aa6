/*
 * graph: the flat dataflow graph of a .hf program, and its checks.
 *
 * hf_graph_build() walks the syntax tree as hydroflow's flat graph builder
 * does: every operator call becomes a node, every module port a source or
 * sink node, every `->` a link between two ends; names are resolved after
 * all statements are read, so they may be used before they are assigned.
 * Then the checks run (operators, ports, degrees, generics, references).
 * hf_strata() (strata.h) then places the nodes in strata and ticks, and
 * hf_graph_check_late() makes the checks hydroflow makes only as it writes
 * the code; hf.c runs the passes in that order.
 *
 * The result is kept for the back end: nodes with their operator and
 * arguments, edges with their port on each side and their delay, a stratum
 * per node.
 */
#ifndef HYDRO_HF_GRAPH_H
#define HYDRO_HF_GRAPH_H

#include <stddef.h>

#include "hf/diag.h"
#include "hf/ops.h"
#include "hf/parse.h"

enum hf_node_kind {
	NODE_OP,	/* an operator call */
	NODE_INPUT,	/* a module input port: a source */
	NODE_OUTPUT,	/* a module output port: a sink */
};

struct hf_node {
	enum hf_node_kind kind;
	const struct hf_op *op;	/* NULL: unknown operator, or a port */
	int pipe;		/* NODE_OP: the operator's pipe */
	int port;		/* NODE_INPUT/OUTPUT: index into ast->ports */
	int tok;		/* the name token */
	int nin, nout;		/* degrees */
	int stratum;		/* of its subgraph */
	int subgraph;
	int color;		/* enum hf_color */
	int lifetimes[2];	/* tokens of the persistence lifetimes, -1 */
	int nlifetimes, ntypes;
};

/* pull or push, as hydroflow colours operators inside a subgraph */
enum hf_color { COLOR_NONE, COLOR_PULL, COLOR_PUSH, COLOR_COMP };

/* operators fused into one loop: pulled up to a pivot, pushed after it */
struct hf_subgraph {
	int stratum;
	int first, n;		/* members: sg_nodes[first..first+n), in data order */
};

/* one side of an edge: the [port] (a token, or -1 when elided) */
struct hf_edge {
	int src, dst;		/* nodes */
	int src_port, dst_port;	/* tokens, or -1 */
	int src_at, dst_at;	/* tokens to point at in a diagnostic */
	enum hf_delay delay;	/* of the destination input */
	int tick;		/* crosses into the next tick */
	int handoff;		/* joins two subgraphs (a buffer between them) */
	int delayer;		/* a tick edge hydroflow routes through its extra stratum */
};

/* a #name read: node ref's state is read by node user */
struct hf_sedge {
	int ref, user;
	int at;			/* the # token */
};

struct hf_graph {
	struct hf_ast *ast;
	struct hf_diag *d;
	struct hf_node *nodes;
	size_t nnodes, capnodes;
	struct hf_edge *edges;
	size_t nedges, capedges;
	struct hf_sedge *sedges;
	size_t nsedges, capsedges;
	int *port_node;		/* ast port i -> its node */
	int nstrata;		/* strata 0..nstrata-1 (the tick stratum excluded) */
	struct hf_subgraph *subgraphs;
	size_t nsubgraphs;
	int *sg_nodes;
	/* adjacency, built once the edges are known: edges of node i are
	 * out_edge[out_off[i]..out_off[i+1]) and in_edge[...] */
	int *out_off, *out_edge, *in_off, *in_edge;
};

/* build the graph of a parsed file and check it; -1 when an error was reported */
int hf_graph_build(struct hf_graph *g, struct hf_ast *ast, struct hf_diag *d);
/* the checks of a graph placed in strata that hydroflow makes only as it
 * writes the code (operator rules, degenerate pipelines); -1 on errors */
int hf_graph_check_late(struct hf_graph *g);
/* free the graph (not the tree) */
void hf_graph_release(struct hf_graph *g);
/* the text of a port token, "" for -1, into buf */
const char *hf_port_text(const struct hf_graph *g, int tok, char *buf, size_t size);

#endif
