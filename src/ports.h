/*
 * ports: the wiring plan and the port protocol's messages.
 *
 * A plan is made once per run from the deployment's connections.  It decides
 * every connection's transport (a Unix socket when both ends are protocol
 * speakers on this machine, TCP otherwise), what each receiver is asked to
 * bind (Hydro Deploy's ServerBindConfig: UnixSocket, TcpPort, Merge, Tagged,
 * Null) and what each sender is told (ServerPort, or Demux for several
 * receivers), and builds the protocol's messages: the InitConfig line, the
 * map of a "ready:" answer, the map of "start:".  docs/protocol.md is the
 * reference for the shapes.
 *
 * A process (SERVICE_PROCESS) speaks no protocol: hydro picks the TCP
 * address of each of its inputs and hands its ports over as HYDRO_PORT_<NAME>;
 * one that inherits its sockets also gets each input bound and listening,
 * as systemd's socket activation hands them over (LISTEN_FDS).
 *
 * The plan is filled in as services answer (plan_ready); calls on one plan
 * must be serialised by the caller (the run's lock).
 */
#ifndef HYDRO_PORTS_H
#define HYDRO_PORTS_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "deploy.h"

/* the largest frame on a wired connection (a 4-byte big-endian length,
 * then the payload): Hydro Deploy's LengthDelimitedCodec default */
#define FRAME_MAX (8u * 1024 * 1024)

struct plan;

/* whether a port's type is (T, SocketAddr): reply addressing */
int port_replies(const struct port *p);

/* plan the wiring of d; NULL with every problem reported, each naming both
 * ends (a crate's fan-in without merge(), fan-out without demux keys...) */
struct plan *plan_new(struct deployment *d);
/* free the plan */
void plan_free(struct plan *p);

/* the InitConfig for a speaker: [ {input: bind config}, meta ] */
cJSON *plan_init_config(struct plan *p, struct service *s);
/* record a speaker's "ready:" answer (the text after "ready: "); -1 with an
 * error naming the service if it is malformed or does not match what it was
 * asked to bind */
int plan_ready(struct plan *p, struct service *s, const char *answer);
/* the map of "start:" for a speaker: {output: ServerPort | Demux | Null};
 * NULL with the error reported if a receiver has no address yet */
cJSON *plan_start_map(struct plan *p, struct service *s);

/* how many free ports of its host plan_bind_process takes for s */
size_t plan_ports_wanted(struct plan *p, struct service *s);
/* pick the address of each input of a process: TCP on its host's address,
 * at the ports in ports, plan_ports_wanted() of them, that the host said are
 * free (host_free_ports); for one that inherits its sockets, keep each bound
 * and listening until plan_close_sockets() */
int plan_bind_process(struct plan *p, struct service *s, const int *ports);
/* the listening sockets kept for s's inputs, in port order, in a new array
 * *fds; their number (0 for a service that binds its own) */
size_t plan_sockets(struct plan *p, struct service *s, int **fds);
/* close hydro's copies of s's listening sockets (once it has them) */
void plan_close_sockets(struct plan *p, struct service *s);
/* the host and port of a TCP address "host:port" or "[IPv6]:port": the
 * host, without brackets, in a new string *host, the port (1 to 65535) in
 * *port; -1 with an error saying what is wrong with addr and how to write it */
int port_split(const char *addr, char **host, int *port);
/* host and port as one address, "host:port" or "[IPv6]:port": a new string */
char *port_join(const char *host, int port);
/* a free TCP port on addr, an IPv4 address of this machine: bound and read;
 * released (the process binds it) or, with keep (may be NULL), kept
 * listening in *keep (the process inherits it) */
int port_pick(const char *addr, int *port, int *keep);
/* try a TCP connection from this machine to addr:port (0: a port nothing
 * listens on, to learn whether the host answers) for
 * at most timeout_ms: 1 accepted, 0 refused (the host answered), -1 no
 * answer in time or no route there, -2 with the error reported if addr is
 * not an address */
int port_try(const char *addr, int port, int timeout_ms);
/* whether text, the lines of /proc/net/tcp and /proc/net/tcp6 as a host
 * prints them, shows a socket listening on port at addr (an IP address as
 * port_split gives it, or a name: any address) or on every address: 1,
 * else 0 */
int port_listening(const char *text, const char *addr, int port);
/* whether text, as port_listening() reads it, shows any socket (listening,
 * connected, closing) on local port port: 1, else 0 */
int port_in_use(const char *text, int port);
/* whether text, the lines of /proc/net/unix, shows a socket listening at
 * path (or at a relative name path ends with): 1, else 0 */
int port_unix_listening(const char *text, const char *path);
/* the environment a process gets: HYDRO_PORT_<NAME>=address for each input,
 * =address,address,... for each output, and LISTEN_FDNAMES=in1:in2 while
 * its sockets are kept; NULL-terminated, free with
 * str_free_list(); NULL with the error reported if an address is unknown */
char **plan_env(struct plan *p, struct service *s);
/* the address an input can be reached at ("127.0.0.1:4000", "unix:/path"),
 * or NULL before it is bound */
const char *plan_address(struct plan *p, const struct port *in);

/* the receivers of s's outputs and the senders into its inputs: every
 * service s is wired with, each once, in deployment order; the count */
size_t plan_receivers(struct plan *p, const struct service *s, struct service ***out);

/* a connection from a sender to a TCP input on another machine */
struct plan_peer {
	size_t wire;		/* its number, for plan_set_route() */
	struct host *host;	/* the receiver's host */
	char *addr;		/* the host of the receiver's bound address
				 * (port_split's: IPv6 without brackets) */
	int port;
};
/* the connections from s's outputs to inputs on other machines whose TCP
 * address is known and not yet routed, in a new array *out (free each
 * addr); their number */
size_t plan_remote_peers(struct plan *p, struct service *s, struct plan_peer **out);
/* tell the sender of connection wire to send to addr:port instead of where
 * its receiver bound (a tunnel's end on this machine) */
void plan_set_route(struct plan *p, size_t wire, const char *addr, int port);

/* print the wiring: one line per connection with its transport */
void plan_print(struct plan *p, FILE *out);

/* the "host:port" or "unix:PATH" address of a ServerPort; NULL if it is
 * not one of those */
char *server_port_address(const cJSON *sp);

#endif
