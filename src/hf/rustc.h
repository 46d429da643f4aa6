/*
 * rustc: rustc's diagnostics on a generated crate, shown on the .hf file.
 *
 * cargo's `--message-format=json` gives each rustc diagnostic as a
 * "compiler-message" with its spans and rustc's own rendering.  A
 * diagnostic whose primary span is on a line main.rs shares with the .hf
 * file (a `use` line, a body line: emit.h) is rustc's rendering with the
 * file's path in place of main.rs's, so it shows the .hf line and a caret
 * under the right column; one in the code hydro generated for a port or
 * the module header is shown at the port's declaration or at the header,
 * with rustc's message; one elsewhere (a crate the program uses) is rustc's
 * rendering as it is.
 */
#ifndef HYDRO_HF_RUSTC_H
#define HYDRO_HF_RUSTC_H

#include <cJSON.h>

#include "buf.h"
#include "hf/hf.h"

/* append to out how the "message" object of a compiler-message reads for
 * program p (main_rs: the path cargo names main.rs by, "src/main.rs");
 * color: whether the rendering may use colour; returns 1 for an error, 0
 * for anything else */
int hf_rustc_render(struct hf_program *p, const cJSON *message, const char *main_rs,
                    int color, struct buf *out);

#endif
