/*
 * lex: Rust tokens, as far as a .hf file needs them.
 *
 * The lexer turns a whole file into an array of tokens that point into the
 * source text (offset and length, line and column).  It knows enough of Rust
 * to carry operator arguments through untouched: string literals of every
 * kind, chars versus lifetimes, nested block comments, numbers.  Punctuation
 * is one character per token except `->`, `=>`, `::`, `..`, `..=`, `...`, so
 * that `>>` in `Vec<Vec<u8>>` closes two generic lists.  Delimiters are
 * matched here: each opening token knows its closing one.
 */
#ifndef HYDRO_HF_LEX_H
#define HYDRO_HF_LEX_H

#include <stddef.h>

struct hf_diag;

enum hf_tok_kind {
	TOK_EOF,
	TOK_IDENT,	/* foo, r#type, keywords too */
	TOK_LIFETIME,	/* 'tick */
	TOK_NUMBER,	/* 10, 0x1f, 1.5e3, 10_usize */
	TOK_STRING,	/* "..", r#".."#, b"..", br"..", c".." */
	TOK_CHAR,	/* 'a', '\n', b'a' */
	TOK_PUNCT,	/* everything else, delimiters included */
};

struct hf_tok {
	enum hf_tok_kind kind;
	unsigned off, len;	/* bytes into the source */
	unsigned line, col;	/* 1-based; col counts characters */
	int match;		/* for ( [ {: the index of the closing token; -1 */
};

struct hf_toks {
	struct hf_tok *v;
	size_t n, cap;
};

/* tokenize src (len bytes); -1 with a diagnostic on the first lexical error */
int hf_lex(const char *src, size_t len, struct hf_toks *out, struct hf_diag *d);
/* free the token array */
void hf_toks_release(struct hf_toks *t);
/* whether token t is the punctuation p (one of the strings above) */
int hf_tok_is(const char *src, const struct hf_tok *t, const char *p);
/* whether token t is the identifier (or keyword) word */
int hf_tok_word(const char *src, const struct hf_tok *t, const char *word);
/* a printable name for a kind ("identifier", "string literal", ...) */
const char *hf_tok_kind_name(enum hf_tok_kind kind);

#endif
