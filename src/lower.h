/*
 * lower: a deployment lowered to a run's tasks (graph.h).
 *
 * Each host is provisioned, then each service launched on it, after the
 * targets it needs and its crate's build (build.h), and after the services
 * whose addresses or readiness it needs at spawn; a speaker is wired once
 * its receivers are launched, and started once wired and once its receivers
 * that declare readiness are ready.
 */
#ifndef HYDRO_LOWER_H
#define HYDRO_LOWER_H

#include "build.h"
#include "graph.h"
#include "run_int.h"

/* add to g the provision, launch, wire and (unless the start is deferred)
 * start tasks of r's deployment, after b's targets and crates */
void lower_deploy(struct run *r, struct build *b, struct graph *g);
/* add to g a start task per speaker: after wire[i] when wire is given,
 * else for every service wired and not yet started (run_start) */
void lower_start(struct run *r, struct graph *g, struct task **wire);

#endif
