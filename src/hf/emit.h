/*
 * emit: the Rust crate of a checked .hf program.
 *
 * A program becomes a crate in a directory of hydro's build area:
 *
 *   Cargo.toml    the program's binary; hydroflow 0.10, the runtime crate
 *                 (hydro_runtime, the program side of the port protocol)
 *                 and the crates its `use` lines name
 *   Cargo.lock    the resolution hydro ships (RUST_DIR/Cargo.lock)
 *   src/main.rs   the `use` lines, then a `main` that reads the params,
 *                 wires the ports and runs `hydroflow_syntax! { BODY }`
 *
 * main.rs keeps the .hf file's lines: a `use` line or a body line of the
 * .hf file is the same line, at the same column, in main.rs, so rustc's
 * spans inside them are the .hf file's own.  The module header's lines
 * hold the generated prologue; the epilogue follows the body.  Names the
 * emitter introduces begin with a prefix no identifier of the file begins
 * with.
 *
 * Crates named by `use` lines are found, in order: in a Cargo.toml in the
 * program's directory or one above it (up to the config's directory) whose
 * [dependencies] name it; as a crate directory of that name beside the
 * program, beside the `src/` directory holding it, or beside the config;
 * among the crates hydro provides (hydroflow, tokio, serde, bincode,
 * chrono, at the versions of the shipped lock).
 */
#ifndef HYDRO_HF_EMIT_H
#define HYDRO_HF_EMIT_H

#include <stddef.h>

#include "buf.h"
#include "hf/hf.h"

/* a crate a program uses, as its Cargo.toml will name it */
struct hf_crate {
	char *name;		/* the Rust name, `data_types` */
	char *spec;		/* the TOML value: `{ path = "/abs" }`, `"0.4"` */
	char *dir;		/* a local crate's directory (absolute), or NULL */
};

/* the crates a program uses */
struct hf_crates {
	struct hf_crate *v;
	size_t n, cap;
};

/* the directory of hydro's Rust sources (hydro_runtime/ and Cargo.lock):
 * $HYDRO_RUST_DIR, else lang/rust beside the hydro binary or up to two
 * directories above it (the build tree),
 * else ../share/hydro/rust from it, else the installed data directory; a
 * new string, or NULL with the error reported */
char *hf_rust_dir(void);

/* find the crates the `use` lines of a checked unit name; config_dir may
 * be NULL (then Cargo.toml files are looked for up to the root, and no
 * crate directory beside a config); an unknown crate is reported at its
 * `use` line and gives -1 */
int hf_crates_find(struct hf_unit *u, const char *config_dir, struct hf_crates *out);
/* hf_crates_find for `hydro check` of a file alone, without a config: an
 * unknown crate is a warning at its `use` line (the program may be checked
 * away from its crates, but not built there); 0 */
int hf_crates_lint(struct hf_unit *u, struct hf_crates *out);
/* free what hf_crates_find made */
void hf_crates_release(struct hf_crates *c);

/* the name of the program's binary: the file's stem, made a Rust name, and
 * a short hash of its absolute path (programs share one target directory);
 * a new string */
char *hf_emit_bin_name(const char *path);

/* write the crate of p into dir (made if missing); files whose text is
 * unchanged are left alone, so cargo sees nothing new; -1 with the error
 * reported */
int hf_emit(struct hf_program *p, const struct hf_crates *crates, const char *rust_dir,
            const char *dir);

/* where a line of main.rs comes from */
enum hf_emit_origin {
	EMIT_SAME,		/* a line of the .hf file, at the same line and column */
	EMIT_HEADER,		/* the prologue, on the module header's lines */
	EMIT_PORT,		/* the flow's end of a port (*port: its index) */
	EMIT_OTHER,		/* the closing lines */
};

/* where line (1-based) of p's main.rs comes from */
enum hf_emit_origin hf_emit_origin(const struct hf_program *p, unsigned line, size_t *port);

/* the text of main.rs for p, into out (for hf_emit and the tests) */
void hf_emit_main(struct hf_program *p, struct buf *out);

#endif
