/*
 * test_hf_emit: the crate of a .hf program: main.rs keeps the file's lines,
 * port types, crate resolution, fresh names.
 *
 * `test_hf_emit emit FILE.hf DIR [CONFIG_DIR]` writes the crate of FILE.hf
 * into DIR and exits (tests/integration/hf_emit.sh builds and runs it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "fs.h"
#include "str.h"
#include "xmalloc.h"
#include "hf/emit.h"
#include "hf/hf.h"
#include "hf/ptype.h"
#include "hf/rustc.h"

static char *tmp;

static struct hf_program *
load(const char *name, const char *text)
{
	char *path = path_join(tmp, name), *dir = path_dirname(path);
	struct hf_program *p;

	mkdir_p(dir, 0755);
	write_file_atomic(path, text, strlen(text), 0644);
	p = hf_load(path);
	free(path);
	free(dir);
	return p;
}

/* line n (1-based) of text, a new string */
static char *
line_of(const char *text, int n)
{
	const char *s = text, *e;

	while (--n > 0 && (s = strchr(s, '\n')))
		s++;
	if (!s)
		return xstrdup("");
	e = strchr(s, '\n');
	return e ? xstrndup(s, (size_t)(e - s)) : xstrdup(s);
}

static const char *echo =
	"// the echo server\n"
	"use data_types::EchoMsg; // a crate beside the config\n"
	"use std::net::SocketAddr;\n"
	"param greeting: String = String::from(\"hi\");\n"
	"\n"
	"module main(\n"
	"    input inbound: (EchoMsg, SocketAddr),\n"
	"    output outbound: (EchoMsg, SocketAddr),\n"
	"    output log: String\n"
	") {\n"
	"    inbound_chan = inbound -> tee();\n"
	"    inbound_chan[0] -> map(|(m, _a): (EchoMsg, SocketAddr)| format!(\"{} {:?}\", greeting, m)) -> log;\n"
	"    inbound_chan[1] -> outbound;\n"
	"}\n";

TEST(lines_kept)
{
	struct hf_program *p;
	struct buf o = BUF_INIT;
	char *l;

	REQUIRE((p = load("a/src/echo.hf", echo)) != NULL);
	hf_emit_main(p, &o);
	/* use lines and body lines at their own line and column */
	for (int n = 2; n <= 3; n++) {
		char *want = line_of(echo, n);

		l = line_of(buf_str(&o), n);
		CHECK_STR(l, want);
		free(l);
		free(want);
	}
	for (int n = 11; n <= 13; n++) {
		char *want = line_of(echo, n);

		l = line_of(buf_str(&o), n);
		CHECK_STR(l, want);
		free(l);
		free(want);
	}
	/* the param line stays, empty; the prologue fills the header */
	l = line_of(buf_str(&o), 4);
	CHECK(strspn(l, " ") == strlen(l));
	free(l);
	l = line_of(buf_str(&o), 6);
	CHECK_STR(l, "fn main() {");
	free(l);
	CHECK(strstr(buf_str(&o), "let greeting: String = __hydro_program.param::<String>("
	                          "\"greeting\", \"String\").unwrap_or_else(|| "
	                          "String::from(\"hi\"));") != NULL);
	CHECK(strstr(buf_str(&o), "__hydro_ports.input_addr::<EchoMsg>(\"inbound\", "
	                          "\"(EchoMsg, SocketAddr)\")") != NULL);
	CHECK(strstr(buf_str(&o), "__hydro_ports.output::<String>(\"log\")") != NULL);
	CHECK(strstr(buf_str(&o), "run(&[(\"inbound\", true)], &[(\"outbound\", true), "
	                          "(\"log\", false)]") != NULL);
	l = line_of(buf_str(&o), 10);
	CHECK(str_ends(l, "::hydroflow::hydroflow_syntax! {"));
	free(l);
	CHECK(strstr(buf_str(&o), "\ninbound = source_stream(__hydro_port_inbound) -> flatten();\n") != NULL);
	CHECK(strstr(buf_str(&o), "\nlog = for_each(|__hydro_msg| __hydro_port_log.send(__hydro_msg));\n") != NULL);
	buf_release(&o);
	hf_program_free(p);
}

