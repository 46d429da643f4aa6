/*
 * program: a deployment's .hf programs, made crates that crate.c builds.
 *
 * A hydroflow service without a standin runs its program compiled: the
 * program is checked (hf.h), the crates of its `use` lines found, and its
 * crate written (hf/emit.h) into the build area beside the config,
 * .hydro/hf/BIN/.  crate.c builds it as any crate, keyed by the crate's
 * files (the program's text, the crates it names, the lock), its path
 * dependencies' sources (the runtime crate, the program's own crates) and
 * the toolchain.
 *
 * Every program builds into one cargo target directory per toolchain, in
 * the per-user cache, so that hydroflow is compiled once per machine:
 * $CARGO_TARGET_DIR if set, else CACHE/target/TOOLCHAIN where CACHE is
 * $HYDRO_CACHE_DIR, $XDG_CACHE_HOME/hydro or ~/.cache/hydro.
 */
#ifndef HYDRO_PROGRAM_H
#define HYDRO_PROGRAM_H

#include "cargo.h"
#include "deploy.h"
#include "hf/hf.h"

/* the per-user cache directory, a new string */
char *program_cache_dir(void);

/* the toolchain as cargo_toolchain() gives it, for the crates in dir;
 * remembered in the cache directory under a fingerprint of what chooses it
 * (CARGO, RUSTC, RUSTUP_TOOLCHAIN, PATH, the cargo and rustc found, rustup's
 * settings and toolchains, rust-toolchain files from dir up), so that an
 * unchanged toolchain costs no cargo call; -1 with the error reported */
int program_toolchain(const char *dir, char **out);

/* Check service s's program and write its crate; *spec is what to build
 * (the target directory chosen for toolchain, the text cargo_toolchain
 * gives), *prog the checked program, for mapping rustc's diagnostics back
 * to it (free with hf_program_free).  -1 with the error reported. */
int program_spec(const struct deployment *d, const struct service *s, const char *toolchain,
                 struct cargo_spec *spec, struct hf_program **prog);

#endif
