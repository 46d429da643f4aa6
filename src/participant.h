/*
 * participant: the config script itself taking part in its deployment
 * (SERVICE_SCRIPT, Hydro Deploy's CustomService).
 *
 * The script runs in hydro's own process (hydro-python), so it needs no
 * process and no handshake: the run binds a listening socket for each of
 * its inputs before any service starts (as for a process that inherits its
 * sockets, ports.h), so that its senders are told that address; each of its
 * outputs is told, like any sender, the address its receiver answered in
 * "ready:".  Once the deployment is up, the binding asks for each port's
 * end and makes the connection itself: it accepts on an input's listening
 * socket, or connects an output to its receiver, and frames the messages as
 * every wired connection does (ports.h, FRAME_MAX).  A port of the script
 * carries one connection.
 */
#ifndef HYDRO_PARTICIPANT_H
#define HYDRO_PARTICIPANT_H

#include "run.h"

struct svc;

/* the launch step of the script: nothing to spawn; 0 once its inputs have
 * their sockets, -1 with the error reported */
int participant_launch(struct run *r, struct svc *v);

/* the script's end of the connection on its port 'port' of s, once
 * run_deploy() has returned: *server_port (a new string) is the ServerPort
 * JSON of the address the connection is made at, the receiver's bound one
 * for an output, the script's own for an input ("Null" for hydro.null());
 * for an output, *addr (a new string, or NULL for hydro.null()) is where to
 * connect, "host:port" or "unix:PATH"; for an input, *fd is a new
 * descriptor of its listening socket, to accept the sender's connection on,
 * else -1.  -1 with the error reported */
int run_participant_port(struct run *r, struct service *s, const char *port,
                         char **server_port, char **addr, int *fd);

#endif
