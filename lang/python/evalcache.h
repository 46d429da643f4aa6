/*
 * evalcache: a Python config's last evaluation for `hydro build`, reused
 * when nothing it read has changed, so that a no-op build of a Python config
 * starts no interpreter.
 *
 * hydro-python records the evaluation (lang/python/hydro/_evalcache.py
 * writes .hydro/eval/CONFIG.json beside the config: the files, stats,
 * listings, environment and command line it depended on, and the deployment
 * it declared); hydro checks every recorded input here before it would hand
 * the config to hydro-python, and builds the recorded deployment when all of
 * them are unchanged.  docs/python.md says what is recorded and what makes
 * an evaluation not recordable.
 */
#ifndef HYDRO_EVALCACHE_H
#define HYDRO_EVALCACHE_H

#include "deploy.h"

/* the deployment config's last evaluation declared, when hydro-python is
 * helper, the command line (argv[1..argc-1]), the working directory and
 * every input recorded are what they were; NULL otherwise (nothing
 * reported: the config is then evaluated as usual).  The -D parameters the
 * config asked for are marked asked again (cli_param) */
struct deployment *evalcache_load(const char *config, const char *helper,
                                  int argc, char **argv);

/* what `hydro build` does after a config's evaluation, for a deployment
 * evalcache_load gave: the checks deploy() makes, then the build;
 * 0, or -1 with the error reported */
int evalcache_build(struct deployment *d);

#endif
