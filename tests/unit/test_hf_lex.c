/*
 * test_hf_lex: every token kind, positions, and lexical errors.
 */
#include <string.h>

#include "test.h"
#include "hf/diag.h"
#include "hf/lex.h"

static struct hf_toks toks;
static struct hf_diag diag;

/* lex s quietly; the result stays in toks */
static int
lex(const char *s)
{
	hf_toks_release(&toks);
	hf_diag_init(&diag, "t.hf", s, strlen(s), NULL, HF_PLAIN);
	return hf_lex(s, strlen(s), &toks, &diag);
}

static int
is_tok(const char *s, size_t i, enum hf_tok_kind kind, const char *text)
{
	const struct hf_tok *t;

	if (i >= toks.n)
		return 0;
	t = &toks.v[i];
	return t->kind == kind && t->len == strlen(text) && !memcmp(s + t->off, text, t->len);
}

TEST(idents_and_keywords)
{
	const char *s = "map r#type _x9 use \xc3\xa9t\xc3\xa9";

	REQUIRE(lex(s) == 0);
	CHECK_INT(toks.n, 6);
	CHECK(is_tok(s, 0, TOK_IDENT, "map"));
	CHECK(is_tok(s, 1, TOK_IDENT, "r#type"));
	CHECK(is_tok(s, 2, TOK_IDENT, "_x9"));
	CHECK(is_tok(s, 3, TOK_IDENT, "use"));
	CHECK(is_tok(s, 4, TOK_IDENT, "\xc3\xa9t\xc3\xa9"));
	CHECK_INT(toks.v[5].kind, TOK_EOF);
}

TEST(numbers)
{
	const char *s = "0..10 1.5e-3 0x1f_u8 10_usize x.0.1 1..=2";

	REQUIRE(lex(s) == 0);
	CHECK(is_tok(s, 0, TOK_NUMBER, "0"));
	CHECK(is_tok(s, 1, TOK_PUNCT, ".."));
	CHECK(is_tok(s, 2, TOK_NUMBER, "10"));
	CHECK(is_tok(s, 3, TOK_NUMBER, "1.5e-3"));
	CHECK(is_tok(s, 4, TOK_NUMBER, "0x1f_u8"));
	CHECK(is_tok(s, 5, TOK_NUMBER, "10_usize"));
	CHECK(is_tok(s, 6, TOK_IDENT, "x"));
	CHECK(is_tok(s, 7, TOK_PUNCT, "."));
	CHECK(is_tok(s, 8, TOK_NUMBER, "0.1"));
	CHECK(is_tok(s, 9, TOK_NUMBER, "1"));
	CHECK(is_tok(s, 10, TOK_PUNCT, "..="));
	CHECK(is_tok(s, 11, TOK_NUMBER, "2"));
}

TEST(strings)
{
	const char *s = "\"a \\\" b\" r\"x\\\" r#\"q \"x\" \"#  b\"by\" br#\"r\"# c\"c\" \"multi\nline\"";

	REQUIRE(lex(s) == 0);
	CHECK(is_tok(s, 0, TOK_STRING, "\"a \\\" b\""));
	CHECK(is_tok(s, 1, TOK_STRING, "r\"x\\\""));
	CHECK(is_tok(s, 2, TOK_STRING, "r#\"q \"x\" \"#"));
	CHECK(is_tok(s, 3, TOK_STRING, "b\"by\""));
	CHECK(is_tok(s, 4, TOK_STRING, "br#\"r\"#"));
	CHECK(is_tok(s, 5, TOK_STRING, "c\"c\""));
	CHECK(is_tok(s, 6, TOK_STRING, "\"multi\nline\""));
	CHECK_INT(toks.v[7].kind, TOK_EOF);
	CHECK_INT(toks.v[7].line, 2);
}

