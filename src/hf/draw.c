/*
 * draw: a checked program's dataflow graph as Mermaid or Graphviz DOT:
 * strata as clusters, hydroflow's subgraphs inside them, pull operators
 * blue and push ones yellow as in hydroflow's own Mermaid output.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "hf/hf.h"

/* the label of a node: the operator call with its white space collapsed */
static void
node_label(const struct hf_unit *u, int i, struct buf *out)
{
	const struct hf_graph *g = &u->graph;
	const struct hf_node *n = &g->nodes[i];
	const struct hf_ast *a = &u->ast;
	const char *s;
	size_t from, to;
	int space = 0;

	if (n->kind != NODE_OP) {
		const struct hf_port_decl *pd = &a->ports[n->port];
		const struct hf_tok *t = &a->toks.v[pd->name];

		buf_printf(out, "%s %.*s: ", pd->is_input ? "input" : "output", (int)t->len, a->src + t->off);
		from = a->toks.v[pd->type.first].off;
		to = a->toks.v[pd->type.last].off + a->toks.v[pd->type.last].len;
	} else {
		const struct hf_tok *close = &a->toks.v[a->pipes[n->pipe].close];

		from = a->toks.v[n->tok].off;
		to = close->off + close->len;
	}
	s = a->src;
	for (size_t k = from; k < to; k++) {
		if (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r') {
			space = 1;
			continue;
		}
		if (space && out->len)
			buf_addch(out, ' ');
		space = 0;
		buf_addch(out, s[k]);
	}
}

static void
escape_mermaid(const char *s, FILE *out)
{
	for (; *s; s++) {
		switch (*s) {
		case '"': fputs("#quot;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '#': fputs("#35;", out); break;
		default: fputc(*s, out);
		}
	}
}

static void
escape_dot(const char *s, FILE *out)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
}

static int
drawn(const struct hf_graph *g, size_t i)
{
	return g->nodes[i].nin || g->nodes[i].nout || g->nodes[i].kind == NODE_OP;
}

/* "0", "pos", "0→1": the ports an edge names */
static void
edge_label(const struct hf_graph *g, const struct hf_edge *e, char *out, size_t size)
{
	char a[64], b[64];
	const char *s = hf_port_text(g, e->src_port, a, sizeof(a));
	const char *t = hf_port_text(g, e->dst_port, b, sizeof(b));

	if (*s && *t)
		snprintf(out, size, "%s→%s", s, t);
	else
		snprintf(out, size, "%s%s", s, t);
	if (e->tick)
		snprintf(out + strlen(out), size - strlen(out), "%stick", *s || *t ? " " : "");
}

/* hydroflow's shapes: pull operators lean one way, push ones the other */
static const char *
shape_open(const struct hf_node *n)
{
	return n->color == COLOR_PULL ? "[\\" : n->color == COLOR_PUSH ? "[/" : "[";
}

static const char *
shape_close(const struct hf_node *n)
{
	return n->color == COLOR_PULL ? "/]" : n->color == COLOR_PUSH ? "\\]" : "]";
}

static const char *
node_class(const struct hf_node *n)
{
	return n->color == COLOR_PULL ? "pullClass" : n->color == COLOR_PUSH ? "pushClass" : "otherClass";
}

