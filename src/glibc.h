/*
 * glibc: whether a host's C library can run a program built here.  A
 * program linked against glibc needs the newest GLIBC_x.y symbol version it
 * uses; a host whose glibc is older cannot start it.  The check runs before
 * a program is uploaded, so the error names both versions instead of a
 * loader's message at launch.
 */
#ifndef HYDRO_GLIBC_H
#define HYDRO_GLIBC_H

#include "deploy.h"

/* room for a version such as "2.36" and its NUL */
#define GLIBC_VERSION_MAX 16

/* compare two versions "x.y[.z]" numerically: <0, 0, >0 */
int glibc_compare(const char *a, const char *b);
/* the newest GLIBC_x.y the ELF program at path needs into out ("2.34"):
 * 1; 0 if it needs none (static, musl, another byte order); -1 with the
 * error reported if it cannot be read */
int glibc_needed(const char *path, char out[GLIBC_VERSION_MAX]);
/* the glibc version of host h (getconf GNU_LIBC_VERSION, run there): 1; 0
 * if it has none; -1 with the error reported if it cannot be asked */
int glibc_of_host(struct host *h, char out[GLIBC_VERSION_MAX]);
/* 0 if host h, whose glibc is have (glibc_of_host; "" for none), can run
 * exe (service's program); -1 with an error naming the host, both versions
 * and what to do */
int glibc_check(struct host *h, const char *have, const char *exe,
                const char *service);

#endif
