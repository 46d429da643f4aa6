/*
 * toolchain: finding the Rust toolchain, linker and emulator for a target
 * (toolchain.h says the order).  What a target needs is one row of the
 * table below; a missing piece is named by its Debian package.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cargo.h"
#include "error.h"
#include "fs.h"
#include "proc.h"
#include "str.h"
#include "toolchain.h"
#include "xmalloc.h"

/* a target hydro can build for, and the Debian pieces it takes */
struct target {
	const char *triple;
	const char *arch;	/* Debian's name of the architecture */
	const char *gnu;	/* the GNU triple: its gcc, its libc's folder */
	const char *qemu;	/* qemu-user's program for it */
	const char *loader;	/* its dynamic loader, as programs name it */
};

static const struct target targets[] = {
	{ "x86_64-unknown-linux-gnu", "amd64", "x86_64-linux-gnu", "qemu-x86_64",
	  "/lib64/ld-linux-x86-64.so.2" },
	{ "aarch64-unknown-linux-gnu", "arm64", "aarch64-linux-gnu", "qemu-aarch64",
	  "/lib/ld-linux-aarch64.so.1" },
	{ "armv7-unknown-linux-gnueabihf", "armhf", "arm-linux-gnueabihf", "qemu-arm",
	  "/lib/ld-linux-armhf.so.3" },
};
#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

/* Debian's rustc-web and cargo-web, which take libstd-rust-web-dev:ARCH */
#define DEBIAN_RUST_DIR "/usr/bin"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct toolchain found[NTARGETS];
static char *sysroots[2];	/* PATH's rustc, Debian's; "" if none */

const char *
toolchain_host_triple(void)
{
#if defined(__x86_64__)
	return "x86_64-unknown-linux-gnu";
#elif defined(__aarch64__)
	return "aarch64-unknown-linux-gnu";
#elif defined(__arm__)
	return "armv7-unknown-linux-gnueabihf";
#else
	return "unknown";
#endif
}

static const struct target *
target_find(const char *triple)
{
	size_t i;

	for (i = 0; i < NTARGETS; i++)
		if (!strcmp(targets[i].triple, triple))
			return &targets[i];
	return NULL;
}

int
toolchain_known(const char *triple)
{
	return target_find(triple) != NULL;
}

/* Debian's rust folder: $HYDRO_DEBIAN_RUST or /usr/bin */
static const char *
debian_dir(void)
{
	const char *d = getenv("HYDRO_DEBIAN_RUST");

	return d && *d ? d : DEBIAN_RUST_DIR;
}

/* the folder of the target's C library, $HYDRO_CROSS_ROOT/GNU (default
 * /usr/GNU): libc to link with, and qemu's -L (a new string) */
static char *
cross_root(const struct target *t)
{
	const char *d = getenv("HYDRO_CROSS_ROOT");

	return xasprintf("%s/%s", d && *d ? d : "/usr", t->gnu);
}

/* qemu's -L for t, a new string.  The target's own multiarch libc
 * (libc6:ARCH, which libstd-rust-web-dev:ARCH brings) comes first when it
 * is installed: its loader in /lib and its libc in /lib/GNU are one
 * version, whereas the cross libc's loader would find the multiarch
 * libc.so.6 first, of another build, and threads hang in it. */
static char *
run_root(const struct target *t)
{
	char *libc;
	int multiarch;

	if (getenv("HYDRO_CROSS_ROOT") && *getenv("HYDRO_CROSS_ROOT"))
		return cross_root(t);
	libc = xasprintf("/lib/%s/libc.so.6", t->gnu);
	multiarch = path_exists(libc) && path_exists(t->loader);
	free(libc);
	return multiarch ? xstrdup("/") : cross_root(t);
}

/* the sysroot of the rustc on PATH (which 0) or Debian's (which 1), "" if
 * it cannot be run; called with the lock held */
static const char *
sysroot(int which)
{
	const char *rustc = getenv("RUSTC");
	char *path, *out;

	if (sysroots[which])
		return sysroots[which];
	if (which)
		path = path_join(debian_dir(), "rustc");
	else
		path = xstrdup(rustc && *rustc ? rustc : "rustc");
	sysroots[which] = cargo_sysroot(path, &out) < 0 ? xstrdup("") : out;
	free(path);
	return sysroots[which];
}

/* whether the rustc with that sysroot has triple's standard library */
static int
has_std(const char *root, const char *triple)
{
	char *dir;
	int ok;

	if (!*root)
		return 0;
	dir = xasprintf("%s/lib/rustlib/%s/lib", root, triple);
	ok = path_exists(dir);
	free(dir);
	return ok;
}

/* the error for an unknown target: the ones there are */
static int
unknown_target(const char *triple)
{
	const char *names[NTARGETS], *close;
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < NTARGETS; i++) {
		names[i] = targets[i].triple;
		buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
	}
	close = str_closest(triple, names, NTARGETS);
	error("target '%s' is not supported%s%s%s: hydro builds for %s (Linux with "
	      "glibc; musl's standard library is not packaged)", triple,
	      close ? " (did you mean '" : "", close ? close : "", close ? "'?)" : "",
	      buf_str(&b));
	buf_release(&b);
	return -1;
}

