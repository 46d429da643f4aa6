/*
 * deploy: the deployment model, one C representation shared by every config
 * language.
 *
 * A deployment holds hosts (a backend plus its settings), services (a
 * Hydroflow program, a Hydro Deploy crate or any process, placed on a host),
 * their ports, connections from an output port to an input port, and
 * make-style targets.  The Python binding builds it through the functions
 * below (docs/internals/bindings.md says what a binding leaves to them);
 * `hydro plan|build|run FILE.json` read it from its JSON form (docs/spec.md).
 * A plan, a graph picture and a run all read this model.
 *
 * Builder functions check what they can at once and return NULL (or -1) with
 * the error reported; deploy_validate() checks the whole model before
 * anything runs.  The model owns everything it points to.
 */
#ifndef HYDRO_DEPLOY_H
#define HYDRO_DEPLOY_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "map.h"

#define DEPLOY_SPEC_VERSION 1
/* the longest name of a host, service, port or target */
#define NAME_MAX_LEN 200
/* the longest stop_timeout a service may have, in seconds (a day) */
#define STOP_TIMEOUT_MAX 86400

struct kv {
	char *key;
	char *value;
};

struct host {
	char *name;		/* unique in the deployment */
	char *backend;		/* a registered backend: "local", "ssh", "gcp" */
	struct kv *settings;	/* backend settings: host, user, port, key, zone... */
	size_t nsettings;
	size_t index;		/* position in deployment->hosts */
	char *where;		/* where it was declared ("echo.hydro.py:7"), for messages */
	void *runtime;		/* the backend's state while running; NULL otherwise */
};

enum service_kind {
	SERVICE_HYDROFLOW,	/* a .hf program that hydro compiles */
	SERVICE_CRATE,		/* a Rust crate written for Hydro Deploy */
	SERVICE_PROCESS,	/* any command; ports handed over as HYDRO_PORT_<NAME> */
	SERVICE_SCRIPT,		/* the config script itself taking part (Hydro Deploy's
				 * CustomService): no process; hydro binds its inputs
				 * and the script connects its outputs (participant.h) */
};

enum port_dir {
	PORT_UNKNOWN,		/* named by use and not connected yet (crates) */
	PORT_INPUT,
	PORT_OUTPUT,
};

struct port {
	char *name;
	enum port_dir dir;
	char *type;		/* the Rust type from a .hf header, or NULL */
	int declared;		/* declared by the program; else named by use */
	struct service *service;
};

enum ready_kind {
	READY_NONE,		/* ready once started (or once it answered ready:) */
	READY_PORT,		/* arg: a port name (its own input) accepting connections */
	READY_LOG,		/* arg: a regular expression a log line must match */
	READY_COMMAND,		/* argv: a command that must succeed */
};

struct service {
	char *name;		/* unique in the deployment */
	enum service_kind kind;
	struct host *host;
	char *src;		/* .hf file or crate directory (absolute); NULL for a process */
	char **standin;		/* hydroflow: a command speaking the port protocol, run in
				 * place of the compiled program (the .hf is still checked
				 * and declares the ports); NULL: the compiled program */
	size_t nstandin;
	char **argv;		/* process: the command; others: extra arguments */
	size_t argc;
	struct kv *env;
	size_t nenv;
	char *cwd;		/* working directory, or NULL for the run directory */
	/* crates (Hydro Deploy's HydroflowCrate) */
	char *bin, *example, *profile;
	char **features;
	size_t nfeatures;
	/* ports, in declaration (or first use) order */
	struct port **ports;
	size_t nports;
	/* targets that must be built first */
	char **needs;
	size_t nneeds;
	/* files it needs beside its program (files=), relative to the
	 * deployment's dir: packed with its program as files/NAME */
	char **files;
	size_t nfiles;
	struct {
		enum ready_kind kind;
		char *arg;
		char **argv;
		size_t argc;
	} ready;
	int can_die;		/* its exit does not stop the others */
	int inherit_sockets;	/* process: hydro binds its inputs and hands the
				 * listening sockets over (LISTEN_FDS) */
	double stop_timeout;	/* seconds from "stop" to SIGTERM and SIGTERM to SIGKILL */
	size_t index;		/* position in deployment->services */
	char *where;		/* where it was declared ("echo.hydro.py:12"), for messages */
	void *runtime;		/* the run's state of this service; NULL otherwise */
};

/* A connection sends what an output port emits to an input port.  Several
 * connections on one port mean broadcast (an output) or fan-in (an input).
 * The other fields are Hydro Deploy's explicit wiring, for crates. */
