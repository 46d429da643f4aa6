/*
 * ssh_int: what the SSH backend's files share about a connection: the
 * connection itself, waiting on its socket, and its errors.  Not for the
 * core: ssh.h is the backend's interface.
 */
#ifndef HYDRO_SSH_INT_H
#define HYDRO_SSH_INT_H

#include <pthread.h>
#include <sys/socket.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "buf.h"

struct ssh_pump;
struct host;

struct ssh_conn {
	LIBSSH2_SESSION *s;
	int fd;
	char *label;		/* "host 'web'" */
	char *where;		/* "10.0.0.2:22" */
	int timeout_ms;
	int up;			/* authenticated: keepalives may probe it */
	int broken;		/* the transport failed: reconnect before reuse */
	pthread_mutex_t lock;
	LIBSSH2_SFTP *sftp;
	char triple[80];
	/* what the host says of itself, read once (facts): NULL home until then */
	char *home, *glibc, uname[64];
	int musl;
	struct buf pkgs;	/* the packages it had: "\nHASH\nHASH\n" */
	/* through a bastion: its connection (shared with other hosts behind
	 * it) and the channel carrying this one, pumped by its pump */
	struct ssh_conn *bastion;
	int tunnelled;		/* the bastion's channel to it opened */
	/* the thread pumping this session's long-lived channels (processes,
	 * tunnels, connections through it as a bastion), or NULL */
	struct ssh_pump *pump;
	char *guard;		/* the guard's folder on the host, once started */
	char *id;		/* a bastion's identity, for sharing it */
	int refs;		/* connections through it, as a bastion */
	/* taking turns (ssh_wait_turn): libssh2's reads of the socket, their
	 * count when the waiting threads last heard of them, those threads */
	unsigned long reads;
	unsigned long reads_told;
	struct ssh_waiter *waiters;
	unsigned long rounds;	/* the pump's rounds, each signalled on round */
	pthread_cond_t round;
	long long yielded;	/* when a busy thread last let the pump in (ms) */
	pthread_mutex_t xfer;	/* one SFTP transfer at a time: libssh2 keeps
				 * its state per SFTP session */
};

/* repeat a call returning an int while libssh2 would block */
#define AGAIN(c, rc, call) \
	while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN) \
		if (ssh_wait(c) < 0) \
			break

/* repeat a call returning a pointer while libssh2 would block */
#define AGAIN_P(c, p, call) \
	while (!((p) = (call)) && \
	       libssh2_session_last_errno((c)->s) == LIBSSH2_ERROR_EAGAIN) \
		if (ssh_wait(c) < 0) \
			break

/* repeat a call on a channel of the caller's own while libssh2 would block,
 * giving the session up while it waits (ssh_wait_turn); not for calls whose
 * state libssh2 keeps per session (opening a channel, SFTP's start) */
#define AGAIN_T(c, rc, call) \
	while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN) \
		if (ssh_wait_turn(c) < 0) \
			break

/* report libssh2's last error on c, prefixed by what failed; marks the
 * connection broken unless the session still works */
int ssh_fail(struct ssh_conn *c, const char *what);
/* wait (the connection's timeout at most) until the socket is ready the
 * way libssh2 is blocked; -1 with the error once it stopped answering */
int ssh_wait(struct ssh_conn *c);
/* ssh_wait for a thread other than the pump, holding the session (c
 * locked) in a call on its own channel: while it waits the session is the
 * pump's, so that other channels' data moves (unless a packet is half sent:
 * then it waits holding it); c is locked again on return */
int ssh_wait_turn(struct ssh_conn *c);
/* by the pump at the end of a round, c locked: wake the threads waiting
 * their turn if the socket was read since they last heard, since what came
 * may be theirs, and those letting it in (ssh_yield) */
void ssh_turn_tell(struct ssh_conn *c);
/* by a thread holding the session (c locked) between calls that did not
 * block, as in a long transfer: let the pump do a round, at most every
 * 20 ms, so that the other channels move meanwhile */
void ssh_yield(struct ssh_conn *c);
/* blocking from now on, within the timeout (before freeing things) */
void ssh_block(struct ssh_conn *c);
/* seconds of silence after which a connection counts as lost
 * (HYDRO_SSH_KEEPALIVE, else 30): TCP's timeouts on the socket, keepalives
 * on the session, the guard's heartbeat */
int ssh_alive_seconds(void);
/* free ch (c locked), closing it if it runs, waiting for that within the
 * timeout */
