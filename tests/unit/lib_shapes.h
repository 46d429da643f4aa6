/*
 * lib_shapes: the deployment of HYDRO-DEPLOY.md's example, with every shape
 * of port wiring, for the port tests and the ports fuzz target.
 */
#ifndef HYDRO_LIB_SHAPES_H
#define HYDRO_LIB_SHAPES_H

#include "deploy.h"

/* crates p, q, a, b, c, d on one local host: q.o -> p.in1; p.out to a.inp
 * and b.inp by key 0 and 1 (a Demux); c.x and d.y (tagged 7) merged into
 * p.fanin.  file names the deployment's file, for messages */
struct deployment *shapes_deployment(const char *file);
/* the port of that service, or NULL */
struct port *shapes_port(struct deployment *d, const char *svc, const char *name);

#endif
