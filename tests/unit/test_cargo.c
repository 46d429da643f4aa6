#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cargo.h"
#include "error.h"
#include "fs.h"
#include "str.h"
#include "xmalloc.h"
#include "test.h"


/* cargo's messages, shortened from a real build */
#define DEP_LIB "{\"reason\":\"compiler-artifact\",\"package_id\":\"registry+https://" \
	"github.com/rust-lang/crates.io-index#serde@1.0.152\",\"target\":{\"kind\":[\"lib\"]," \
	"\"crate_types\":[\"lib\"],\"name\":\"serde\"},\"filenames\":[\"/t/release/deps/" \
	"libserde-1.rlib\"],\"executable\":null,\"fresh\":false}\n"
#define BUILD_SCRIPT "{\"reason\":\"compiler-artifact\",\"target\":{\"kind\":[\"custom-build\"]," \
	"\"name\":\"build-script-build\"},\"executable\":null,\"fresh\":true}\n"
#define SCRIPT_RAN "{\"reason\":\"build-script-executed\",\"package_id\":\"x\",\"out_dir\":\"/t/o\"}\n"
#define BIN(name) "{\"reason\":\"compiler-artifact\",\"target\":{\"kind\":[\"bin\"]," \
	"\"crate_types\":[\"bin\"],\"name\":\"" name "\"},\"filenames\":[\"/t/release/" name \
	"\"],\"executable\":\"/t/release/" name "\",\"fresh\":false}\n"
#define EXAMPLE(name) "{\"reason\":\"compiler-artifact\",\"target\":{\"kind\":[\"example\"]," \
	"\"name\":\"" name "\"},\"executable\":\"/t/release/examples/" name "\",\"fresh\":false}\n"
#define FINISHED(ok) "{\"reason\":\"build-finished\",\"success\":" ok "}\n"

static struct cargo_spec
spec(const char *bin, const char *example)
{
	struct cargo_spec s;

	memset(&s, 0, sizeof(s));
	s.src = xstrdup("/c");
	s.bin = bin ? xstrdup(bin) : NULL;
	s.example = example ? xstrdup(example) : NULL;
	s.profile = xstrdup("release");
	s.target_dir = xstrdup("/t");
	return s;
}

/* feed text to a reader in pieces of n bytes; the executable it found */
static char *
exe_of(const struct cargo_spec *s, const char *text, size_t n, int *finished)
{
	struct cargo_msgs m;
	size_t len = strlen(text), off;
	char *exe;

	cargo_msgs_init(&m, s);
	for (off = 0; off < len; off += n)
		cargo_msgs_feed(&m, text + off, off + n > len ? len - off : n);
	exe = cargo_msgs_exe(&m);
	if (finished)
		*finished = m.finished;
	cargo_msgs_release(&m);
	return exe;
}

TEST(the_binary_is_found_among_dependencies_in_any_chunking)
{
	const char *text = DEP_LIB BUILD_SCRIPT SCRIPT_RAN BIN("relay") FINISHED("true");
	struct cargo_spec s = spec(NULL, NULL);
	size_t sizes[] = { 1, 7, 64, 4096 }, i;
	int fin = 0;

	for (i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		char *exe = exe_of(&s, text, sizes[i], &fin);

		CHECK_STR(exe, "/t/release/relay");
		CHECK_INT(fin, 1);
		free(exe);
	}
	cargo_spec_release(&s);
}

TEST(the_named_bin_or_example_is_chosen)
{
	const char *text = BIN("a") BIN("b") EXAMPLE("demo");
	struct cargo_spec s = spec("b", NULL), e = spec(NULL, "demo");
	char *exe;

	exe = exe_of(&s, text, 4096, NULL);
	CHECK_STR(exe, "/t/release/b");
	free(exe);
	exe = exe_of(&e, text, 4096, NULL);
	CHECK_STR(exe, "/t/release/examples/demo");
	free(exe);
	cargo_spec_release(&s);
	cargo_spec_release(&e);
}

TEST(no_binary_or_several_unnamed_are_errors)
{
	struct cargo_spec s = spec(NULL, NULL), b = spec("missing", NULL);
	char *exe;

	error_set_reporter(test_keep_last, NULL);
	exe = exe_of(&s, DEP_LIB FINISHED("true"), 4096, NULL);
	CHECK(!exe);
	CHECK(strstr(test_last(), "cargo built no binary") != NULL);
	exe = exe_of(&s, BIN("a") BIN("b"), 4096, NULL);
	CHECK(!exe);
	CHECK(strstr(test_last(), "several binaries ('a', 'b'); choose one with 'bin'") != NULL);
	exe = exe_of(&b, BIN("a"), 4096, NULL);
	CHECK(!exe);
	CHECK(strstr(test_last(), "no binary named 'missing'") != NULL);
	error_set_reporter(NULL, NULL);
	cargo_spec_release(&s);
	cargo_spec_release(&b);
}

