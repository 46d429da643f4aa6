/*
 * toolchain: which Rust toolchain builds for a target triple, and how this
 * machine runs what it built.
 *
 * This machine's own target is built by the cargo on PATH ($CARGO), as
 * always.  Another target is built by the first toolchain that has its
 * standard library: the rustc on PATH ($RUSTC) if `rustup target add` put it
 * there, else Debian's /usr/bin/cargo and /usr/bin/rustc (rustc-web,
 * cargo-web) with libstd-rust-web-dev:ARCH, linking with the target's
 * cross gcc.  Programs built for another target run here under qemu-user
 * with the target's libc as its sysroot: the multiarch libc6:ARCH when it is
 * installed (`qemu-aarch64 -L /`), else the cross libc (`qemu-aarch64 -L
 * /usr/aarch64-linux-gnu`).
 * The targets hydro knows are Linux glibc targets whose pieces Debian
 * packages: docs/targets.md lists them and what each needs.
 *
 * Two settings come from the environment: HYDRO_DEBIAN_RUST, the folder of
 * Debian's cargo and rustc (default /usr/bin), and HYDRO_CROSS_ROOT, under
 * which the targets' C libraries are (default /usr: /usr/aarch64-linux-gnu).
 *
 * Lookups run rustc once per toolchain and are remembered; all calls are
 * thread-safe.
 */
#ifndef HYDRO_TOOLCHAIN_H
#define HYDRO_TOOLCHAIN_H

/* a toolchain able to build for one target */
struct toolchain {
	const char *triple;
	const char *cargo;	/* the cargo program */
	const char *rustc;	/* RUSTC for cargo, or NULL: cargo's own */
	const char *linker;	/* the target's C linker, or NULL: the default */
	int native;		/* the triple is this machine's */
};

/* this machine's target triple ("x86_64-unknown-linux-gnu") */
const char *toolchain_host_triple(void);
/* whether hydro knows how to build for triple (it may not be installed) */
int toolchain_known(const char *triple);
/* the toolchain that builds for triple; -1 with an error naming the target
 * and exactly what to install (or, for an unknown target, the ones there
 * are) */
int toolchain_find(const char *triple, const struct toolchain **out);
/* the words that run a program built for triple on this machine, before the
 * program's own argv: none for this machine's target, else {"qemu-ARCH",
 * "-L", SYSROOT}; *n gets their number; -1 with the error naming what to
 * install if this machine cannot run it */
int toolchain_runner(const char *triple, const char *const **words, int *n);

#endif
