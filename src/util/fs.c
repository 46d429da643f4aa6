#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fs.h"
#include "str.h"
#include "xmalloc.h"

int
read_fd(int fd, const char *path, struct buf *out)
{
	char tmp[65536];
	ssize_t n;

	for (;;) {
		n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_errno("cannot read '%s'", path);
		if (n == 0)
			return 0;
		if (buf_add(out, tmp, (size_t)n) < 0)
			return error("cannot read '%s': file too large", path);
	}
}

int
read_file(const char *path, struct buf *out)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("cannot open '%s'", path);
	ret = read_fd(fd, path, out);
	close(fd);
	return ret;
}

/* what makes a file or directory hydro may trust: its owner is this user
 * and nobody else may write it; 0, or -1 with the error reported */
static int
check_private(const char *path, const struct stat *sb, const char *what)
{
	if (sb->st_uid != geteuid())
		return error("'%s' belongs to another user (uid %ld), not to this one "
		             "(uid %ld); hydro trusts only its own %s: remove it, or "
		             "run hydro as its owner", path, (long)sb->st_uid,
		             (long)geteuid(), what);
	if (sb->st_mode & (S_IWGRP | S_IWOTH))
		return error("'%s' is writable by other users; hydro trusts only its "
		             "own %s: remove it, or make it private (chmod go-w '%s')",
		             path, what, path);
	return 0;
}

int
open_private(const char *path, int flags, mode_t mode)
{
	struct stat sb;
	int fd;

	fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		if (errno == ELOOP)
			return error("'%s' is a symbolic link; hydro trusts only its own "
			             "files: remove it", path);
		return error_errno("cannot open '%s'", path);
	}
	if (fstat(fd, &sb) < 0) {
		error_errno("cannot open '%s'", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		error("'%s' is not a regular file; hydro trusts only its own files: "
		      "remove it", path);
		close(fd);
		return -1;
	}
	if (check_private(path, &sb, "files") < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
dir_private(const char *path)
{
	char *parent;
	struct stat sb;

	if (mkdir(path, 0700) < 0 && errno == ENOENT) {
		parent = path_dirname(path);
		if (mkdir_p(parent, 0755) < 0) {
			free(parent);
			return -1;
		}
		free(parent);
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return error_errno("cannot create directory '%s'", path);
	}
	if (lstat(path, &sb) < 0)
		return error_errno("cannot create directory '%s'", path);
	if (S_ISLNK(sb.st_mode))
		return error("'%s' is a symbolic link; hydro keeps its files only in a "
		             "directory of its own: remove it", path);
	if (!S_ISDIR(sb.st_mode))
		return error("cannot create directory '%s': a file is in the way", path);
	if (check_private(path, &sb, "directory") < 0)
		return -1;
	/* made by an older hydro, or by hand: what it holds is nobody else's
	 * to read (the owner's bits stay as they are) */
	if ((sb.st_mode & 077) && chmod(path, sb.st_mode & 0700) < 0)
		return error_errno("cannot make '%s' private", path);
	return 0;
}

int
write_in_full(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync, again when a signal interrupts it */
static int
sync_fd(int fd)
{
	int r;

	do
		r = fsync(fd);
	while (r < 0 && errno == EINTR);
	return r;
}

int
fsync_dir(const char *path)
{
	char *dir = path_dirname(path);
	int dfd, r = -1;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		r = sync_fd(dfd);
		close(dfd);
	}
	free(dir);
	return r;
}

int
write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                   int durable)
{
	char *tmp;
	int fd;

	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	/* a new file: never one that is there already, nor through a symbolic
	 * link; one left by a process of the same pid (killed) is removed */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		error_errno("cannot create '%s'", tmp);
		free(tmp);
		return -1;
	}
	if (write_in_full(fd, data, len) < 0 || (durable && sync_fd(fd) < 0)) {
		error_errno("cannot write '%s'", tmp);
		close(fd);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		error_errno("cannot rename '%s' to '%s'", tmp, path);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	if (durable)
		fsync_dir(path);	/* the data are safe; at worst the old name is */
	return 0;
}

int
write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	return write_file_replace(path, data, len, mode, 1);
}

int
path_stale_temp(const char *name)
{
	const char *s, *tail = NULL;
	long pid;

	for (s = name; (s = strstr(s, ".tmp.")); s++)
		tail = s + 5;
	if (!tail || str_to_long(tail, 1, INT_MAX, &pid) < 0)
		return 0;
	/* EPERM: alive, someone else's */
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

int
mkdir_p(const char *path, mode_t mode)
{
	char *p, *s;
	struct stat st;

	if (!*path)
		return error("cannot create directory '': the path is empty");
	p = xstrdup(path);
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			error_errno("cannot create directory '%s'", p);
			free(p);
			return -1;
		}
		*s = c;
		if (!c)
			break;
	}
	if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
		error("cannot create directory '%s': a file is in the way", p);
		free(p);
		return -1;
	}
	free(p);
	return 0;
}

/* remove_tree's walk: errors reported when say, else -1 with errno set */
static int
tree_remove(const char *path, int say)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	char *sub;
	int ret = 0, err = 0;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return say ? error_errno("cannot remove '%s'", path) : -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return say ? error_errno("cannot remove '%s'", path) : -1;
		return 0;
	}
	d = opendir(path);
	if (!d)
		return say ? error_errno("cannot open directory '%s'", path) : -1;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = path_join(path, de->d_name);
		if (tree_remove(sub, say) < 0 && !err) {
			ret = -1;
			err = errno;
		}
		free(sub);
	}
	closedir(d);
	if (rmdir(path) < 0 && errno != ENOENT) {
		if (say)
			return error_errno("cannot remove directory '%s'", path);
		ret = -1;
		err = err ? err : errno;
	}
	errno = err;
	return ret;
}

int
remove_tree(const char *path)
{
	return tree_remove(path, 1);
}

int
remove_tree_quiet(const char *path)
{
	return tree_remove(path, 0);
}

int
path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

char *
path_join(const char *dir, const char *name)
{
	size_t n;

	if (!dir || !*dir || name[0] == '/')
		return xstrdup(name);
	n = strlen(dir);
	if (dir[n - 1] == '/')
		return xasprintf("%s%s", dir, name);
	return xasprintf("%s/%s", dir, name);
}

char *
path_dirname(const char *path)
{
	const char *s = strrchr(path, '/');

	if (!s)
		return xstrdup(".");
	if (s == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(s - path));
}

int
path_walk_up(const char *dir, const char *top,
             int (*fn)(const char *d, void *arg), void *arg)
{
	char *d = xstrdup(dir), *up;
	int ret;

	for (;;) {
		if ((ret = fn(d, arg)) != 0 || (top && !strcmp(d, top)))
			break;
		up = path_dirname(d);
		if (!strcmp(up, d) || !strcmp(up, ".")) {
			free(up);
			break;
		}
		free(d);
		d = up;
	}
	free(d);
	return ret;
}

const char *
path_basename(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

char *
path_absolute(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return xstrdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		fatal("cannot read the current directory");
	if (!strcmp(path, "."))
		return xstrdup(cwd);
	return path_join(cwd, path);
}

const char *
path_display(const char *path)
{
	char cwd[PATH_MAX];
	size_t n;

	if (path[0] != '/' || !getcwd(cwd, sizeof(cwd)))
		return path;
	n = strlen(cwd);
	if (n > 1 && !strncmp(path, cwd, n) && path[n] == '/' && path[n + 1])
		return path + n + 1;
	return path;
}