void ssh_channel_drop(struct ssh_conn *c, LIBSSH2_CHANNEL *ch);
/* a new session channel on c (locked) running argv; NULL with the error */
LIBSSH2_CHANNEL *ssh_exec_channel(struct ssh_conn *c, char *const argv[]);
/* a closed channel's exit status as a shell gives it (128+n for signal n) */
int ssh_exit_status(struct ssh_conn *c, LIBSSH2_CHANNEL *ch);
/* take and give back the session; giving it back wakes its pump, which
 * may have data in libssh2's buffers that another thread's call read */
void ssh_lock(struct ssh_conn *c);
void ssh_unlock(struct ssh_conn *c);

/* the pump: one thread per connection moving data between its channels
 * and local descriptors while other threads take turns with the session */

/* start c's pump if it has none; -1 with the error */
int pump_start(struct ssh_conn *c);
/* stop c's pump, closing every link (before the session is freed) */
void pump_stop(struct ssh_conn *c);
/* wake the pump to look at its links again */
void pump_wake(struct ssh_conn *c);

/* a link: a channel joined to local descriptors */
struct pump_link;
/* called by the pump, without the session's lock, once a link is done:
 * the channel closed and everything it sent delivered (status: its exit
 * status, or -1 when not known) */
typedef void pump_done(struct pump_link *l, void *arg, int status);
/* join ch (open, with the session's lock held by the caller) to fd, both
 * ways: what the channel sends goes to fd, what fd gives to the channel;
 * the pump owns ch and closes fd when done */
struct pump_link *pump_stream(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, int fd,
                              pump_done *done, void *arg);
/* join a command's channel (lock held) to in (read here, to its stdin; -1
 * for none), out and err (its stdout and stderr written there); header
 * (may be NULL) gets the first line of its stdout, which is not passed on */
struct pump_link *pump_process(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, int in, int out,
                               int err, void (*header)(void *arg, const char *line),
                               pump_done *done, void *arg);
/* send a heartbeat line to the channel every so many seconds, so that
 * what reads it there can tell a live connection from a silent one */
void pump_beat(struct pump_link *l, int seconds);
/* accept connections on the listening socket fd (c locked), each carried
 * to addr:port as the host sees it by a direct-tcpip channel; the pump
 * owns fd and closes it when it stops */
void pump_listen(struct ssh_conn *c, int fd, const char *addr, int port);
/* have the host listen on a port of its 127.0.0.1 for us (tcpip-forward;
 * c locked, its pump started), the port in *port, and join each channel it
 * forwards from there to a new TCP connection from here to `to`, until the
 * pump stops; -1 with libssh2's error left on the session (not reported) */
int pump_forward(struct ssh_conn *c, const struct sockaddr *to, socklen_t len, int *port);
/* let go of a link: the pump closes its channel and frees it, and done is
 * not called; 0 if the link had already finished (done is being or has
 * been called, and the link is the pump's to free) */
int pump_drop(struct ssh_conn *c, struct pump_link *l);

/* the guard (ssh_proc.c): a POSIX sh script, $1 its folder (made by the
 * first process's wrapper, as processes register there), $2 the seconds
 * without a heartbeat line on its stdin after which it acts as when its
 * stdin ends: it kills the groups registered in its folder */
extern const char ssh_guard_script[];
/* a new guard folder's name on the host ("~/.hydro/guard/..."), malloc'd */
char *ssh_guard_folder(void);
/* the guard's $2, from ssh_alive_seconds() */
void ssh_guard_silence(char out[16]);
/* make ch (c locked), a command now running the guard with folder, c's
 * guard: the pump (started if need be) sends it heartbeats; takes ch and
 * folder even on error (-1 with it reported) */
int ssh_guard_adopt(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, char *folder);

/* the pruner (ssh_prune.c): POSIX sh scripts, the mark that begins a
 * facts command (before it lists the packages: no pruner removes
 * anything while the connection lasts), and the pruner that ends its
 * guard, its $3..$6 as ssh_prune_args() makes them */
extern const char ssh_prune_mark[];
extern const char ssh_prune_script[];
/* the pruner's $3..$6: run folders kept, packages kept, their age and the
 * time within which a use is recent (prune.h) */
void ssh_prune_args(char out[4][16]);

/* the lock one package's unpacking on host h holds (ssh_unpack.c), made on
 * first use, kept until disconnect */
pthread_mutex_t *ssh_package_lock(struct host *h, const char *remote);

#endif
