/*
 * commands: what hydro's commands do with a deployment, the layer between
 * the command line (main.c) or a config script (lang/python) and the core:
 * `hydro run` of a JSON config, `build`, `plan`, `graph` and `down`.
 */
#ifndef HYDRO_COMMANDS_H
#define HYDRO_COMMANDS_H

#include <stdio.h>

#include "cli.h"
#include "deploy.h"

/* Each takes the invocation's options o (cli_options()). */

/* a JSON config at path, loaded and run, built, planned or drawn as mode
 * says; 0, -1 with the error reported, or 130 (run, interrupted) */
int command_config(const char *path, enum run_mode mode, const struct options *o);

/* hydro run FILE.json: load, deploy, supervise, finish; 0, -1 with the
 * error reported, or 130 when interrupted (Ctrl-C) */
int command_run(const char *path, const struct options *o);
/* hydro build: make every target and crate of d that is not up to date */
int command_build(struct deployment *d, const struct options *o);
/* hydro plan: what a run of d would make, launch and wire, as text, or as
 * JSON (the model and its targets' plan) with o->json */
int command_plan(struct deployment *d, const struct options *o);
/* what a run of d would launch and wire, one line each, without running
 * anything; -1 if the wiring is invalid */
int command_launches(struct deployment *d, FILE *out);
/* hydro down: remove what DIR/.hydro/state.json lists (path: a directory or
 * a config beside which .hydro lives; NULL: the current directory); with
 * o->json, each record as a JSON object a line on stdout, with its fate */
int command_down(const char *path, int dry_run, const struct options *o);

#endif