/* find, with the lock held, the pieces of a cross toolchain for t */
static int
find_cross(const struct target *t, struct toolchain *tc)
{
	struct buf missing = BUF_INIT, what = BUF_INIT, prefix = BUF_INIT;
	char *gcc = xasprintf("%s-gcc", t->gnu), *gcc_path, *libc, *cargo, *root;
	int std_path = has_std(sysroot(0), t->triple), std_debian = 0, have_cargo;

	cargo = path_join(debian_dir(), "cargo");
	have_cargo = access(cargo, X_OK) == 0;
	if (!std_path)
		std_debian = have_cargo && has_std(sysroot(1), t->triple);
	if (!std_path && !std_debian) {
		if (!have_cargo)
			buf_addstr(&missing, " rustc-web cargo-web");
		buf_printf(&missing, " libstd-rust-web-dev:%s", t->arch);
		buf_printf(&what, "%sits Rust standard library", what.len ? ", " : "");
	}
	if (!(gcc_path = proc_which(gcc, NULL))) {
		buf_printf(&missing, " gcc-%s", t->gnu);
		buf_printf(&what, "%sits linker '%s'", what.len ? ", " : "", gcc);
	}
	root = cross_root(t);
	libc = path_join(root, "lib/libc.so.6");
	free(root);
	if (!path_exists(libc)) {
		buf_printf(&missing, " libc6-dev-%s-cross", t->arch);
		buf_printf(&what, "%sits C library", what.len ? ", " : "");
	}
	free(libc);
	if (missing.len) {
		/* a multiarch package needs its architecture known to apt first */
		if (strstr(buf_str(&missing), "libstd"))
			buf_printf(&prefix, "dpkg --add-architecture %s && apt-get update && ",
			           t->arch);
		error("cannot build for '%s': this machine lacks %s; install with: "
		      "%sapt-get install%s (contrib/install-deps.sh --cross=%s does it)",
		      t->triple, buf_str(&what), buf_str(&prefix), buf_str(&missing),
		      t->arch);
		buf_release(&prefix);
		buf_release(&missing);
		buf_release(&what);
		free(gcc);
		free(gcc_path);
		free(cargo);
		return -1;
	}
	tc->triple = t->triple;
	tc->cargo = std_path ? cargo_program() : cargo;
	tc->rustc = std_path ? NULL : path_join(debian_dir(), "rustc");
	tc->linker = gcc_path;
	tc->native = 0;
	if (std_path)
		free(cargo);
	free(gcc);
	buf_release(&missing);
	buf_release(&what);
	return 0;
}

int
toolchain_find(const char *triple, const struct toolchain **out)
{
	const struct target *t = target_find(triple);
	struct toolchain *tc;
	int ret = 0;

	if (!t)
		return unknown_target(triple);
	tc = &found[t - targets];
	pthread_mutex_lock(&lock);
	if (!tc->triple) {
		if (!strcmp(triple, toolchain_host_triple())) {
			tc->triple = t->triple;
			tc->cargo = cargo_program();
			tc->native = 1;
		} else {
			ret = find_cross(t, tc);
		}
	}
	pthread_mutex_unlock(&lock);
	if (ret == 0)
		*out = tc;
	return ret;
}

int
toolchain_runner(const char *triple, const char *const **words, int *n)
{
	static const char *argv[NTARGETS][3];
	const struct target *t = target_find(triple);
	char *qemu, *root;
	size_t i;
	int ok, libc;

	if (!t)
		return unknown_target(triple);
	if (!strcmp(triple, toolchain_host_triple())) {
		*words = NULL;
		*n = 0;
		return 0;
	}
	qemu = proc_which(t->qemu, NULL);
	root = run_root(t);
	libc = path_exists(root);
	ok = qemu && libc;
	if (!ok) {
		struct buf pkgs = BUF_INIT;

		if (!qemu)
			buf_addstr(&pkgs, " qemu-user");
		if (!libc)
			buf_printf(&pkgs, " libc6-%s-cross", t->arch);
		error("cannot run programs built for '%s' on this machine: it lacks %s; "
		      "install with: apt-get install%s (contrib/install-deps.sh --cross=%s "
		      "does it)", triple, !qemu ? "qemu-user" : "the target's C library",
		      buf_str(&pkgs), t->arch);
		buf_release(&pkgs);
		free(qemu);
		free(root);
		return -1;
	}
	free(qemu);
	i = (size_t)(t - targets);
	pthread_mutex_lock(&lock);
	if (!argv[i][0]) {
		argv[i][0] = t->qemu;
		argv[i][1] = "-L";
		argv[i][2] = root;
		root = NULL;
	}
	pthread_mutex_unlock(&lock);
	free(root);
	*words = argv[i];
	*n = 3;
	return 0;
}
