/*
 * lib_files: files a unit test lays out in its own temporary directory.
 */
#ifndef HYDRO_LIB_FILES_H
#define HYDRO_LIB_FILES_H

#include <sys/types.h>

/* write text to top/name with exactly that mode, making its folders */
void test_put(const char *top, const char *name, const char *text, mode_t mode);

#endif
