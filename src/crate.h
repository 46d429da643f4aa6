/*
 * crate: a deployment's Rust crates (Hydro Deploy's HydroflowCrate), built
 * with cargo (cargo.h) as TASK_BUILD tasks of a build (build.h).
 *
 * A crate service (without a standin) is built by one task per distinct
 * crate, binary, profile and features, shared by the services that use the
 * same; its key covers the crate's sources (and its path dependencies'), the
 * flags and the toolchain, and an up-to-date crate with its program intact
 * does not run cargo at all.
 */
#ifndef HYDRO_CRATE_H
#define HYDRO_CRATE_H

#include "build.h"
#include "deploy.h"
#include "graph.h"
#include "package.h"

/* add a build task per crate that the deployment's services run (those with
 * a standin are not built), those up to date marked so; -1 with the error
 * reported (a crate directory without Cargo.toml) */
int crate_add(struct build *b, struct graph *g);
/* the task that builds service s's crate, or NULL (a launch goes after it) */
struct task *crate_task(const struct build *b, const struct service *s);
/* the program built for service s: known once its task has ended well or
 * was up to date; NULL otherwise */
const char *crate_exe(const struct build *b, const struct service *s);
/* the i-th crate as a step in *out, after crate_add(); 0 past the last */
int crate_step(const struct build *b, size_t i, struct build_step *out);
/* the target triple the i-th crate is built for */
const char *crate_target(const struct build *b, size_t i);
/* the package task of the i-th crate (package.h) */
const struct pkg *crate_package(const struct build *b, size_t i);
/* the package of service s's program, or NULL when it is not built */
const struct pkg *crate_service_package(const struct build *b, const struct service *s);
/* the target service s's program is built for, or NULL when it is not built */
const char *crate_service_target(const struct build *b, const struct service *s);

#endif