TEST(other_lines_and_a_failed_build_are_read_through)
{
	/* a build script's stray line, broken JSON, a last line without its
	 * newline, and the same binary reported twice (fresh, then rebuilt) */
	const char *text = "warning: something\n{\"reason\":\n" BIN("x") "not json\n"
	                   FINISHED("false") "{\"reason\":\"compiler-artifact\",\"target\":"
	                   "{\"kind\":[\"bin\"],\"name\":\"x\"},\"executable\":\"/t/x2\"}";
	struct cargo_spec s = spec(NULL, NULL);
	int fin = 0;
	char *exe = exe_of(&s, text, 3, &fin);

	CHECK_STR(exe, "/t/x2");
	CHECK_INT(fin, -1);
	free(exe);
	cargo_spec_release(&s);
}

TEST(the_command_line_follows_the_spec)
{
	struct cargo_spec s = spec(NULL, "demo");
	struct buf line = BUF_INIT;
	char **argv;
	size_t i;

	s.features = xcalloc(3, sizeof(*s.features));
	s.features[0] = xstrdup("a");
	s.features[1] = xstrdup("b");
	s.nfeatures = 2;
	s.offline = 1;
	s.registry = xstrdup("/usr/share/cargo/registry");
	unsetenv("CARGO");
	argv = cargo_build_argv(&s);
	for (i = 0; argv[i]; i++)
		buf_printf(&line, "%s%s", i ? " " : "", argv[i]);
	CHECK_STR(buf_str(&line), "cargo build --profile release --example demo --features a,b "
	          "--target-dir /t --message-format=json-render-diagnostics --offline "
	          "--config source.crates-io.replace-with=\"hydro-offline\" "
	          "--config source.hydro-offline.directory=\"/usr/share/cargo/registry\"");
	str_free_list(argv);
	buf_release(&line);
	cargo_spec_release(&s);
}

TEST(settings_come_from_the_environment)
{
	struct cargo_spec s = spec("x", NULL);

	unsetenv("CARGO_TARGET_DIR");
	unsetenv("HYDRO_CARGO_OFFLINE");
	unsetenv("HYDRO_CARGO_REGISTRY");
	cargo_spec_env(&s, "/d/.hydro/target");
	CHECK_STR(s.target_dir, "/d/.hydro/target");
	CHECK_INT(s.offline, 0);
	CHECK(!s.registry);
	setenv("CARGO_TARGET_DIR", "/shared", 1);
	setenv("HYDRO_CARGO_OFFLINE", "1", 1);
	cargo_spec_env(&s, "/d/.hydro/target");
	CHECK_STR(s.target_dir, "/shared");
	CHECK_INT(s.offline, 1);
	CHECK_STR(s.registry, CARGO_DEBIAN_REGISTRY);
	setenv("HYDRO_CARGO_REGISTRY", "", 1);
	cargo_spec_env(&s, "/d/.hydro/target");
	CHECK(!s.registry);
	setenv("HYDRO_CARGO_OFFLINE", "0", 1);
	cargo_spec_env(&s, "/d/.hydro/target");
	CHECK_INT(s.offline, 0);
	unsetenv("CARGO_TARGET_DIR");
	unsetenv("HYDRO_CARGO_OFFLINE");
	unsetenv("HYDRO_CARGO_REGISTRY");
	cargo_spec_release(&s);
}

TEST(source_files_are_the_ones_a_build_reads)
{
	char tmpl[] = "/tmp/hydro-test-cargo.XXXXXX", **files = NULL, *p;
	const char *dir = mkdtemp(tmpl);
	const char *want[] = { "Cargo.toml", "build.rs", "examples/e.rs", "src/a/b.rs",
	                       "src/main.rs" };
	const char *mk[] = { "Cargo.toml", "build.rs", "README.md", "src/main.rs", "src/a/b.rs",
	                     "src/.main.rs.swp", "examples/e.rs", "target/release/x" };
	size_t n = 0, cap = 0, i;

	REQUIRE(dir);
	for (i = 0; i < sizeof(mk) / sizeof(*mk); i++) {
		p = path_join(dir, mk[i]);
		{
			char *d = path_dirname(p);
			mkdir_p(d, 0755);
			free(d);
		}
		write_file_atomic(p, "x", 1, 0644);
		free(p);
	}
	cargo_source_files(dir, &files, &n, &cap);
	CHECK_INT(n, sizeof(want) / sizeof(*want));
	for (i = 0; i < n && i < sizeof(want) / sizeof(*want); i++) {
		p = path_join(dir, want[i]);
		CHECK_STR(files[i], p);
		free(p);
	}
	for (i = 0; i < n; i++)
		free(files[i]);
	free(files);
	remove_tree(dir);
}

int
main(void)
{
	RUN(the_binary_is_found_among_dependencies_in_any_chunking);
	RUN(the_named_bin_or_example_is_chosen);
	RUN(no_binary_or_several_unnamed_are_errors);
	RUN(other_lines_and_a_failed_build_are_read_through);
	RUN(the_command_line_follows_the_spec);
	RUN(settings_come_from_the_environment);
	RUN(source_files_are_the_ones_a_build_reads);
	return TEST_EXIT();
}
