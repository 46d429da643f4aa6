/*
 * backend: the one interface to a machine.
 *
 * A backend is a const struct of function pointers with a name and
 * capability bits, registered by name in one table (registry.c) and found
 * with backend_find().  The core holds a struct host and calls the host_*
 * wrappers below; it never asks which backend it holds.  Optional methods
 * are NULL and the wrappers do the NULL checks (a missing put_file means the
 * host shares this machine's files, a missing provision means there is
 * nothing to make ready).
 *
 * A spawned process is handed to the core as local file descriptors (its
 * stdin, stdout, stderr, an optional control channel and a descriptor that
 * becomes readable when it has exited), so that one poll() loop supervises
 * local and remote processes alike.  docs/internals/backends.md is the
 * contract a new backend implements.
 */
#ifndef HYDRO_BACKEND_H
#define HYDRO_BACKEND_H

#include <cjson/cJSON.h>

#include "deploy.h"
#include "hash.h"

struct buf;

struct state;

/* receives output as it comes: stream 1 stdout, 2 stderr; 0, or -1 to stop */
typedef int host_sink(void *arg, int stream, const char *data, size_t n);

/* capability bits */
#define BACKEND_THIS_MACHINE	(1u << 0)	/* processes run on this machine:
						 * Unix sockets reach them, files are shared */
#define BACKEND_CONTROL		(1u << 1)	/* spawn can hand over a control channel */
#define BACKEND_MACHINES	(1u << 2)	/* provision creates machines that
						 * terminate must remove */

/* a process on a host: what to start, then what the backend made */
struct spawn {
	/* set by the caller */
	char **argv;		/* NULL-terminated; argv[0] a path or a name in PATH */
	char **env;		/* NULL-terminated "NAME=value" added to the host's
				 * environment, or NULL */
	const char *cwd;	/* working directory on the host, or NULL */
	int want_stdin;		/* a pipe to its stdin (else /dev/null) */
	int want_control;	/* a control channel, named by HYDRO_CONTROL_FD */
	int keep;		/* may outlive hydro (run --keep): not killed when
				 * hydro dies; still a process group of its own */
	const char *cgroup;	/* a cgroup v2 directory of the run's own to put
				 * it in (cgroup.h), or NULL: a local matter */
	/* set by the backend; -1 when absent */
	int in;			/* write end of its stdin */
	int out, err;		/* read ends of its stdout and stderr */
	int ctl;		/* our end of the control channel (read and write) */
	int exit_fd;		/* readable once the process has exited */
	long pid;		/* its id on the host, for records and messages */
	long pgid;		/* its process group, or 0 */
	unsigned long long ident;	/* tells this process from a later one with
					 * the same pid (local: its start time) */
	void *handle;		/* the backend's own */
	/* set by the caller, for a backend on this machine: listening sockets
	 * the process gets at 3, 4, ... with LISTEN_FDS and LISTEN_PID (its
	 * own), as sd_listen_fds(3) reads them; the caller closes its copies */
	const int *listen_fds;
	size_t nlisten;
};

#define SPAWN_INIT { NULL, NULL, NULL, 0, 0, 0, NULL, -1, -1, -1, -1, -1, 0, 0, 0, NULL, NULL, 0 }

/* a TCP port of a host, as a sender is wired to it */
struct host_port {
	struct host *host;
	int port;
};

/* what a run tells every backend before it provisions */
struct backend_env {
	const char *hydro_dir;	/* the project's .hydro directory (absolute):
				 * a backend's files of the project live there */
	int trust_new_hosts;	/* hydro run --trust-new-hosts: record the key of
				 * a host not seen before instead of refusing it */
	struct state *state;	/* the run's state file (hydro down's too) */
	const char *project_dir;	/* the deployment's directory (absolute) */
};