static void
draw_mermaid(const struct hf_unit *u, FILE *out)
{
	const struct hf_graph *g = &u->graph;
	struct buf label = BUF_INIT;
	char el[160];

	fputs("%%{init:{'theme':'base','themeVariables':{'clusterBkg':'#ddd','clusterBorder':'#888'}}}%%\n"
	      "flowchart TD\n"
	      "classDef pullClass fill:#8af,stroke:#000,text-align:left,white-space:pre\n"
	      "classDef pushClass fill:#ff8,stroke:#000,text-align:left,white-space:pre\n"
	      "classDef otherClass fill:#fdc,stroke:#000,text-align:left,white-space:pre\n"
	      "linkStyle default stroke:#aaa\n", out);
	for (int s = 0; s < g->nstrata; s++) {
		fprintf(out, "subgraph stratum_%d [\"stratum %d\"]\n", s, s);
		for (size_t k = 0; k < g->nsubgraphs; k++) {
			const struct hf_subgraph *sg = &g->subgraphs[k];

			if (sg->stratum != s || !drawn(g, (size_t)g->sg_nodes[sg->first]))
				continue;
			fprintf(out, "    subgraph sg_%zu [\"sg_%zu\"]\n", k + 1, k + 1);
			for (int m = 0; m < sg->n; m++) {
				int i = g->sg_nodes[sg->first + m];
				const struct hf_node *n = &g->nodes[i];

				buf_reset(&label);
				node_label(u, i, &label);
				fprintf(out, "        n%d%s\"(n%d) <code>", i + 1, shape_open(n), i + 1);
				escape_mermaid(buf_str(&label), out);
				fprintf(out, "</code>\"%s:::%s\n", shape_close(n), node_class(n));
			}
			fputs("    end\n", out);
		}
		fputs("end\n", out);
	}
	for (size_t i = 0; i < g->nedges; i++) {
		const struct hf_edge *e = &g->edges[i];
		const char *arrow = e->tick ? "-.->" : e->delay == DELAY_STRATUM ? "--x" : "-->";

		edge_label(g, e, el, sizeof(el));
		if (*el) {
			fprintf(out, "n%d%s|\"", e->src + 1, arrow);
			escape_mermaid(el, out);
			fprintf(out, "\"|n%d\n", e->dst + 1);
		} else {
			fprintf(out, "n%d%sn%d\n", e->src + 1, arrow, e->dst + 1);
		}
	}
	for (size_t i = 0; i < g->nsedges; i++)
		fprintf(out, "n%d--x|\"#35;ref\"|n%d\n", g->sedges[i].ref + 1, g->sedges[i].user + 1);
	buf_release(&label);
}

static void
draw_dot(const struct hf_unit *u, FILE *out)
{
	const struct hf_graph *g = &u->graph;
	struct buf label = BUF_INIT;
	char el[160];

	fputs("digraph hydroflow {\n"
	      "    node [fontname=\"monospace\", style=filled];\n"
	      "    edge [fontname=\"monospace\"];\n", out);
	for (int s = 0; s < g->nstrata; s++) {
		fprintf(out, "    subgraph cluster_stratum_%d {\n        label=\"stratum %d\";\n", s, s);
		for (size_t k = 0; k < g->nsubgraphs; k++) {
			const struct hf_subgraph *sg = &g->subgraphs[k];

			if (sg->stratum != s || !drawn(g, (size_t)g->sg_nodes[sg->first]))
				continue;
			fprintf(out, "        subgraph cluster_sg_%zu {\n            label=\"sg_%zu\";\n", k + 1, k + 1);
			for (int m = 0; m < sg->n; m++) {
				int i = g->sg_nodes[sg->first + m];
				const struct hf_node *n = &g->nodes[i];

				buf_reset(&label);
				node_label(u, i, &label);
				fprintf(out, "            n%d [label=\"(n%d) ", i + 1, i + 1);
				escape_dot(buf_str(&label), out);
				fprintf(out, "\", shape=%s, fillcolor=\"%s\"];\n",
				        n->kind != NODE_OP ? "ellipse" : n->color == COLOR_PULL ? "invhouse" :
				        n->color == COLOR_PUSH ? "house" : "box",
				        n->color == COLOR_PULL ? "#88aaff" : n->color == COLOR_PUSH ? "#ffff88" : "#ffddcc");
			}
			fputs("        }\n", out);
		}
		fputs("    }\n", out);
	}
	for (size_t i = 0; i < g->nedges; i++) {
		const struct hf_edge *e = &g->edges[i];

		edge_label(g, e, el, sizeof(el));
		fprintf(out, "    n%d -> n%d [label=\"", e->src + 1, e->dst + 1);
		escape_dot(el, out);
		fprintf(out, "\"%s];\n", e->tick ? ", style=dashed" :
		        e->delay == DELAY_STRATUM ? ", arrowhead=box" : "");
	}
	for (size_t i = 0; i < g->nsedges; i++)
		fprintf(out, "    n%d -> n%d [label=\"#ref\", style=dotted, arrowhead=box];\n",
		        g->sedges[i].ref + 1, g->sedges[i].user + 1);
	fputs("}\n", out);
	buf_release(&label);
}

void
hf_unit_draw(const struct hf_unit *u, enum graph_format format, FILE *out)
{
	if (format == FORMAT_DOT)
		draw_dot(u, out);
	else
		draw_mermaid(u, out);
}