TEST(fresh_names)
{
	struct hf_program *p;
	struct buf o = BUF_INIT;

	/* the file's own identifiers begin with __hydro: the prefix moves on */
	REQUIRE((p = load("fresh.hf",
	                  "module main(output __hydro_port_out: u32) {\n"
	                  "    source_iter([__hydro_program_x]) -> __hydro_port_out;\n"
	                  "}\n")) != NULL);
	hf_emit_main(p, &o);
	CHECK(strstr(buf_str(&o), "let __hydro___program =") != NULL);
	CHECK(strstr(buf_str(&o), "let mut __hydro___port___hydro_port_out =") != NULL);
	buf_release(&o);
	hf_program_free(p);
}

TEST(unused_port)
{
	struct hf_program *p;
	struct buf o = BUF_INIT;

	REQUIRE((p = load("unused.hf",
	                  "module main(input a: u32, output b: u32) {\n"
	                  "    source_iter([1]) -> b;\n"
	                  "}\n")) != NULL);
	hf_emit_main(p, &o);
	/* still wired in the handshake, not in the flow */
	CHECK(strstr(buf_str(&o), "(\"a\", false)") != NULL);
	CHECK(strstr(buf_str(&o), "a = source_stream") == NULL);
	CHECK(strstr(buf_str(&o), "b = for_each(|__hydro_msg| __hydro_port_b.send(__hydro_msg));") != NULL);
	buf_release(&o);
	hf_program_free(p);
}

TEST(port_split)
{
	char *t;

	CHECK(hf_port_split("(EchoMsg, SocketAddr)", &t));
	CHECK_STR(t, "EchoMsg");
	free(t);
	CHECK(hf_port_split(" ( (u32, Vec<(u8, u8)>) , std::net::SocketAddr ) ", &t));
	CHECK_STR(t, "(u32, Vec<(u8, u8)>)");
	free(t);
	CHECK(!hf_port_split("(u32, String)", &t));
	CHECK_STR(t, "(u32, String)");
	free(t);
	CHECK(!hf_port_split("(u32, SocketAddr, u8)", NULL));
	CHECK(!hf_port_split("(u32, SocketAddr)::Foo", NULL));
	CHECK(!hf_port_split("String", NULL));
	CHECK(hf_port_split("(Box<dyn Fn() -> u8>, SocketAddr)", NULL));
	CHECK(hf_port_compatible("EchoMsg", "(EchoMsg, SocketAddr)"));
	CHECK(hf_port_compatible("(data_types::EchoMsg, SocketAddr)", "EchoMsg"));
	CHECK(hf_port_compatible("Vec< u8 >", "Vec<u8>"));
	CHECK(!hf_port_compatible("String", "(EchoMsg, SocketAddr)"));
	CHECK(!hf_port_compatible("Msg", "EchoMsg"));
	CHECK(!hf_port_compatible("u32", "(u32, u32)"));
}

