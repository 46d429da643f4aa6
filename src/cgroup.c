#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cgroup.h"
#include "json.h"
#include "error.h"
#include "fs.h"
#include "str.h"
#include "xmalloc.h"

/* a file of /proc read whole into b (NUL-terminated); 0, or -1 when it
 * cannot be (nothing reported: no cgroup is no error) */
static int
read_proc(const char *path, struct buf *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -1;
	ret = read_fd(fd, path, b);
	close(fd);
	if (ret == 0)
		buf_str(b);
	return ret;
}

/* the mount point of the cgroup v2 hierarchy (from /proc/self/mountinfo),
 * or NULL */
static char *
cgroup2_mount(void)
{
	struct buf b = BUF_INIT;
	char *line, *next, *mnt = NULL;

	if (read_proc("/proc/self/mountinfo", &b) < 0) {
		buf_release(&b);
		return NULL;
	}
	for (line = b.data; line && line < b.data + b.len && !mnt; line = next) {
		char *nl = memchr(line, '\n', (size_t)(b.data + b.len - line));
		char *dash, *f[5];
		int i;

		next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE ... */
		dash = strstr(line, " - ");
		if (!dash || strncmp(dash + 3, "cgroup2 ", 8))
			continue;
		f[0] = line;
		for (i = 1; i < 5 && f[i - 1]; i++) {
			f[i] = strchr(f[i - 1], ' ');
			if (f[i])
				f[i]++;
		}
		if (i == 5 && f[4]) {
			char *end = strchr(f[4], ' ');

			/* a mount point with a space is written \040: none of ours */
			if (end && !memchr(f[4], '\\', (size_t)(end - f[4])))
				mnt = xstrndup(f[4], (size_t)(end - f[4]));
		}
	}
	buf_release(&b);
	return mnt;
}

/* hydro's own cgroup v2 path ("0::PATH" in /proc/self/cgroup), or NULL */
static char *
own_cgroup(void)
{
	struct buf b = BUF_INIT;
	char *p, *end, *path = NULL;

	if (read_proc("/proc/self/cgroup", &b) == 0 && b.len) {
		for (p = b.data; p < b.data + b.len; p = end + 1) {
			end = memchr(p, '\n', (size_t)(b.data + b.len - p));
			if (!end)
				end = b.data + b.len;
			if (end - p >= 3 && !strncmp(p, "0::", 3)) {
				path = xstrndup(p + 3, (size_t)(end - p - 3));
				break;
			}
		}
	}
	buf_release(&b);
	return path;
}

/* remove the empty cgroups of runs whose hydro is gone (killed, and its
 * state removed by hand): a run's id is STAMP-PID-SEQ */
static void
sweep(const char *parent)
{
	struct dirent *de;
	char *path, *seq, *pid_at;
	long pid;
	DIR *d = opendir(parent);

	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "hydro-", 6))
			continue;
		/* the pid is between the last two dashes */
		seq = strrchr(de->d_name, '-');
		*seq = '\0';
		pid_at = strrchr(de->d_name, '-');
		*seq = '-';
		if (!pid_at || (pid = strtol(pid_at + 1, NULL, 10)) <= 1 ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		path = path_join(parent, de->d_name);
		rmdir(path);	/* one still holding processes stays: EBUSY */
		free(path);
	}
	if (d)
		closedir(d);
}

char *
cgroup_new(struct state *st, const char *run)
{
	char *mnt = cgroup2_mount(), *own = own_cgroup(), *path = NULL, *procs;
	cJSON *details;

	if (mnt && own && !strstr(own, "/..") && !strchr(run, '/')) {
		path = xasprintf("%s%s%shydro-%s", mnt, own,
		                 own[strlen(own) - 1] == '/' ? "" : "/", run);
		*strrchr(path, '/') = '\0';
		sweep(path);
		path[strlen(path)] = '/';
		procs = path_join(path, "cgroup.procs");
		details = cJSON_CreateObject();
		cJSON_AddStringToObject(details, "path", path);
		/* recorded before it exists, as every thing a run makes; a
		 * directory made, and one whose processes hydro may set */
		if (state_add(st, "cgroup", run, details) < 0) {
			free(path);
			path = NULL;
		} else if (mkdir(path, 0755) < 0 || access(procs, W_OK) < 0) {
			rmdir(path);
			state_remove(st, "cgroup", run);
			free(path);
			path = NULL;
		}
		free(procs);
	}
	free(mnt);
	free(own);
	return path;
}

int
cgroup_is_ours(const char *path, const char *run)
{
	char *mnt = cgroup2_mount(), *want = xasprintf("hydro-%s", run);
	size_t n = mnt ? strlen(mnt) : 0;
	int ok;

	ok = mnt && !strncmp(path, mnt, n) && path[n] == '/' && !strstr(path, "/..") &&
	     !strcmp(path_basename(path), want) && !strchr(run, '/');
	free(mnt);
	free(want);
	return ok;
}

int
cgroup_end(const char *path)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	char *kill_path = path_join(path, "cgroup.kill");
	int fd, i, ret = 0;

	fd = open(kill_path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		free(kill_path);
		return 0;	/* gone already */
	}
	if (fd < 0 || write(fd, "1", 1) != 1)
		ret = error_errno("cannot end the processes of cgroup '%s'", path);
	if (fd >= 0)
		close(fd);
	free(kill_path);
	/* the killed leave it at once, but not in the same instant */
	for (i = 0; ret == 0 && i < 200; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return error_errno("cannot remove cgroup '%s'", path);
		nanosleep(&tick, NULL);
	}
	return ret < 0 ? ret : error("cgroup '%s' is not empty after its processes were "
	                             "killed", path);
}

/* ---- the "cgroup" kind of state records: id the run, details {"path"} ---- */

static int
cgroup_cleanup(const char *kind, const char *id, const cJSON *details)
{
	const char *path = json_str(details, "path");

	(void)kind;
	if (!path)
		return 0;	/* never made */
	if (!cgroup_is_ours(path, id))
		return error("the record names cgroup '%s', not one hydro makes for "
		             "run '%s'; nothing is signalled", path, id);
	return cgroup_end(path);
}

static char *
cgroup_describe(const char *kind, const char *id, const cJSON *details)
{
	const char *path = json_str(details, "path");

	(void)kind;
	return xasprintf("the cgroup of run %s (%s) and every process in it", id,
	                 path ? path : "?");
}

static const struct state_kind cgroup_kind = {
	"cgroup", cgroup_cleanup, 0, cgroup_describe,
};

void
cgroup_register_state(void)
{
	state_register(&cgroup_kind);
}