struct backend {
	const char *name;
	unsigned caps;
	/* triple: the target triple programs for this host are built for (a
	 * host's "target" setting overrides it: host_triple()) */
	const char *(*triple)(struct host *h);
	/* address: the address peers reach this host's TCP ports at, and that
	 * its services bind ("127.0.0.1", an internal IP) */
	const char *(*address)(struct host *h);
	/* provision: make the host ready (idempotent), recording in the state
	 * file what it creates before creating it */
	int (*provision)(struct host *h);
	/* put_file: copy a local file to the host unless a file with that hash
	 * is already there (a partial copy never counts); 1 if copied, 0 if
	 * skipped; *remote (may be NULL) gets its path on the host */
	int (*put_file)(struct host *h, const char *local, const struct hash *hash,
	                char **remote);
	/* spawn: start a process in a process group of its own, which dies if
	 * hydro dies */
	int (*spawn)(struct host *h, struct spawn *sp);
	/* signal: send sig to the process's whole group */
	int (*signal)(struct host *h, struct spawn *sp, int sig);
	/* wait: collect the exit status (128+n for a signal n); blocks until
	 * the process has exited; 0, or -1 if it cannot be known */
	int (*wait)(struct host *h, struct spawn *sp, int *status);
	/* release: close what spawn opened and free the handle */
	void (*release)(struct host *h, struct spawn *sp);
	/* terminate: release the machine provision made */
	int (*terminate)(struct host *h);
	/* cleanup: remove what a state file record of this backend names,
	 * after a crash (hydro down): a process record has "pid", "pgid" and
	 * "ident" as spawn set them; 0 if it is gone */
	int (*cleanup)(const cJSON *record);
	/* setup: take the run-wide options, before any host is provisioned;
	 * called once per run for every registered backend */
	int (*setup)(const struct backend_env *env);
	/* check: whether the host's settings are usable (numbers, files),
	 * without reaching it; the error names the host and h->where */
	int (*check)(struct host *h);
	/* disconnect: release what the run holds of the host (connections,
	 * h->runtime), at the end of every run, after terminate if that ran;
	 * the machine itself is left as it is */
	void (*disconnect)(struct host *h);
	/* register_state: make the backend's own state kinds known (records of
	 * what it made that hydro down removes), before the state is read */
	void (*register_state)(void);
	/* sweep: hydro down --sweep, remove what the backend made for the
	 * deployment of project_dir found by its labels, without the state
	 * file; -1 if any is left */
	int (*sweep)(const char *project_dir);

	/* The slots below let the core treat a remote host like this machine;
	 * the local backend implements them here.  Where a slot is NULL the
	 * wrapper says what it means (machine_id, run_dir, record) or fails
	 * naming the host and what it cannot do. */

	/* machine_id: equal for two hosts that are one machine (their services
	 * can share Unix sockets and files), e.g. "ssh:user@host:22"; NULL slot:
	 * "local" for BACKEND_THIS_MACHINE, else the host's own name */
	const char *(*machine_id)(struct host *h);
	/* run: run argv on the host to completion (a readiness command, mkdir,
	 * unpacking); output to sink as it comes, the exit status (128+n for
	 * signal n) to *status; -1 only if it could not be run at all */
	int (*run)(struct host *h, char *const argv[], host_sink *sink, void *arg,
	           int *status);
	/* probe: whether something accepts TCP connections at addr:port, seen
	 * from the host (readiness "port"); 1 yes, 0 not (yet), -1 error */
	int (*probe)(struct host *h, const char *addr, int port);
	/* free_ports: n TCP ports on the host's address that nothing uses now,
	 * each other's and every port handed out before on the host distinct,
	 * for services that are handed their port numbers (asked once for all
	 * a provision needs) */
	int (*free_ports)(struct host *h, int *ports, size_t n);
	/* unpack: unpack a package that put_file placed at pkg on the host into
	 * dir, a new directory (making the folders above it), with archive.h's rules: no
	 * absolute paths, "..", links, devices; every hash checked against the
	 * manifest; a half-unpacked dir is never left under that name */
	int (*unpack)(struct host *h, const char *pkg, const char *dir);
	/* run_dir: the directory on the host for one service's files in one run
	 * (what unpack fills, the process's cwd, its HYDRO_RUN_DIR), malloc'd;
	 * NULL slot: the core's local run directory */
	char *(*run_dir)(struct host *h, const char *run, const char *service);
	/* tunnel: a port on 127.0.0.1 here that reaches addr:port as the host
	 * sees it, open until disconnect; for peers this machine cannot reach */
	int (*tunnel)(struct host *h, const char *addr, int port, int *local_port);
	/* record: what hydro down needs to reach the host again (its settings,
	 * never a secret), stored as "host" in each process record of the host
	 * before the spawn and given back to cleanup; NULL slot: nothing */
	cJSON *(*record)(struct host *h);
	/* tunnel_back: a port the host listens on at 127.0.0.1 whose
	 * connections reach addr:port here (an input of this machine its
	 * services cannot reach), open until disconnect; NULL slot: a sender
	 * there into a loopback input here fails, naming both */
	int (*tunnel_back)(struct host *h, const char *addr, int port, int *remote_port);
	/* allow: let the service on `from`, a host on another machine, connect
	 * to the n TCP inputs `to` it is wired to (hosts of this backend, each
	 * with the port its input bound), called once those ports are chosen
	 * and before it connects, once per sender; 0 once it can connect (a
	 * cloud's firewall updated); NULL slot: nothing stands in the way */
	int (*allow)(struct host *from, const struct host_port *to, size_t n);
	/* libc: what 'getconf GNU_LIBC_VERSION' says on the host ("glibc 2.36",
	 * "" when nothing), malloc'd, NULL with the error; for a backend that
	 * reads it with other facts in one command; NULL slot: it is asked with
	 * run */
	char *(*libc)(struct host *h);
	/* listen_watch: start on the host, as spawn does (sp's argv, env and
	 * cwd are the backend's), a process that waits until the lines of the
	 * host's /proc/net/tcp and tcp6 for sockets listening on port, as
	 * port_listening() reads them, differ from seen ("" at first), prints
	 * them and exits 0; it exits 3 at once on a host without those tables.
	 * Readiness "port" in one command however long the service takes;
	 * NULL slot: the core reads the tables itself, once per check */
	int (*listen_watch)(struct host *h, int port, const char *seen, struct spawn *sp);
};