TEST(crates)
{
	struct hf_program *p;
	struct hf_crates c;
	char *cfg = path_join(tmp, "a"), *dt = path_join(tmp, "a/data_types/Cargo.toml");
	char *ws = path_join(tmp, "a/src/Cargo.toml");
	const char *toml = "[package]\nname = \"data_types\"\n";
	const char *wstoml = "[package]\nname = \"x\"\n[dependencies]\n"
	                     "my-dep = { path = \"../my_dep\", version = \"1\" }\n"
	                     "[dependencies.other]\nversion = \"2\"\n";

	char *dtdir = path_dirname(dt);

	mkdir_p(dtdir, 0755);
	free(dtdir);
	write_file_atomic(dt, toml, strlen(toml), 0644);
	write_file_atomic(ws, wstoml, strlen(wstoml), 0644);
	REQUIRE((p = load("a/src/echo.hf",
	                  "use data_types::EchoMsg;\nuse chrono::prelude::*;\n"
	                  "use std::net::SocketAddr;\nuse ::my_dep::X;\nuse other::{Y, Z};\n"
	                  "module main() {\n    source_iter([1]) -> for_each(drop);\n}\n")) != NULL);
	REQUIRE(hf_crates_find(p->unit, cfg, &c) == 0);
	CHECK_INT(c.n, 3);
	REQUIRE(c.n == 3);
	CHECK_STR(c.v[0].name, "data_types");
	CHECK(str_ends(c.v[0].dir, "/a/data_types"));
	CHECK_STR(c.v[1].name, "my_dep");
	CHECK(strstr(c.v[1].spec, "/a/src/../my_dep\"") != NULL);
	CHECK(strstr(c.v[1].spec, "version = \"1\"") != NULL);
	CHECK_STR(c.v[2].name, "other");
	CHECK_STR(c.v[2].spec, "{ version = \"2\" }");
	CHECK(c.v[2].dir == NULL);
	hf_crates_release(&c);
	hf_program_free(p);

	/* unknown: an error at the use line */
	REQUIRE((p = load("a/src/bad.hf",
	                  "use nosuch::Thing;\nmodule main() {\n    source_iter([1]) -> for_each(drop);\n}\n"))
	        != NULL);
	CHECK(hf_crates_find(p->unit, cfg, &c) == -1);
	hf_crates_release(&c);
	hf_program_free(p);
	free(cfg);
	free(dt);
	free(ws);
}

/* a program with crates of its own keeps the lock cargo completed, until
 * another shipped lock comes */
TEST(lock_update)
{
	struct hf_program *p;
	struct hf_crates c;
	char *cfg = path_join(tmp, "l"), *rust = path_join(tmp, "l/rust");
	char *shipped = path_join(rust, "Cargo.lock"), *out = path_join(tmp, "l/out");
	char *lock = path_join(out, "Cargo.lock"), *dt = path_join(tmp, "l/data_types/Cargo.toml");
	char *dtdir = path_dirname(dt);
	const char *v1 = "# shipped 1\n", *v2 = "# shipped 2\n";
	const char *completed = "# shipped 1\n# data_types, added by cargo\n";
	struct buf b = BUF_INIT;

	mkdir_p(dtdir, 0755);
	mkdir_p(rust, 0755);
	write_file_atomic(dt, "[package]\nname = \"data_types\"\n", 31, 0644);
	write_file_atomic(shipped, v1, strlen(v1), 0644);
	REQUIRE((p = load("l/src/p.hf", "use data_types::EchoMsg;\nmodule main() {\n"
	                  "    source_iter([1]) -> for_each(drop);\n}\n")) != NULL);
	REQUIRE(hf_crates_find(p->unit, cfg, &c) == 0);
	REQUIRE(c.n == 1);
	CHECK(hf_emit(p, &c, rust, out) == 0);
	CHECK(read_file(lock, &b) == 0);
	CHECK_STR(buf_str(&b), v1);
	/* cargo completes it; the next emit leaves it */
	write_file_atomic(lock, completed, strlen(completed), 0644);
	CHECK(hf_emit(p, &c, rust, out) == 0);
	buf_reset(&b);
	CHECK(read_file(lock, &b) == 0);
	CHECK_STR(buf_str(&b), completed);
	/* a new shipped lock replaces it */
	write_file_atomic(shipped, v2, strlen(v2), 0644);
	CHECK(hf_emit(p, &c, rust, out) == 0);
	buf_reset(&b);
	CHECK(read_file(lock, &b) == 0);
	CHECK_STR(buf_str(&b), v2);
	/* a crate written before the stamp existed takes the shipped lock too */
	write_file_atomic(lock, completed, strlen(completed), 0644);
	{
		char *stamp = path_join(out, "Cargo.lock.shipped");

		unlink(stamp);
		free(stamp);
	}
	CHECK(hf_emit(p, &c, rust, out) == 0);
	buf_reset(&b);
	CHECK(read_file(lock, &b) == 0);
	CHECK_STR(buf_str(&b), v2);
	buf_release(&b);
	hf_crates_release(&c);
	hf_program_free(p);
	free(cfg);
	free(rust);
	free(shipped);
	free(out);
	free(lock);
	free(dt);
	free(dtdir);
}

