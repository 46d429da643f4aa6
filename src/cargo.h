/*
 * cargo: building a Rust crate (Hydro Deploy's HydroflowCrate) with cargo.
 *
 * hydro builds a crate as Hydro Deploy does: `cargo build --profile P
 * [--bin B | --example E] [--features F,G] --message-format=json-render-
 * diagnostics`, and takes the program's path from cargo's own report (a
 * "compiler-artifact" message naming an executable) rather than guessing the
 * layout of the target directory.  Cargo renders its diagnostics on stderr;
 * its JSON messages come on stdout and are parsed line by line as they come.
 *
 * The settings that come from the environment are here too:
 *   CARGO                  the cargo program (default: cargo on PATH)
 *   CARGO_TARGET_DIR       the shared target directory (default: .hydro/target
 *                          beside the config), as cargo itself honours it
 *   HYDRO_CARGO_OFFLINE=1  build offline, from Debian's packaged crates
 *   HYDRO_CARGO_REGISTRY   the directory registry used offline (default
 *                          /usr/share/cargo/registry; empty: cargo's own cache)
 *
 * The build task, its cache key and its place in the graph are build.c's.
 */
#ifndef HYDRO_CARGO_H
#define HYDRO_CARGO_H

#include <stddef.h>

#include <cJSON.h>

#include "buf.h"

#define CARGO_DEFAULT_PROFILE "release"
#define CARGO_DEBIAN_REGISTRY "/usr/share/cargo/registry"

/* what to build: one crate, one program, one set of flags */
struct cargo_spec {
	char *src;		/* the crate's directory, absolute */
	char *bin;		/* --bin, or NULL */
	char *example;		/* --example, or NULL (at most one of the two) */
	char *profile;		/* --profile; "release" unless the service says */
	char **features;	/* --features, joined with commas */
	size_t nfeatures;
	char *target_dir;	/* --target-dir, absolute */
	int offline;		/* --offline */
	char *registry;		/* offline: a directory source replacing crates.io, or NULL */
	int locked;		/* --locked: build with the crate's Cargo.lock as it is */
	int json_diags;		/* rustc's diagnostics as JSON messages, not on stderr */
	/* another target than this machine's (toolchain.h); all NULL for its own */
	char *triple;		/* --target */
	char *cargo;		/* the cargo program, instead of cargo_program() */
	char *rustc;		/* build.rustc, or NULL: cargo's own */
	char *linker;		/* target.TRIPLE.linker */
};

/* fill the settings that come from the environment (target dir, offline,
 * registry); default_target_dir is used when CARGO_TARGET_DIR is unset */
void cargo_spec_env(struct cargo_spec *s, const char *default_target_dir);
/* free the strings of a spec */
void cargo_spec_release(struct cargo_spec *s);

/* the cargo program: $CARGO, or "cargo" */
const char *cargo_program(void);

/* the toolchain as seen from dir (rustup may choose one per directory):
 * `cargo --version` and `rustc -vV`, as one text in *out; -1 with the error
 * reported if cargo cannot be run */
int cargo_toolchain(const char *dir, char **out);
/* the same for the cargo and rustc that s names (cargo_program() and
 * $RUSTC when it names none) */
int cargo_spec_toolchain(const struct cargo_spec *s, const char *dir, char **out);

/* `rustc --print sysroot` of that rustc, a new string in *out; -1 (nothing
 * reported) if it cannot be run */
int cargo_sysroot(const char *rustc, char **out);

/* the command line of the build (a new NULL-terminated list) */
char **cargo_build_argv(const struct cargo_spec *s);

/* The directories whose sources a build of the crate in src reads: src, its
 * workspace root, and its path dependencies, found with `cargo metadata
 * --offline --no-deps` (and again in each path dependency).  Always at
 * least src; what cargo cannot tell is left out.  A new list in *dirs. */
void cargo_source_dirs(const char *src, char ***dirs, size_t *n);

/* append to *files the files of a crate directory that a build reads:
 * Cargo.toml, Cargo.lock, build.rs, .cargo/config.toml, and everything
 * under src/, examples/ and benches/; sorted, absolute */
void cargo_source_files(const char *dir, char ***files, size_t *n, size_t *cap);

/* cargo's JSON messages, read as they arrive */
struct cargo_msgs {
	struct buf line;	/* a partial line */
	const char *want;	/* the program's name (bin or example), or NULL */
	int example;		/* want an example, not a bin */
	char **exes;		/* executables built, of the wanted kind */
	char **names;		/* their target names */
	size_t nexes;
	int finished;		/* "build-finished" seen: 1 success, -1 failure */
	/* each "compiler-message"'s message, when set (spec json_diags) */
	void (*on_diag)(void *arg, const cJSON *message);
	void *diag_arg;
	/* "compiler-artifact" messages seen, for progress */
	size_t artifacts;
};

/* start reading for a spec */
void cargo_msgs_init(struct cargo_msgs *m, const struct cargo_spec *s);
/* take n more bytes of cargo's stdout; lines that are not JSON are ignored */
void cargo_msgs_feed(struct cargo_msgs *m, const char *data, size_t n);
/* the executable built (a new string), or NULL with the error reported (none
 * was built; several were and the spec names none) */
char *cargo_msgs_exe(struct cargo_msgs *m);
/* free what was read */
void cargo_msgs_release(struct cargo_msgs *m);

#endif
