/*
 * helper: hydro's other binaries, found where the build or make install
 * put them, and run in place of this process.
 *
 * hydro is a small front end: it parses the command line, then becomes
 * hydro-python for a Python config or loads hydro-core.so (every other
 * command), so that neither pays for loading the other's libraries.
 */
#ifndef HYDRO_HELPER_H
#define HYDRO_HELPER_H

/* the path of the helper called name ("hydro-python") this binary would
 * run (a new string), or NULL when there is none */
char *helper_path(const char *name);

/* become the helper called name with the same argv; returns -1 with the
 * error reported only when it could not (what: what it was to run, for the
 * message: "a Python config") */
int helper_exec(const char *name, const char *what, char **argv);

/* load the shared object called name ("hydro-core.so") and return what
 * its hydro_main() returns for argc and argv; -1 with the error reported
 * when it cannot be loaded */
int helper_main(const char *name, const char *what, int argc, char **argv);

#endif
