/*
 * toolchain: this machine's target needs nothing found; another target
 * takes the toolchain that has its standard library, its linker and its C
 * library, and a missing piece is named by the package to install.  The
 * pieces are fakes in a temporary folder (a rustc that prints a sysroot,
 * a cross gcc, a libc, a qemu), so the test does not depend on what this
 * machine has installed.  Lookups are remembered, so each case runs in a
 * child process of its own.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "fs.h"
#include "str.h"
#include "toolchain.h"
#include "xmalloc.h"
#include "test.h"
#include "lib_files.h"

static char *top;
/* run fn in a child; whether all its checks held */
static int
in_child(void (*fn)(void))
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		test_failed_ = 0;
		fn();
		_exit(test_failed_);
	}
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st);
}

/* the environment of a machine with everything for aarch64 (Debian's way) */
static void
env_debian(void)
{
	char *bin = path_join(top, "bin"), *deb = path_join(top, "debian");
	char *path = xasprintf("%s:/usr/bin:/bin", bin), *cross = path_join(top, "cross");
	char *rustc = path_join(top, "bin/rustc");

	setenv("PATH", path, 1);
	setenv("HYDRO_DEBIAN_RUST", deb, 1);
	setenv("HYDRO_CROSS_ROOT", cross, 1);
	setenv("RUSTC", rustc, 1);
	unsetenv("CARGO");
	free(bin);
	free(deb);
	free(path);
	free(cross);
	free(rustc);
}

static void
native(void)
{
	const struct toolchain *t;

	env_debian();
	REQUIRE(toolchain_find(toolchain_host_triple(), &t) == 0);
	CHECK(t->native);
	CHECK_STR(t->cargo, "cargo");
	CHECK(t->rustc == NULL && t->linker == NULL);
}

static void
debian_cross(void)
{
	const struct toolchain *t;
	const char *const *words;
	char *want;
	int n;

	env_debian();
	REQUIRE(toolchain_find("aarch64-unknown-linux-gnu", &t) == 0);
	CHECK(!t->native);
	want = path_join(top, "debian/cargo");
	CHECK_STR(t->cargo, want);
	free(want);
	want = path_join(top, "debian/rustc");
	CHECK_STR(t->rustc, want);
	free(want);
	CHECK(str_ends(t->linker, "/bin/aarch64-linux-gnu-gcc"));
	REQUIRE(toolchain_runner("aarch64-unknown-linux-gnu", &words, &n) == 0);
	CHECK_INT(n, 3);
	CHECK_STR(words[0], "qemu-aarch64");
	CHECK_STR(words[1], "-L");
	CHECK(str_ends(words[2], "/cross/aarch64-linux-gnu"));
	REQUIRE(toolchain_runner(toolchain_host_triple(), &words, &n) == 0);
	CHECK_INT(n, 0);
}

/* rustup's way: the std is in the rustc on PATH; no Debian toolchain */
static void
path_cross(void)
{
	const struct toolchain *t;
	char *r = path_join(top, "bin/rustc-with-arm");

	env_debian();
	setenv("RUSTC", r, 1);
	setenv("HYDRO_DEBIAN_RUST", "/nonexistent", 1);
	REQUIRE(toolchain_find("aarch64-unknown-linux-gnu", &t) == 0);
	CHECK_STR(t->cargo, "cargo");
	CHECK(t->rustc == NULL);
	free(r);
}