struct connection {
	struct port *from;	/* an output; NULL: hydro.null() as a source */
	struct port *to;	/* an input; NULL: hydro.null() as a sink */
	long key;		/* hydro.demux({key: ...}) on the sender, or -1 */
	long tag;		/* .tagged(n) on the sender, or -1 */
	int merge;		/* the receiver was given as .merge() */
	size_t index;
};

struct target {
	char *name;		/* unique among targets */
	char **argv;		/* the command that makes the outputs */
	size_t argc;
	char **inputs;		/* files or globs, relative to the deployment's dir */
	size_t ninputs;
	char **outputs;		/* files, relative to the deployment's dir */
	size_t noutputs;
	struct kv *env;
	size_t nenv;
	char **needs;		/* targets that must be made first */
	size_t nneeds;
	char *cwd;		/* relative to the deployment's dir, or NULL */
	size_t index;
	char *where;		/* where it was declared, for messages */
};

struct deployment {
	char *dir;		/* absolute; relative paths in the model are against it */
	char *config;		/* the config file, for messages ("echo.hydro.py") */
	struct host **hosts;
	size_t nhosts, caphosts;
	struct service **services;
	size_t nservices, capservices;
	struct connection **conns;
	size_t nconns, capconns;
	struct target **targets;
	size_t ntargets, captargets;
	/* names to indices, so that lookups stay cheap in large deployments */
	struct map host_names, service_names, target_names;
	char *where;		/* where the binding declares from now (deploy_set_where) */
	/* names of an earlier round's hosts and services (deploy_reserve):
	 * never made up for new ones, and no service may take one
	 * (NULL-terminated) */
	char **reserved_hosts, **reserved_services;
	size_t nreserved_hosts, nreserved_services;
};

/* a new empty deployment whose relative paths are against dir */
struct deployment *deployment_new(const char *dir, const char *config);
/* free the deployment and everything in it */
void deployment_free(struct deployment *d);

/* keep a host's (host != 0) or a service's name of an earlier round of the
 * deployment from being given to a new one */
void deploy_reserve(struct deployment *d, int host, const char *name);
/* add a host; name NULL makes one ("local1"); NULL if the name is taken */
struct host *deploy_add_host(struct deployment *d, const char *name, const char *backend);
/* set a backend setting, replacing an earlier value */
void host_set(struct host *h, const char *key, const char *value);
/* ports the host's machine opens to the internet for its services (Hydro
 * Deploy's external_ports): added to its "external_ports" setting where its
 * backend makes machines (gcp), nothing elsewhere; -1 for a number that is
 * no TCP port */
int host_open_ports(struct host *h, const long *ports, size_t n);
/* a backend setting, or NULL */
const char *host_get(const struct host *h, const char *key);
/* the host of that name, or NULL */
struct host *deploy_find_host(const struct deployment *d, const char *name);

/* add a service on host; name NULL makes one from src ("echo_server", "echo_server2") */
struct service *deploy_add_service(struct deployment *d, const char *name,
                                   enum service_kind kind, struct host *host,
                                   const char *src);
/* the service of that name, or NULL */
struct service *deploy_find_service(const struct deployment *d, const char *name);
/* append an argument (process: to the command) */
void service_add_arg(struct service *s, const char *arg);
/* set an environment variable for the service */
void service_set_env(struct service *s, const char *key, const char *value);
/* declare a port (from a .hf header or a Process's ports=); NULL if declared twice */
struct port *service_declare_port(struct service *s, const char *name,
                                  enum port_dir dir, const char *type);
/* the port of that name; a crate's port is made on first use, a declared
 * program's unknown port is an error naming the ports it has */
struct port *service_port(struct service *s, const char *name);
/* "service.port", for messages (a new string) */
char *port_label(const struct port *p);

/* connect an output to an input (either may be NULL for hydro.null());
 * errors, naming both ends: input to input, output to output, a port to
 * itself, the same connection twice */
struct connection *deploy_connect(struct deployment *d, struct port *from, struct port *to);

/* add a target; NULL if the name is taken */
struct target *deploy_add_target(struct deployment *d, const char *name);
/* the target of that name, or NULL */
struct target *deploy_find_target(const struct deployment *d, const char *name);

/*
 * What a language binding calls (docs/internals/bindings.md): the decisions
 * about what a declaration means live here, so that every binding makes the
 * same ones and only maps its calls and values onto these.
 */

/* say where the declarations that follow are made ("echo.hydro.py:12"; NULL:
 * the config file): the hosts, services and targets added record it, and
 * the model's later messages about them name it */
