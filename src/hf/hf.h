/*
 * hf: the Hydroflow front end, the entry points the CLI and the bindings use.
 *
 * A .hf file is parsed (parse.c), turned into a flat graph and checked
 * (graph.c) and placed in strata (strata.c) as hydroflow v0.10 would;
 * diagnostics go to stderr, rustc style.  hf_load() gives the bindings what
 * they need to wire a program: its ports, params and use lines.
 */
#ifndef HYDRO_HF_H
#define HYDRO_HF_H

#include <stddef.h>
#include <stdio.h>

#include "cli.h"
#include "buf.h"
#include "hf/diag.h"
#include "hf/graph.h"
#include "hf/parse.h"

/* a module port, `input name: Type` */
struct hf_port_info {
	char *name;
	int is_input;
	char *type;		/* the type as written */
	unsigned line;
};

/* a `param name: Type = default;` line */
struct hf_param_info {
	char *name;
	char *type;
	char *value;		/* the default, as written */
	unsigned line;
};

/* one file, parsed and checked: everything the back end needs */
struct hf_unit {
	char *path;
	struct buf src;
	struct hf_diag diag;
	struct hf_ast ast;
	struct hf_graph graph;
	int parsed, built;	/* which of ast and graph hold something */
};

struct hf_program {
	char *path;
	struct hf_port_info *ports;
	size_t nports;
	struct hf_param_info *params;
	size_t nparams;
	char **uses;		/* each `use ...;` item as written */
	size_t nuses;
	struct hf_unit *unit;	/* the tree and the graph, for the back end */
};

/* check every file, diagnostics on stderr, or as JSON lines on stdout
 * (also for a file that cannot be read); 0 when none has errors, else -1 */
int hf_check_files(const char *const *paths, size_t n, int json);
/* print the dataflow graph of a program; -1 when it does not check */
int hf_graph_file(const char *path, enum graph_format format, FILE *out);

/* load and check a program; NULL (diagnostics printed to stderr, naming the
 * file as path_display() does) on errors */
struct hf_program *hf_load(const char *path);
/* free a program from hf_load (NULL is fine) */
void hf_program_free(struct hf_program *p);

/* check the text of a file; diagnostics to out (NULL: none); -1 on errors */
int hf_unit_check(struct hf_unit *u, const char *path, const char *src, size_t len,
                  FILE *out, enum hf_style style);
/* free what a unit holds */
void hf_unit_release(struct hf_unit *u);
/* write the unit's graph, which must have checked, as Mermaid or DOT */
void hf_unit_draw(const struct hf_unit *u, enum graph_format format, FILE *out);

#endif
