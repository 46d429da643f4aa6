/*
 * test_hf_parse: the syntax tree, the graph and strata, and hf_load().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "hf/hf.h"

static struct hf_diag diag;
static struct hf_ast ast;

static int
parse(const char *s)
{
	hf_ast_release(&ast);
	hf_diag_init(&diag, "t.hf", s, strlen(s), NULL, HF_PLAIN);
	return hf_parse(&ast, s, strlen(s), &diag);
}

static int
text_is(struct hf_range r, const char *want)
{
	char *got = hf_range_text(&ast, r);
	int ok = !strcmp(got, want);

	if (!ok)
		fprintf(stderr, "# text is \"%s\", expected \"%s\"\n", got, want);
	free(got);
	return ok;
}

static int
tok_is(int t, const char *want)
{
	char *got = hf_tok_text(&ast, t);
	int ok = !strcmp(got, want);

	free(got);
	return ok;
}

TEST(file_shape)
{
	REQUIRE(parse("use a::b;\nuse c::{d, e};\nparam n: Vec<(u8, u8)> = vec![(1, 2)];\n"
	              "module main(input i: (T, SocketAddr), output o: HashMap<K, V>,) {\n"
	              "  use std::x;\n  i -> o;\n}\n") == 0);
	CHECK_INT(ast.nuses, 3);
	CHECK(text_is(ast.uses[1].toks, "use c::{d, e};"));
	CHECK_INT(ast.nparams, 1);
	CHECK(tok_is(ast.params[0].name, "n"));
	CHECK(text_is(ast.params[0].type, "Vec<(u8, u8)>"));
	CHECK(text_is(ast.params[0].value, "vec![(1, 2)]"));
	CHECK_INT(ast.nports, 2);
	CHECK(ast.ports[0].is_input);
	CHECK(!ast.ports[1].is_input);
	CHECK(text_is(ast.ports[0].type, "(T, SocketAddr)"));
	CHECK(text_is(ast.ports[1].type, "HashMap<K, V>"));
	CHECK_INT(ast.nstmts, 1);
}

TEST(pipelines)
{
	const struct hf_pipe *p;

	REQUIRE(parse("module main() {\n"
	              "  j = join::<'tick, 'static>() -> [0]x[1] -> (a -> b)[2];\n"
	              "  [3](p) -> q;\n}\n") == 0);
	REQUIRE(ast.nstmts == 2);
	CHECK(tok_is(ast.stmts[0].name, "j"));
	CHECK_INT(ast.stmts[1].name, -1);
	p = &ast.pipes[ast.stmts[0].pipe];
	REQUIRE(p->kind == PIPE_CHAIN);
	CHECK_INT(p->n, 3);
	p = &ast.pipes[ast.chain[p->first]];
	CHECK_INT(p->kind, PIPE_OP);
	CHECK(tok_is(p->tok, "join"));
	CHECK(p->generics >= 0);
	CHECK_INT(p->nargs, 0);
	p = &ast.pipes[ast.chain[ast.pipes[ast.stmts[0].pipe].first + 1]];
	CHECK_INT(p->kind, PIPE_NAME);
	CHECK(tok_is(ast.idx[p->inn].tok, "0"));
	CHECK(tok_is(ast.idx[p->out].tok, "1"));
	p = &ast.pipes[ast.chain[ast.pipes[ast.stmts[0].pipe].first + 2]];
	CHECK_INT(p->kind, PIPE_PAREN);
	CHECK(tok_is(ast.idx[p->out].tok, "2"));
	CHECK_INT(ast.pipes[p->inner].kind, PIPE_CHAIN);
}

TEST(operator_args)
{
	const struct hf_pipe *p;

	REQUIRE(parse("module main() {\n"
	              "  fold::<'static>(|| HashMap::<u8, u8>::new(), |m: &mut HashMap<u8, u8>, (k, v)| { m.insert(k, v); }, #s, move |a, b| a,);\n"
	              "}\n") == 0);
	p = &ast.pipes[ast.stmts[0].pipe];
	REQUIRE(p->kind == PIPE_OP);
	REQUIRE(p->nargs == 4);
	CHECK(text_is(ast.args[p->arg0], "|| HashMap::<u8, u8>::new()"));
	CHECK(text_is(ast.args[p->arg0 + 1], "|m: &mut HashMap<u8, u8>, (k, v)| { m.insert(k, v); }"));
	CHECK(text_is(ast.args[p->arg0 + 2], "#s"));
	CHECK(text_is(ast.args[p->arg0 + 3], "move |a, b| a"));
	CHECK_INT(p->nsref, 1);
	CHECK(tok_is(ast.srefs[p->sref0].hash + 1, "s"));
}

TEST(syntax_errors)
{
	static const char *const bad[] = {
		"module main() { a -> ; }",
		"module main() { a b; }",
		"module main() { a -> [1]join(); }",
		"module main() { a -> map<u8>(); }",
		"module main() { a -> map::u8(); }",
		"module main() { a -> map }",
		"module main() { a[] -> b; }",
		"module main(input x) {}",
		"module main(x: u8) {}",
		"module other() {}",
		"module main() {} extra",
		"param x = 1; module main() {}",
		"param x: u8; module main() {}",
		"use a::b",
		"",
		"module main() { map(,); }",
		NULL,
	};

	for (size_t i = 0; bad[i]; i++) {
		if (parse(bad[i]) == 0)
			fprintf(stderr, "# parsed without error: %s\n", bad[i]);
		CHECK_INT(diag.nerr, 1);
	}
}

static struct hf_unit unit;
static struct hf_graph *const g = &unit.graph;

/* check a program quietly as hydro check does, its graph in g; -1 on errors */
static int
graph(const char *s)
{
	hf_unit_release(&unit);
	return hf_unit_check(&unit, "t.hf", s, strlen(s), NULL, HF_PLAIN);
}