void deploy_set_where(struct deployment *d, const char *where);
/* the settings a host of backend takes, in the order a binding may give
 * them positionally (NULL-terminated); NULL for a backend the model does
 * not know */
const char *const *deploy_backend_settings(const char *backend);
/* add a host of a backend the model knows with its settings: an entry with
 * a NULL key is positional (the next of deploy_backend_settings()); an
 * unknown, repeated or missing setting is an error.  An entry with a NULL
 * value is given as "no value": "none" for a setting that has one (a gcp
 * host's ttl), else as if it were not given.  Whether the backend is
 * built in is deploy_check_backends()'s question, asked before a run */
struct host *deploy_declare_host(struct deployment *d, const char *name,
                                 const char *backend, const struct kv *settings,
                                 size_t n);
/* check a service's src before it is added, relative to d->dir: a .hf file
 * (hydroflow), a directory with a Cargo.toml (crate) */
int deploy_check_src(const struct deployment *d, enum service_kind kind, const char *src);
/* add a process running argv on host; name NULL makes one from the command:
 * the script an interpreter runs ("worker" for python3 -u worker.py), else
 * the program ("redis-server"), made unique ("worker2") */
struct service *deploy_add_process(struct deployment *d, const char *name,
                                   struct host *host, char *const *argv, size_t argc);
/* add the config script itself as a service on host (its ports are made
 * by use, one connection each); name NULL makes one ("script", "script2") */
struct service *deploy_add_participant(struct deployment *d, const char *name,
                                       struct host *host);
/* declare the ports of a Hydroflow service's program, from its module
 * header; -1 when the program does not check (its diagnostics printed) */
int service_read_ports(struct service *s);
/* add files the service needs (files=), paths relative to the deployment's
 * directory; -1 with the error reported for a name that is empty, absolute
 * or has ".." in it (nothing is added then) */
int service_add_files(struct service *s, char *const *files, size_t n);
/* set the working directory, relative to the deployment's directory */
void service_set_cwd(const struct deployment *d, struct service *s, const char *cwd);
/* set the readiness check by name: "port" (arg: one of its inputs), "log"
 * (arg: a regular expression a log line matches), "command" (argv); kind
 * NULL or another name, or a bad value, is an error saying what it takes */
int service_set_ready(struct service *s, const char *kind, const char *arg,
                      char *const *argv, size_t argc);
/* how a process gets its inputs, by name: "address" (it binds the address
 * in HYDRO_PORT_<NAME>, the default) or "inherit" (hydro binds them and
 * hands the listening sockets over, LISTEN_FDS); another name is an error
 * saying what it takes */
int service_set_sockets(struct service *s, const char *how);
/* a port's direction by name: "input" or "in", "output" or "out", "unknown"
 * (named now, given by its first connection); -1 with the error naming port */
int port_dir_parse(const char *port, const char *name, enum port_dir *dir);
/* deploy_connect() with Hydro Deploy's explicit wiring: a demux key and a
 * tag (-1: none, else 0 to 4294967295) and the receiver's .merge() */
struct connection *deploy_connect_with(struct deployment *d, struct port *from,
                                       struct port *to, long long key, long long tag,
                                       int merge);
/* check that every host's backend is built into this hydro ("the 'gcp'
 * backend is not available yet"); every problem reported, -1 if any */
int deploy_check_backends(const struct deployment *d);
/* check that every service can be built as declared (a crate names one
 * bin or one example); every problem reported, -1 if any */
int deploy_check_buildable(const struct deployment *d);

/* check the whole model: a host setting its backend refuses (host_check),
 * unknown names, duplicates, an output made by two
 * targets, a cycle among targets, ports left unconnected; every problem is
 * reported, each naming the offending entry; -1 if any */
int deploy_validate(const struct deployment *d);

/* build a deployment from its JSON form; what names the source in messages */
struct deployment *deploy_from_json(const cJSON *json, const char *dir, const char *what);
/* read a deployment from a JSON file */
struct deployment *deploy_load(const char *path);
/* the JSON form of a deployment (docs/spec.md) */
cJSON *deploy_to_json(const struct deployment *d);
/* print the topology: hosts as clusters, services as nodes, connections as edges */
void deploy_graph(const struct deployment *d, enum graph_format format, FILE *out);

/* how a service talks to hydro, by its kind */

/* whether the service speaks the port protocol (hydroflow, crate) */
int service_speaks(const struct service *s);
/* whether the service speaks it on a control channel of its own (hydro's
 * programs and their stand-ins) rather than on stdin/stdout (crates) */
int service_has_control(const struct service *s);

#endif
