/*
 * lex: Rust tokens, as far as a .hf file needs them.
 */
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"
#include "hf/diag.h"
#include "hf/lex.h"

struct lexer {
	const char *s;
	size_t len, pos;
	unsigned line, col;
	struct hf_diag *d;
};

static int
is_ident_start(unsigned char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static int
is_ident_char(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int
peek(const struct lexer *lx, size_t ahead)
{
	return lx->pos + ahead < lx->len ? (unsigned char)lx->s[lx->pos + ahead] : -1;
}

/* move one byte on, keeping line and column (columns count characters) */
static void
advance(struct lexer *lx)
{
	unsigned char c = (unsigned char)lx->s[lx->pos++];

	if (c == '\n') {
		lx->line++;
		lx->col = 1;
	} else if ((c & 0xc0) != 0x80) {
		lx->col++;
	}
}

static void
advance_n(struct lexer *lx, size_t n)
{
	while (n-- && lx->pos < lx->len)
		advance(lx);
}

static struct hf_span
here(const struct lexer *lx, size_t len)
{
	struct hf_span sp = { (unsigned)lx->pos, (unsigned)len, lx->line, lx->col };
	return sp;
}

static int
lex_error(struct lexer *lx, struct hf_span sp, const char *help, const char *msg)
{
	hf_diag(lx->d, HF_ERROR, sp, help, "%s", msg);
	return -1;
}

/* skip white space and comments; -1 on an unterminated block comment */
static int
skip_space(struct lexer *lx)
{
	for (;;) {
		int c = peek(lx, 0);

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			advance(lx);
		} else if (c == '/' && peek(lx, 1) == '/') {
			while (lx->pos < lx->len && lx->s[lx->pos] != '\n')
				advance(lx);
		} else if (c == '/' && peek(lx, 1) == '*') {
			struct hf_span start = here(lx, 2);
			size_t depth = 0;

			do {
				if (peek(lx, 0) == '/' && peek(lx, 1) == '*') {
					depth++;
					advance_n(lx, 2);
				} else if (peek(lx, 0) == '*' && peek(lx, 1) == '/') {
					depth--;
					advance_n(lx, 2);
				} else if (lx->pos < lx->len) {
					advance(lx);
				} else {
					return lex_error(lx, start, "close it with `*/`",
					                 "unterminated block comment");
				}
			} while (depth);
		} else {
			return 0;
		}
	}
}

/* a quoted literal body after the opening quote; -1 if unterminated */
static int
lex_quoted(struct lexer *lx, int quote, struct hf_span start)
{
	while (lx->pos < lx->len) {
		int c = peek(lx, 0);

		if (c == '\\' && lx->pos + 1 < lx->len) {
			advance_n(lx, 2);
		} else if (c == quote) {
			advance(lx);
			return 0;
		} else {
			advance(lx);
		}
	}
	return lex_error(lx, start, "add the closing quote",
	                 quote == '"' ? "unterminated double quote string" :
	                 "unterminated character literal");
}

/* r"..", r#".."#: at the 'r'; -1 if unterminated */
static int
lex_raw(struct lexer *lx, struct hf_span start)
{
	size_t hashes = 0;

	advance(lx);	/* r */
	while (peek(lx, 0) == '#') {
		hashes++;
		advance(lx);
	}
	if (peek(lx, 0) != '"')
		return lex_error(lx, here(lx, 1), "a raw string is `r\"...\"` or `r#\"...\"#`",
		                 "found invalid character; only `#` is allowed in raw string delimitation");
	advance(lx);
	while (lx->pos < lx->len) {
		if (lx->s[lx->pos] == '"') {
			size_t k = 0;

			advance(lx);
			while (k < hashes && peek(lx, 0) == '#') {
				k++;
				advance(lx);
			}
			if (k == hashes)
				return 0;
		} else {
			advance(lx);
		}
	}
	return lex_error(lx, start, "close it with `\"` and as many `#` as it opened with",
	                 "unterminated raw string");
}

/* after a ': a char literal or a lifetime */
static int
lex_quote(struct lexer *lx, struct hf_tok *t)
{
	struct hf_span start = here(lx, 1);
	size_t n;

	advance(lx);	/* ' */
	if (peek(lx, 0) == '\\') {
		t->kind = TOK_CHAR;
		return lex_quoted(lx, '\'', start);
	}
	if (lx->pos >= lx->len)
		return lex_error(lx, start, "add the closing quote", "unterminated character literal");
	/* one character, UTF-8 encoded */
	n = 1;
	while (lx->pos + n < lx->len && ((unsigned char)lx->s[lx->pos + n] & 0xc0) == 0x80)
		n++;
	if (peek(lx, n) == '\'') {
		t->kind = TOK_CHAR;
		advance_n(lx, n + 1);
		return 0;
	}
	if (is_ident_start((unsigned char)lx->s[lx->pos])) {
		t->kind = TOK_LIFETIME;
		while (lx->pos < lx->len && is_ident_char((unsigned char)lx->s[lx->pos]))
			advance(lx);
		return 0;
	}
	return lex_error(lx, start, "a char literal is one character: `'a'`",
	                 "unterminated character literal");
}

static void
lex_number(struct lexer *lx)
{
	int hex = peek(lx, 0) == '0' && (peek(lx, 1) == 'x' || peek(lx, 1) == 'X');

	while (lx->pos < lx->len) {
		int c = peek(lx, 0);

		if (is_ident_char((unsigned char)c)) {
			advance(lx);
			/* 1e-3: a sign right after the exponent */
			if (!hex && (c == 'e' || c == 'E') && (peek(lx, 0) == '-' || peek(lx, 0) == '+') &&
			    peek(lx, 1) >= '0' && peek(lx, 1) <= '9')
				advance(lx);
		} else if (c == '.' && peek(lx, 1) >= '0' && peek(lx, 1) <= '9' && !hex) {
			advance(lx);	/* 1.5, but not 0..10 nor x.0.1 after an ident */
		} else {
			break;
		}
	}
}

static const char *const multi_punct[] = { "..=", "...", "->", "=>", "::", "..", NULL };

static int
lex_one(struct lexer *lx, struct hf_tok *t)
{
	int c = peek(lx, 0), c1 = peek(lx, 1);
	struct hf_span start = here(lx, 1);

	if (c == 'r' && (c1 == '"' || (c1 == '#' && (peek(lx, 2) == '"' || peek(lx, 2) == '#')))) {
		t->kind = TOK_STRING;
		return lex_raw(lx, start);
	}
	if (c == 'r' && c1 == '#' && is_ident_start((unsigned char)peek(lx, 2))) {
		advance_n(lx, 2);	/* r#ident */
		c = 'r';
	}
	if ((c == 'b' || c == 'c') && c1 == 'r' && (peek(lx, 2) == '"' || peek(lx, 2) == '#')) {
		advance(lx);
		t->kind = TOK_STRING;
		return lex_raw(lx, start);
	}
	if ((c == 'b' || c == 'c') && c1 == '"') {
		advance_n(lx, 2);
		t->kind = TOK_STRING;
		return lex_quoted(lx, '"', start);
	}
	if (c == 'b' && c1 == '\'') {
		advance_n(lx, 2);
		t->kind = TOK_CHAR;
		return lex_quoted(lx, '\'', start);
	}
	if (is_ident_start((unsigned char)c)) {
		t->kind = TOK_IDENT;
		while (lx->pos < lx->len && is_ident_char((unsigned char)lx->s[lx->pos]))
			advance(lx);
		return 0;
	}
	if (c >= '0' && c <= '9') {
		t->kind = TOK_NUMBER;
		lex_number(lx);
		return 0;
	}
	if (c == '"') {
		advance(lx);
		t->kind = TOK_STRING;
		return lex_quoted(lx, '"', start);
	}
	if (c == '\'')
		return lex_quote(lx, t);
	t->kind = TOK_PUNCT;
	for (const char *const *p = multi_punct; *p; p++) {
		size_t n = strlen(*p);

		if (lx->pos + n <= lx->len && !memcmp(lx->s + lx->pos, *p, n)) {
			advance_n(lx, n);
			return 0;
		}
	}
	if (c < 0x20 || c == 0x7f || c == '\\' || c == '`' || c == '$')
		return lex_error(lx, start, "remove it", "unknown start of token");
	advance(lx);
	return 0;
}

static int
closer(int open)
{
	return open == '(' ? ')' : open == '[' ? ']' : '}';
}

static struct hf_span
tok_span(const struct hf_tok *t)
{
	struct hf_span sp = { t->off, 1, t->line, t->col };

	return sp;
}

/*
 * A closing delimiter that does not close the innermost open one: as rustc
 * decides, it is "mismatched" when it closes one further out (the innermost
 * one was left unclosed: show it too), else "unexpected".
 */
static void
bad_closer(struct lexer *lx, const struct hf_toks *out, const size_t *stack, size_t n,
           const struct hf_tok *t, int c)
{
	struct hf_extra x = { 0 };
	size_t k = n;

	while (k > 0 && closer(lx->s[out->v[stack[k - 1]].off]) != c)
		k--;
	if (!k) {
		x.label = "unexpected closing delimiter";
		x.help = "remove it, or open it earlier";
		hf_diag_extra(lx->d, HF_ERROR, tok_span(t), &x, "unexpected closing delimiter: `%c`", c);
		return;
	}
	x.label = "mismatched closing delimiter";
	x.note = "unclosed delimiter";
	x.note_at = tok_span(&out->v[stack[n - 1]]);
	x.help = "close the brackets in the order they were opened";
	hf_diag_extra(lx->d, HF_ERROR, tok_span(t), &x, "mismatched closing delimiter: `%c`", c);
}

/* pair every delimiter with its closing one */
static int
match_delims(struct lexer *lx, struct hf_toks *out)
{
	size_t *stack = NULL, n = 0, cap = 0;
	int rc = 0;

	for (size_t i = 0; i < out->n; i++) {
		struct hf_tok *t = &out->v[i];
		int c;

		if (t->kind != TOK_PUNCT || t->len != 1)
			continue;
		c = lx->s[t->off];
		if (c == '(' || c == '[' || c == '{') {
			ALLOC_GROW(stack, n, cap);
			stack[n++] = i;
		} else if (c == ')' || c == ']' || c == '}') {
			if (!n || closer(lx->s[out->v[stack[n - 1]].off]) != c) {
				bad_closer(lx, out, stack, n, t, c);
				rc = -1;
				break;
			}
			out->v[stack[--n]].match = (int)i;
		}
	}
	if (!rc && n) {
		hf_diag(lx->d, HF_ERROR, tok_span(&out->v[stack[n - 1]]), "close it before the end of the file",
		        "this file contains an unclosed delimiter");
		rc = -1;
	}
	free(stack);
	return rc;
}

int
hf_lex(const char *src, size_t len, struct hf_toks *out, struct hf_diag *d)
{
	struct lexer lx = { src, len, 0, 1, 1, d };

	/* a UTF-8 byte order mark is not part of the program */
	if (len >= 3 && !memcmp(src, "\xef\xbb\xbf", 3))
		lx.pos = 3;
	/* a #! line at the very top, as rustc allows */
	if (len - lx.pos >= 2 && src[lx.pos] == '#' && src[lx.pos + 1] == '!' &&
	    (len - lx.pos < 3 || src[lx.pos + 2] != '['))
		while (lx.pos < len && src[lx.pos] != '\n')
			advance(&lx);
	for (;;) {
		struct hf_tok t;

		if (skip_space(&lx) < 0)
			return -1;
		memset(&t, 0, sizeof(t));
		t.off = (unsigned)lx.pos;
		t.line = lx.line;
		t.col = lx.col;
		t.match = -1;
		if (lx.pos >= len) {
			t.kind = TOK_EOF;
			ALLOC_GROW(out->v, out->n, out->cap);
			out->v[out->n++] = t;
			break;
		}
		if (lex_one(&lx, &t) < 0)
			return -1;
		t.len = (unsigned)(lx.pos - t.off);
		ALLOC_GROW(out->v, out->n, out->cap);
		out->v[out->n++] = t;
	}
	return match_delims(&lx, out);
}

void
hf_toks_release(struct hf_toks *t)
{
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

int
hf_tok_is(const char *src, const struct hf_tok *t, const char *p)
{
	size_t n = strlen(p);

	return t->kind == TOK_PUNCT && t->len == n && !memcmp(src + t->off, p, n);
}

int
hf_tok_word(const char *src, const struct hf_tok *t, const char *word)
{
	size_t n = strlen(word);

	return t->kind == TOK_IDENT && t->len == n && !memcmp(src + t->off, word, n);
}

const char *
hf_tok_kind_name(enum hf_tok_kind kind)
{
	switch (kind) {
	case TOK_EOF: return "end of file";
	case TOK_IDENT: return "identifier";
	case TOK_LIFETIME: return "lifetime";
	case TOK_NUMBER: return "number";
	case TOK_STRING: return "string literal";
	case TOK_CHAR: return "char literal";
	case TOK_PUNCT: return "punctuation";
	}
	return "token";
}
