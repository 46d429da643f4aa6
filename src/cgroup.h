/*
 * cgroup: a cgroup v2 of a run's own, where the system gives a writable
 * one: every service of the run is put in it before it execs, so that
 * everything it starts stays in it, whatever it does (setsid(), a double
 * fork), and writing cgroup.kill ends all of it at once, even after a
 * kill -9 of hydro (hydro down does it from the state's records).  Where
 * there is none (cgroup v1 only, a hierarchy hydro may not write), runs go
 * on with process groups alone.
 */
#ifndef HYDRO_CGROUP_H
#define HYDRO_CGROUP_H

#include "state.h"

/* a new cgroup "hydro-RUN" under hydro's own (a new string, its path),
 * recorded in st (kind "cgroup", id run) before it is made; NULL where none
 * can be made (nothing reported) */
char *cgroup_new(struct state *st, const char *run);
/* whether path is a cgroup v2 directory hydro made: NAME under a cgroup2
 * mount, its last component "hydro-" followed by run */
int cgroup_is_ours(const char *path, const char *run);
/* end every process in the cgroup (cgroup.kill) and remove it once it is
 * empty; 0, also when it is gone already, or -1 with the error reported */
int cgroup_end(const char *path);
/* make the "cgroup" kind of state records known to hydro down */
void cgroup_register_state(void);

#endif