/* the backend of that name, or NULL */
const struct backend *backend_find(const char *name);
/* every registered backend, NULL-terminated */
const struct backend *const *backend_list(void);
/* the host's backend; -1 with an error naming the host and the backends
 * there are if its name is unknown */
int host_backend(struct host *h, const struct backend **out);

/* hand env to every registered backend's setup; -1 on the first failure */
int backends_setup(const struct backend_env *env);

/* the core's wrappers: each resolves the host's backend and does the NULL checks */
const char *host_triple(struct host *h);
const char *host_address(struct host *h);
unsigned host_caps(struct host *h);
int host_provision(struct host *h);
int host_put_file(struct host *h, const char *local, const struct hash *hash,
                  char **remote);
int host_spawn(struct host *h, struct spawn *sp);
int host_signal(struct host *h, struct spawn *sp, int sig);
int host_wait(struct host *h, struct spawn *sp, int *status);
void host_release(struct host *h, struct spawn *sp);
int host_terminate(struct host *h);
/* check the host's settings (a backend without check takes any) */
int host_check(struct host *h);
/* release the run's hold on the host (a backend without disconnect holds
 * nothing) */
void host_disconnect(struct host *h);
/* make every backend's state kinds known (before state_down) */
void backends_register_state(void);
/* hydro down --sweep: remove what every backend made for the deployment of
 * project_dir, found by its labels, without the state file; -1 if any is left */
int backends_sweep(const char *project_dir);
/* whether two hosts are one machine (Unix sockets can join them) */
int host_same_machine(struct host *a, struct host *b);
/* whether the host is this machine (its files are ours) */
int host_is_here(struct host *h);
/* the host's machine_id */
const char *host_machine_id(struct host *h);
/* what 'getconf GNU_LIBC_VERSION' says on the host ("" when nothing),
 * malloc'd; NULL with the error */
char *host_libc(struct host *h);
/* run argv on the host (here: a child process) to completion */
int host_run(struct host *h, char *const argv[], host_sink *sink, void *arg,
             int *status);
/* host_run with the output kept: stdout appended to out, and stderr too
 * when both is set */
int host_capture(struct host *h, char *const argv[], struct buf *out, int both,
                 int *status);
/* whether addr:port accepts connections as the host sees it: 1, 0, -1 */
int host_probe(struct host *h, const char *addr, int port);
/* n distinct TCP ports free on the host's address, none handed out before */
int host_free_ports(struct host *h, int *ports, size_t n);
/* start the host's listen_watch for port; 1 (nothing started) when its
 * backend has none */
int host_listen_watch(struct host *h, int port, const char *seen, struct spawn *sp);
/* unpack pkg (a path on the host) into the new directory dir there */
int host_unpack(struct host *h, const char *pkg, const char *dir);
/* the host's directory for a service's files in a run, malloc'd; NULL when
 * the host is this machine (the core's local run directory is used) */
char *host_run_dir(struct host *h, const char *run, const char *service);
/* a local port reaching addr:port through the host; -1 if it has no way */
int host_tunnel(struct host *h, const char *addr, int port, int *local_port);
/* the host's settings for a process record, or NULL */
cJSON *host_record(struct host *h);
/* a port on the host's 127.0.0.1 reaching addr:port here; -1 if it has no way */
int host_tunnel_back(struct host *h, const char *addr, int port, int *remote_port);
/* let the service on `from` connect to the n TCP ports `to` (on other
 * machines): each backend's allow gets the ports of its own hosts */
int hosts_allow(struct host *from, const struct host_port *to, size_t n);

#endif
