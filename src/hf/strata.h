/*
 * strata: subgraphs, strata and ticks of a checked graph, as hydroflow's
 * flat_to_partitioned.rs computes them (see strata.c for how).
 */
#ifndef HYDRO_HF_STRATA_H
#define HYDRO_HF_STRATA_H

#include "hf/graph.h"

/* fuse the nodes into subgraphs and place them in strata, marking tick
 * edges and handoffs; -1 (reported) on a cycle through a blocking input */
int hf_strata(struct hf_graph *g);

#endif