TEST(strata)
{
	int maxs = 0;

	REQUIRE(graph("module main() {\n"
	              "  d = difference() -> fold(|| 0, |a: &mut i32, x| *a += x) -> for_each(drop);\n"
	              "  source_iter(0..3) -> [pos]d;\n"
	              "  source_iter(0..1) -> defer_tick() -> [neg]d;\n}\n") == 0);
	CHECK_INT(g->nnodes, 6);
	CHECK_INT(g->nedges, 5);
	for (size_t i = 0; i < g->nnodes; i++) {
		if (!strcmp(g->nodes[i].op->name, "for_each"))
			maxs = g->nodes[i].stratum;
		if (!strcmp(g->nodes[i].op->name, "difference"))
			CHECK_INT(g->nodes[i].stratum, 1);
	}
	CHECK_INT(maxs, 2);
	CHECK_INT(g->nstrata, 3);
	for (size_t i = 0; i < g->nedges; i++)
		if (!strcmp(g->nodes[g->edges[i].dst].op->name, "defer_tick"))
			CHECK(g->edges[i].tick);

	/* a blocking edge in a cycle */
	CHECK(graph("module main() { u = union() -> tee(); source_iter([1]) -> u; u -> sort() -> u; u -> for_each(drop); }") < 0);
	/* hydroflow's test_fold_loop: its order places the union's subgraph
	 * first, so the fold's, fed by it, runs a stratum later and the edge
	 * back is not a negative cycle */
	REQUIRE(graph("module main() {\n"
	              "  start = source_iter([1]) -> map(|x| x) -> folder;\n"
	              "  folder = union() -> fold::<'static>(|| 0, |a: &mut i32, x| *a += x) -> map(|x| x) -> tee();\n"
	              "  folder -> folder;\n"
	              "  folder -> for_each(drop);\n}\n") == 0);
	for (size_t i = 0; i < g->nnodes; i++) {
		if (!strcmp(g->nodes[i].op->name, "union"))
			CHECK_INT(g->nodes[i].stratum, 0);
		if (!strcmp(g->nodes[i].op->name, "fold") || !strcmp(g->nodes[i].op->name, "tee"))
			CHECK_INT(g->nodes[i].stratum, 1);
	}
	/* the same cycle through defer_tick */
	CHECK(graph("module main() { u = union() -> tee(); source_iter([1]) -> u; u -> sort() -> defer_tick() -> u; u -> for_each(drop); }") == 0);
}