static void
nothing_installed(void)
{
	const struct toolchain *t;
	const char *const *words;
	int n;

	env_debian();
	setenv("HYDRO_DEBIAN_RUST", "/nonexistent", 1);
	setenv("HYDRO_CROSS_ROOT", "/nonexistent", 1);
	setenv("PATH", "/nonexistent", 1);
	error_set_reporter(test_keep_last, NULL);
	CHECK(toolchain_find("aarch64-unknown-linux-gnu", &t) < 0);
	CHECK(strstr(test_last(), "cannot build for 'aarch64-unknown-linux-gnu': "
	             "this machine lacks its Rust standard library, its linker "
	             "'aarch64-linux-gnu-gcc', its C library; install with: "
	             "dpkg --add-architecture arm64 && apt-get update && apt-get install "
	             "rustc-web cargo-web libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu "
	             "libc6-dev-arm64-cross") != NULL);
	CHECK(strstr(test_last(), "contrib/install-deps.sh --cross=arm64") != NULL);
	CHECK(toolchain_runner("aarch64-unknown-linux-gnu", &words, &n) < 0);
	CHECK(strstr(test_last(), "apt-get install qemu-user libc6-arm64-cross") != NULL);
	/* the linker alone is missing */
	env_debian();
	setenv("PATH", "/usr/bin:/bin", 1);
	CHECK(toolchain_find("armv7-unknown-linux-gnueabihf", &t) < 0);
	CHECK(strstr(test_last(), "lacks its Rust standard library, its linker "
	             "'arm-linux-gnueabihf-gcc', its C library") != NULL);
	CHECK(strstr(test_last(), "libstd-rust-web-dev:armhf gcc-arm-linux-gnueabihf") != NULL);
	error_set_reporter(NULL, NULL);
}

static void
unknown(void)
{
	const struct toolchain *t;

	error_set_reporter(test_keep_last, NULL);
	CHECK(toolchain_find("x86_64-unknown-linux-musl", &t) < 0);
	error_set_reporter(NULL, NULL);
	CHECK(strstr(test_last(), "target 'x86_64-unknown-linux-musl' is not supported "
	             "(did you mean 'x86_64-unknown-linux-gnu'?)") != NULL);
	CHECK(strstr(test_last(), "aarch64-unknown-linux-gnu") != NULL);
	CHECK(!toolchain_known("x86_64-unknown-linux-musl"));
	CHECK(toolchain_known("aarch64-unknown-linux-gnu"));
}

TEST(native_needs_nothing) { CHECK(in_child(native)); }
TEST(cross_with_debians_toolchain) { CHECK(in_child(debian_cross)); }
TEST(cross_with_the_rustc_on_path) { CHECK(in_child(path_cross)); }
TEST(missing_pieces_are_named) { CHECK(in_child(nothing_installed)); }
TEST(unknown_target) { CHECK(in_child(unknown)); }

int
main(void)
{
	char *s;

	if (!(top = test_tmpdir("toolchain")))
		return 1;
	/* Debian's toolchain: its rustc's sysroot has the aarch64 std */
	s = xasprintf("#!/bin/sh\necho %s/debian-sysroot\n", top);
	test_put(top, "debian/rustc", s, 0755);
	free(s);
	test_put(top, "debian/cargo", "#!/bin/sh\nexit 0\n", 0755);
	test_put(top, "debian-sysroot/lib/rustlib/aarch64-unknown-linux-gnu/lib/libstd.rlib", "", 0644);
	/* PATH's rustc has only this machine's std; another one has aarch64's */
	s = xasprintf("#!/bin/sh\necho %s/path-sysroot\n", top);
	test_put(top, "bin/rustc", s, 0755);
	free(s);
	s = xasprintf("#!/bin/sh\necho %s/debian-sysroot\n", top);
	test_put(top, "bin/rustc-with-arm", s, 0755);
	free(s);
	test_put(top, "path-sysroot/lib/rustlib/x86_64-unknown-linux-gnu/lib/libstd.rlib", "", 0644);
	test_put(top, "bin/aarch64-linux-gnu-gcc", "#!/bin/sh\nexit 0\n", 0755);
	test_put(top, "bin/qemu-aarch64", "#!/bin/sh\nexit 0\n", 0755);
	test_put(top, "cross/aarch64-linux-gnu/lib/libc.so.6", "", 0644);
	RUN(native_needs_nothing);
	RUN(cross_with_debians_toolchain);
	RUN(cross_with_the_rustc_on_path);
	RUN(missing_pieces_are_named);
	RUN(unknown_target);
	remove_tree(top);
	free(top);
	return TEST_EXIT();
}
