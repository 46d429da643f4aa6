/*
 * fs: files and paths.
 *
 * write_file_replace() is the one way hydro replaces a file (cache entries,
 * state.json): write a temporary beside it ("PATH.tmp.PID"), rename it over
 * the file.  A reader sees the old file or the new one, never half.  The
 * temporary is always a new file (O_EXCL, never through a symbolic link).  Made
 * durable (write_file_atomic()), it also fsyncs the file before the rename
 * and its directory after, to survive a crash of the machine.
 */
#ifndef HYDRO_FS_H
#define HYDRO_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/* write all n bytes to fd, retrying short writes and EINTR; -1 with errno
 * set (nothing reported) */
int write_in_full(int fd, const void *data, size_t n);
/* read a whole file into out (appending); -1 with the error reported */
int read_file(const char *path, struct buf *out);
/* read the rest of fd (opened from path) into out; -1 with the error
 * reported */
int read_fd(int fd, const char *path, struct buf *out);
/* open a file of hydro's own (flags as open(), mode for O_CREAT): never
 * through a symbolic link, and only a regular file owned by this user that
 * nobody else may write; the descriptor, or -1 with the error reported */
int open_private(const char *path, int flags, mode_t mode);
/* create the directory path (mode 0700; its parents as mkdir_p) or take the
 * one there if it can be trusted: a directory, not a symbolic link, owned by
 * this user, writable by nobody else; made private (no access for others)
 * if it was not.  -1 with the error reported */
int dir_private(const char *path);
/* replace path with data atomically, and durably (fsync) when durable says
 * so; -1 with the error reported */
int write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                       int durable);
/* replace path with data, atomically and durably; -1 with the error reported */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* fsync the directory holding path, so that a name made in it survives a
 * crash; -1 with errno set */
int fsync_dir(const char *path);
/* whether name is a temporary of write_file_replace() ("X.tmp.PID") whose
 * process no longer runs: left by a kill, safe to remove */
int path_stale_temp(const char *name);
/* create a directory and its parents; -1 with the error reported */
int mkdir_p(const char *path, mode_t mode);
/* remove a file or a whole tree; a missing path is no error */
int remove_tree(const char *path);
/* the same, reporting nothing: -1 with errno set */
int remove_tree_quiet(const char *path);
/* whether path exists (any type) */
int path_exists(const char *path);
/* a new string: dir/name, or name alone when it is absolute or dir is empty */
char *path_join(const char *dir, const char *name);
/* a new string: everything before the last '/', or "." */
char *path_dirname(const char *path);
/* call fn(d, arg) for d = dir, then each folder above it, up to top
 * (NULL: the root; a relative dir ends at its first part), until fn returns
 * non-zero: that value, else 0 */
int path_walk_up(const char *dir, const char *top,
                 int (*fn)(const char *d, void *arg), void *arg);
/* the part after the last '/' (points into path) */
const char *path_basename(const char *path);
/* a new string: path made absolute against the current directory */
char *path_absolute(const char *path);
/* a path as messages show it: an absolute one below the current directory
 * relative to it (points into path), any other as it is */
const char *path_display(const char *path);

#endif
