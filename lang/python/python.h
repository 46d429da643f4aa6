/*
 * python: config scripts in Python, run by an embedded CPython.
 *
 * hydro-python embeds it (python.c, module.c, pyrun.c); hydro hands it
 * every .py config (src/helper.h).  One interpreter per script.  The `hydro` package is built into the binary
 * (lang/python/hydro, as C strings) and wins over any installed copy, so
 * a script always talks to the package this binary was built with; the
 * `_hydro` extension (module.c) is registered as hydro._hydro.
 */
#ifndef HYDRO_PYTHON_H
#define HYDRO_PYTHON_H

#include <stddef.h>

#include "cli.h"

/* one file of the hydro package, as lang/python/embed.sh writes it */
struct python_source {
	const char *file;		/* "__init__.py", "gcp.py" */
	const unsigned char *text;
	size_t len;
	const unsigned char *code;	/* its code object, marshalled; len 0: none */
	size_t code_len;
};

/* the magic number of the Python that marshalled the code (little-endian,
 * as importlib.util.MAGIC_NUMBER), all zero when nothing was */
extern const unsigned char python_magic[4];

/* the package's files, ending with a NULL file (generated at build time) */
extern const struct python_source python_sources[];

/* lang/python/boot.py: what runs before the package is imported */
extern const struct python_source python_boot;

/* run a config script for mode: evaluate it, call its main(), clean up;
 * 0 on success, -1 with the error reported (the script's traceback printed) */
int python_run_config(const char *path, enum run_mode mode);

/* the process exits when python_run_config() returns: the interpreter is
 * left as it is then, not torn down (the script's threads are joined, its
 * atexit functions run and its open files flushed all the same) */
void python_exit_after(void);

#endif