TEST(chars_and_lifetimes)
{
	const char *s = "'tick 'a' '\\n' '\\'' b'x' '\\u{1F600}' '\xc3\xa9' 'static>";

	REQUIRE(lex(s) == 0);
	CHECK(is_tok(s, 0, TOK_LIFETIME, "'tick"));
	CHECK(is_tok(s, 1, TOK_CHAR, "'a'"));
	CHECK(is_tok(s, 2, TOK_CHAR, "'\\n'"));
	CHECK(is_tok(s, 3, TOK_CHAR, "'\\''"));
	CHECK(is_tok(s, 4, TOK_CHAR, "b'x'"));
	CHECK(is_tok(s, 5, TOK_CHAR, "'\\u{1F600}'"));
	CHECK(is_tok(s, 6, TOK_CHAR, "'\xc3\xa9'"));
	CHECK(is_tok(s, 7, TOK_LIFETIME, "'static"));
	CHECK(is_tok(s, 8, TOK_PUNCT, ">"));
}

TEST(punctuation)
{
	const char *s = "a -> b::<Vec<Vec<u8>>>() => x..y ...";

	REQUIRE(lex(s) == 0);
	CHECK(is_tok(s, 1, TOK_PUNCT, "->"));
	CHECK(is_tok(s, 3, TOK_PUNCT, "::"));
	CHECK(is_tok(s, 4, TOK_PUNCT, "<"));
	/* `>>>` is three tokens, so generic lists close one by one */
	CHECK(is_tok(s, 10, TOK_PUNCT, ">"));
	CHECK(is_tok(s, 11, TOK_PUNCT, ">"));
	CHECK(is_tok(s, 12, TOK_PUNCT, ">"));
	CHECK(is_tok(s, 15, TOK_PUNCT, "=>"));
	CHECK(is_tok(s, 17, TOK_PUNCT, ".."));
	CHECK(is_tok(s, 19, TOK_PUNCT, "..."));
}

TEST(comments)
{
	const char *s = "a // line\n/* block /* nested */ still */ b /// doc\nc";

	REQUIRE(lex(s) == 0);
	CHECK_INT(toks.n, 4);
	CHECK(is_tok(s, 0, TOK_IDENT, "a"));
	CHECK(is_tok(s, 1, TOK_IDENT, "b"));
	CHECK(is_tok(s, 2, TOK_IDENT, "c"));
	CHECK_INT(toks.v[2].line, 3);
}

TEST(positions)
{
	const char *s = "ab\n  \xc3\xa9 x\n\tz";

	REQUIRE(lex(s) == 0);
	CHECK_INT(toks.v[0].line, 1);
	CHECK_INT(toks.v[0].col, 1);
	CHECK_INT(toks.v[1].line, 2);
	CHECK_INT(toks.v[1].col, 3);
	/* columns count characters, not bytes */
	CHECK_INT(toks.v[2].col, 5);
	CHECK_INT(toks.v[3].line, 3);
	CHECK_INT(toks.v[3].col, 2);
	CHECK_INT(toks.v[3].off, (unsigned)(strchr(s, 'z') - s));
}

TEST(delimiters_match)
{
	const char *s = "f(a, [b], {c})";

	REQUIRE(lex(s) == 0);
	CHECK_INT(toks.v[1].match, 11);
	CHECK_INT(toks.v[4].match, 6);
	CHECK_INT(toks.v[8].match, 10);
	CHECK_INT(toks.v[0].match, -1);
}

TEST(errors)
{
	static const char *const bad[] = {
		"\"open", "r#\"open\"", "/* open /* */", "'", "'a b'", "f(]", ")", "(", "a ` b",
		"r#x\"", "b'", NULL,
	};

	for (size_t i = 0; bad[i]; i++) {
		if (lex(bad[i]) == 0)
			fprintf(stderr, "# lexed without error: %s\n", bad[i]);
		CHECK(diag.nerr == 1);
	}
	CHECK(lex("") == 0);
	CHECK_INT(toks.n, 1);
	CHECK(lex("#!/usr/bin/env hydro\nx") == 0);
	CHECK(is_tok("#!/usr/bin/env hydro\nx", 0, TOK_IDENT, "x"));
}

int
main(void)
{
	RUN(idents_and_keywords);
	RUN(numbers);
	RUN(strings);
	RUN(chars_and_lifetimes);
	RUN(punctuation);
	RUN(comments);
	RUN(positions);
	RUN(delimiters_match);
	RUN(errors);
	hf_toks_release(&toks);
	return TEST_EXIT();
}