TEST(subgraphs)
{

	/* hydroflow's reachability example: one subgraph, one handoff back */
	REQUIRE(graph("module main() {\n"
	              "  reached = union();\n"
	              "  source_iter([0]) -> [0]reached;\n"
	              "  j = join() -> flat_map(|(a, ((), b))| [a, b]) -> tee();\n"
	              "  reached -> map(|v| (v, ())) -> [0]j;\n"
	              "  source_iter([(0, 1)]) -> [1]j;\n"
	              "  j[0] -> [1]reached;\n"
	              "  j[1] -> unique() -> for_each(drop);\n}\n") == 0);
	CHECK_INT(g->nsubgraphs, 1);
	CHECK_INT(g->nstrata, 1);
	for (size_t i = 0; i < g->nedges; i++)
		CHECK_INT(g->edges[i].handoff, g->nodes[g->edges[i].src].op == hf_op_find("tee", 3) &&
		          g->nodes[g->edges[i].dst].op == hf_op_find("union", 5));

	/* a blocking input cuts the subgraph; the source moves to stratum 0 */
	REQUIRE(graph("module main() { source_interval(d) -> [input]c; source_iter(0..3) -> fold(|| 0, |a: &mut i32, x| *a += x) -> [single]c;"
	              " c = cross_singleton() -> for_each(drop); }") == 0);
	for (size_t i = 0; i < g->nnodes; i++) {
		const char *name = g->nodes[i].op->name;

		if (!strcmp(name, "source_interval") || !strcmp(name, "source_iter"))
			CHECK_INT(g->nodes[i].stratum, 0);
		else if (!strcmp(name, "fold"))
			CHECK_INT(g->nodes[i].stratum, 1);
		else
			CHECK_INT(g->nodes[i].stratum, 2);
	}
}

TEST(long_chain)
{
	/* a deep chain must not recurse in the parser or the graph */
	struct buf b = BUF_INIT;

	buf_addstr(&b, "module main() { source_iter(0..1)");
	for (int i = 0; i < 100000; i++)
		buf_addstr(&b, " -> map(|x| x)");
	buf_addstr(&b, " -> for_each(drop); }");
	CHECK(graph(buf_str(&b)) == 0);
	CHECK_INT(g->nnodes, 100002);
	buf_release(&b);
}

TEST(load)
{
	char path[] = "/tmp/hydro-test-hf-XXXXXX";
	int fd = mkstemp(path);
	const char *s = "use std::net::SocketAddr;\nparam n: u32 = 3;\n"
	                "module main(input a: (u64, SocketAddr), output b: u64) {\n  a -> map(|(x, _)| x) -> b;\n}\n";
	struct hf_program *p;

	REQUIRE(fd >= 0);
	REQUIRE(write(fd, s, strlen(s)) == (ssize_t)strlen(s));
	close(fd);
	p = hf_load(path);
	REQUIRE(p);
	CHECK_INT(p->nports, 2);
	CHECK_STR(p->ports[0].name, "a");
	CHECK(p->ports[0].is_input);
	CHECK_STR(p->ports[0].type, "(u64, SocketAddr)");
	CHECK_INT(p->ports[0].line, 3);
	CHECK_STR(p->ports[1].name, "b");
	CHECK_STR(p->ports[1].type, "u64");
	CHECK_INT(p->nparams, 1);
	CHECK_STR(p->params[0].name, "n");
	CHECK_STR(p->params[0].type, "u32");
	CHECK_STR(p->params[0].value, "3");
	CHECK_INT(p->nuses, 1);
	CHECK_STR(p->uses[0], "use std::net::SocketAddr;");
	hf_program_free(p);
	unlink(path);
	hf_program_free(NULL);
}

int
main(void)
{
	RUN(file_shape);
	RUN(pipelines);
	RUN(operator_args);
	RUN(syntax_errors);
	RUN(strata);
	RUN(subgraphs);
	RUN(long_chain);
	RUN(load);
	hf_ast_release(&ast);
	hf_unit_release(&unit);
	return TEST_EXIT();
}
