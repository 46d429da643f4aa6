/*
 * hf: the Hydroflow front end, the entry points the CLI uses.
 *
 * A .hf file is parsed, turned into a flat graph and checked as hydroflow
 * v0.10 would; diagnostics go to stderr, rustc style.
 */
#ifndef HYDRO_HF_H
#define HYDRO_HF_H

#include <stddef.h>
#include <stdio.h>

#include "cli.h"

/* check every file; prints diagnostics; 0 when none has errors, else -1 */
int hf_check_files(const char *const *paths, size_t n);
/* print the dataflow graph of a program; -1 when it does not check */
int hf_graph_file(const char *path, enum graph_format format, FILE *out);

#endif
