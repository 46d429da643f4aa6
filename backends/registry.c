/*
 * registry: the backends, registered by name in one table, and the core's
 * host_* wrappers that do the NULL checks for optional methods.
 */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "buf.h"
#include "error.h"
#include "str.h"
#include "xmalloc.h"

extern const struct backend backend_local;
extern const struct backend backend_ssh;
extern const struct backend backend_gcp;

static const struct backend *const backends[] = {
	&backend_local,
	&backend_ssh,
	&backend_gcp,
	NULL,
};

const struct backend *
backend_find(const char *name)
{
	size_t i;

	for (i = 0; name && backends[i]; i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

const struct backend *const *
backend_list(void)
{
	return backends;
}

int
host_backend(struct host *h, const struct backend **out)
{
	const char *names[sizeof(backends) / sizeof(backends[0])];
	const char *close;
	struct buf all = BUF_INIT;
	size_t n;

	*out = backend_find(h->backend ? h->backend : "local");
	if (*out)
		return 0;
	for (n = 0; backends[n]; n++)
		names[n] = backends[n]->name;
	close = str_closest(h->backend, names, n);
	if (close)
		return error("host '%s' has an unknown backend '%s'; did you mean '%s'?",
		             h->name, h->backend, close);
	for (n = 0; backends[n]; n++)
		buf_printf(&all, "%s%s", n ? ", " : "", backends[n]->name);
	error("host '%s' has an unknown backend '%s'; this hydro has: %s",
	      h->name, h->backend, all.data);
	buf_release(&all);
	return -1;
}

/* the host's backend; hosts were checked by host_backend() before a run */
static const struct backend *
be(struct host *h)
{
	const struct backend *b = backend_find(h->backend ? h->backend : "local");

	return b ? b : backends[0];
}

int
backends_setup(const struct backend_env *env)
{
	size_t i;

	for (i = 0; backends[i]; i++)
		if (backends[i]->setup && backends[i]->setup(env) < 0)
			return -1;
	return 0;
}

const char *
host_triple(struct host *h)
{
	const char *t = host_get(h, "target");

	/* a host's "target" setting overrides what its backend says */
	if (t && *t)
		return t;
	return be(h)->triple ? be(h)->triple(h) : "unknown";
}

const char *
host_address(struct host *h)
{
	return be(h)->address ? be(h)->address(h) : "127.0.0.1";
}

unsigned
host_caps(struct host *h)
{
	return be(h)->caps;
}

int
host_provision(struct host *h)
{
	return be(h)->provision ? be(h)->provision(h) : 0;
}

int
host_put_file(struct host *h, const char *local, const struct hash *hash,
              char **remote)
{
	/* no put_file: the host shares this machine's files */
	if (!be(h)->put_file) {
		if (remote)
			*remote = xstrdup(local);
		return 0;
	}
	return be(h)->put_file(h, local, hash, remote);
}

int
host_spawn(struct host *h, struct spawn *sp)
{
	if (!be(h)->spawn)
		return error("host '%s' (%s) cannot start processes", h->name, be(h)->name);
	if (sp->nlisten && !(be(h)->caps & BACKEND_THIS_MACHINE))
		return error("host '%s' (%s) cannot hand a process its sockets: "
		             "sockets \"inherit\" is for hosts on this machine",
		             h->name, be(h)->name);
	if (sp->want_control && !(be(h)->caps & BACKEND_CONTROL))
		sp->want_control = 0;
	return be(h)->spawn(h, sp);
}

int
host_signal(struct host *h, struct spawn *sp, int sig)
{
	return be(h)->signal ? be(h)->signal(h, sp, sig) : 0;
}

int
host_wait(struct host *h, struct spawn *sp, int *status)
{
	if (!be(h)->wait)
		return error("host '%s' (%s) cannot wait for processes", h->name, be(h)->name);
	return be(h)->wait(h, sp, status);
}

void
host_release(struct host *h, struct spawn *sp)
{
	if (be(h)->release)
		be(h)->release(h, sp);
}

int
host_terminate(struct host *h)
{
	return be(h)->terminate ? be(h)->terminate(h) : 0;
}

int
host_check(struct host *h)
{
	return be(h)->check ? be(h)->check(h) : 0;
}

void
host_disconnect(struct host *h)
{
	if (be(h)->disconnect)
		be(h)->disconnect(h);
}

int
host_same_machine(struct host *a, struct host *b)
{
	return a == b || !strcmp(host_machine_id(a), host_machine_id(b));
}

int
host_is_here(struct host *h)
{
	return (host_caps(h) & BACKEND_THIS_MACHINE) != 0;
}

const char *
host_machine_id(struct host *h)
{
	if (be(h)->machine_id)
		return be(h)->machine_id(h);
	return host_is_here(h) ? "local" : h->name;
}

int
host_run(struct host *h, char *const argv[], host_sink *sink, void *arg,
         int *status)
{
	if (!be(h)->run)
		return error("host '%s' (%s) cannot run commands", h->name, be(h)->name);
	return be(h)->run(h, argv, sink, arg, status);
}

static int
keep_stdout(void *arg, int stream, const char *data, size_t n)
{
	if (stream == 1)
		buf_add(arg, data, n);
	return 0;
}

static int
keep_both(void *arg, int stream, const char *data, size_t n)
{
	(void)stream;
	buf_add(arg, data, n);
	return 0;
}

int
host_capture(struct host *h, char *const argv[], struct buf *out, int both,
             int *status)
{
	return host_run(h, argv, both ? keep_both : keep_stdout, out, status);
}

char *
host_libc(struct host *h)
{
	char *argv[] = { "getconf", "GNU_LIBC_VERSION", NULL };
	struct buf b = BUF_INIT;
	int st = -1;

	if (be(h)->libc)
		return be(h)->libc(h);
	if (host_capture(h, argv, &b, 0, &st) < 0) {
		buf_release(&b);
		return NULL;
	}
	/* a musl or BSD libc has no such setting: nothing said */
	if (st != 0)
		buf_reset(&b);
	return buf_detach(&b, NULL);
}

int
host_probe(struct host *h, const char *addr, int port)
{
	if (!be(h)->probe)
		return error("host '%s' (%s) cannot probe ports", h->name, be(h)->name);
	return be(h)->probe(h, addr, port);
}

int
host_free_ports(struct host *h, int *ports, size_t n)
{
	if (!n)
		return 0;
	if (!be(h)->free_ports)
		return error("host '%s' (%s) cannot choose ports", h->name, be(h)->name);
	return be(h)->free_ports(h, ports, n);
}

int
host_listen_watch(struct host *h, int port, const char *seen, struct spawn *sp)
{
	return be(h)->listen_watch ? be(h)->listen_watch(h, port, seen, sp) : 1;
}

int
host_unpack(struct host *h, const char *pkg, const char *dir)
{
	if (!be(h)->unpack)
		return error("host '%s' (%s) cannot unpack packages", h->name, be(h)->name);
	return be(h)->unpack(h, pkg, dir);
}

char *
host_run_dir(struct host *h, const char *run, const char *service)
{
	return be(h)->run_dir ? be(h)->run_dir(h, run, service) : NULL;
}

int
host_tunnel(struct host *h, const char *addr, int port, int *local_port)
{
	if (!be(h)->tunnel)
		return error("host '%s' (%s) cannot open tunnels", h->name, be(h)->name);
	return be(h)->tunnel(h, addr, port, local_port);
}

cJSON *
host_record(struct host *h)
{
	return be(h)->record ? be(h)->record(h) : NULL;
}

int
host_tunnel_back(struct host *h, const char *addr, int port, int *remote_port)
{
	if (!be(h)->tunnel_back)
		return error("host '%s' (%s) cannot open tunnels back to this machine",
		             h->name, be(h)->name);
	return be(h)->tunnel_back(h, addr, port, remote_port);
}

int
hosts_allow(struct host *from, const struct host_port *to, size_t n)
{
	struct host_port *mine = xcalloc(n + 1, sizeof(*mine));
	size_t i, j, k;
	int ret = 0;

	for (i = 0; backends[i] && ret == 0; i++) {
		if (!backends[i]->allow)
			continue;
		for (j = k = 0; j < n; j++)
			if (be(to[j].host) == backends[i])
				mine[k++] = to[j];
		if (k)
			ret = backends[i]->allow(from, mine, k);
	}
	free(mine);
	return ret;
}

void
backends_register_state(void)
{
	size_t i;

	for (i = 0; backends[i]; i++)
		if (backends[i]->register_state)
			backends[i]->register_state();
}

int
backends_sweep(const char *project_dir)
{
	size_t i;
	int ret = 0;

	for (i = 0; backends[i]; i++)
		if (backends[i]->sweep && backends[i]->sweep(project_dir) < 0)
			ret = -1;
	return ret;
}
