/*
 * parse: the syntax tree of a .hf file.
 *
 *   use ...;                                    uses[]
 *   param name: Type = default;                 params[]
 *   module main(input a: T, output b: U) {      ports[]
 *       name = pipeline;  pipeline;             stmts[], pipes[]
 *   }
 *
 * Everything is kept as indices into arrays, tokens as indices into the
 * token array; types, defaults and operator arguments stay token ranges
 * (their text is the source between the first and the last token).  The
 * parser stops at the first syntax error, as syn does.
 */
#ifndef HYDRO_HF_PARSE_H
#define HYDRO_HF_PARSE_H

#include <stddef.h>

#include "hf/diag.h"
#include "hf/lex.h"

/* tokens first..last, inclusive; first > last when empty */
struct hf_range {
	int first, last;
};

struct hf_use {
	struct hf_range toks;	/* `use` to `;` */
};

struct hf_param_decl {
	int name;		/* token */
	struct hf_range type, value;
};

struct hf_port_decl {
	int name;		/* token */
	int is_input;
	struct hf_range type;
};

/* a [port] written next to a name or a parenthesised pipeline */
struct hf_index {
	int tok;		/* the port: a number or an identifier token */
	int used;		/* set when an edge took it */
};

/* a #name reference inside an operator's arguments */
struct hf_sref {
	int hash;		/* the # token; the name is the next one */
};

enum hf_pipe_kind { PIPE_NAME, PIPE_OP, PIPE_PAREN, PIPE_CHAIN };

struct hf_pipe {
	enum hf_pipe_kind kind;
	int tok;		/* NAME: the name; OP: the operator name; PAREN: the ( */
	int inn, out;		/* NAME, PAREN: hf_index ids or -1 */
	int inner;		/* PAREN: the pipe inside */
	int first, n;		/* CHAIN: elements are chain[first..first+n) */
	/* OP only */
	int generics;		/* the < of ::<...>, or -1 */
	int nargs, arg0;	/* arguments are args[arg0..arg0+nargs) */
	int sref0, nsref;	/* #refs are srefs[sref0..sref0+nsref) */
	int close;		/* the closing ) of the argument list */
};

struct hf_stmt {
	int name;		/* token of `name =`, or -1 */
	int pipe;
	int first, last;	/* tokens of the whole statement, `;` excluded */
};

struct hf_ast {
	const char *src;
	struct hf_toks toks;
	struct hf_use *uses;
	size_t nuses, capuses;
	struct hf_param_decl *params;
	size_t nparams, capparams;
	struct hf_port_decl *ports;
	size_t nports, capports;
	int module;		/* the `main` token */
	struct hf_stmt *stmts;
	size_t nstmts, capstmts;
	struct hf_pipe *pipes;
	size_t npipes, cappipes;
	int *chain;
	size_t nchain, capchain;
	struct hf_range *args;
	size_t nargs, capargs;
	struct hf_index *idx;
	size_t nidx, capidx;
	struct hf_sref *srefs;
	size_t nsrefs, capsrefs;
};

/* lex and parse src into ast; -1 with a diagnostic on the first error */
int hf_parse(struct hf_ast *ast, const char *src, size_t len, struct hf_diag *d);
/* free everything the tree holds */
void hf_ast_release(struct hf_ast *ast);
/* the span of one token */
struct hf_span hf_tok_span(const struct hf_ast *ast, int tok);
/* the span from token a to token b, cut at the end of a's line by the printer */
struct hf_span hf_range_span(const struct hf_ast *ast, int a, int b);
/* a new string: the source text of a token range ("" when empty) */
char *hf_range_text(const struct hf_ast *ast, struct hf_range r);
/* a new string: the text of one token */
char *hf_tok_text(const struct hf_ast *ast, int tok);
/* whether tokens a and b have the same text */
int hf_tok_same(const struct hf_ast *ast, int a, int b);

#endif