/* a compiler-message's "message" object with one primary span in main.rs */
static cJSON *
rustc_msg(const char *text, const char *label, int line, int col, const char *rendered)
{
	cJSON *m = cJSON_CreateObject(), *spans = cJSON_AddArrayToObject(m, "spans");
	cJSON *s = cJSON_CreateObject();

	cJSON_AddStringToObject(m, "level", "error");
	cJSON_AddStringToObject(m, "message", text);
	cJSON_AddStringToObject(m, "rendered", rendered);
	cJSON_AddItemToObject(cJSON_AddObjectToObject(m, "code"), "code",
	                      cJSON_CreateString("E0277"));
	cJSON_AddArrayToObject(m, "children");
	cJSON_AddStringToObject(s, "file_name", "src/main.rs");
	cJSON_AddBoolToObject(s, "is_primary", 1);
	cJSON_AddNumberToObject(s, "line_start", line);
	cJSON_AddNumberToObject(s, "column_start", col);
	cJSON_AddStringToObject(s, "label", label);
	cJSON_AddItemToArray(spans, s);
	return m;
}

TEST(rustc_spans)
{
	struct hf_program *p;
	struct buf o = BUF_INIT;
	cJSON *m;

	REQUIRE((p = load("types.hf",
	                  "// a closure type error\n"
	                  "module main(output out: u32) {\n"
	                  "    source_iter(0..3)\n"
	                  "        -> map(|x: u32| x + \"one\")\n"
	                  "        -> out;\n"
	                  "}\n")) != NULL);
	/* in the body: rustc's own rendering, on the .hf file */
	m = rustc_msg("cannot add `&str` to `u32`", "no implementation for `u32 + &str`", 4, 27,
	              "error[E0277]: cannot add `&str` to `u32`\n --> src/main.rs:4:27\n  |\n"
	              "4 |         -> map(|x: u32| x + \"one\")\n"
	              "  |                           ^ no implementation for `u32 + &str`\n");
	CHECK(hf_rustc_render(p, m, "src/main.rs", 0, &o) == 1);
	CHECK(strstr(buf_str(&o), "types.hf:4:27\n") != NULL);
	CHECK(strstr(buf_str(&o), "src/main.rs") == NULL);
	cJSON_Delete(m);
	buf_reset(&o);
	/* at the port's end of the flow (line 7): at the port's declaration */
	m = rustc_msg("type mismatch", "expected `String`, found `u32`", 7, 7, "x");
	hf_rustc_render(p, m, "src/main.rs", 0, &o);
	CHECK(strstr(buf_str(&o), "error: type mismatch [E0277]\n") != NULL);
	CHECK(strstr(buf_str(&o), "types.hf:2:20\n") != NULL);
	CHECK(strstr(buf_str(&o), "2 | module main(output out: u32) {\n") != NULL);
	CHECK(strstr(buf_str(&o), "must be of its type `u32`; rustc: expected `String`, found "
	                          "`u32`") != NULL);
	cJSON_Delete(m);
	buf_release(&o);
	hf_program_free(p);
}

int
main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "emit")) {
		struct hf_program *p = hf_load(argv[2]);
		struct hf_crates c;
		char *rust;
		int rc;

		if (!p || hf_crates_find(p->unit, argc > 4 ? argv[4] : NULL, &c) < 0 ||
		    !(rust = hf_rust_dir()))
			return 1;
		rc = hf_emit(p, &c, rust, argv[3]);
		hf_crates_release(&c);
		hf_program_free(p);
		free(rust);
		return rc < 0;
	}
	if (!(tmp = test_tmpdir("emit")))
		return 1;
	RUN(lines_kept);
	RUN(fresh_names);
	RUN(unused_port);
	RUN(port_split);
	RUN(crates);
	RUN(lock_update);
	RUN(rustc_spans);
	remove_tree(tmp);
	free(tmp);
	return TEST_EXIT();
}
