#define _GNU_SOURCE	/* pipe2 */
/*
 * ssh_pump: one thread per SSH connection moving data between its
 * long-lived channels and local descriptors: a process's stdin, stdout and
 * stderr, a tunnelled TCP connection (either way: from a port here to the
 * host, from a port the host forwards to here), the connection of a host
 * behind it as a bastion.
 *
 * A libssh2 session is not thread-safe, so the pump takes the connection's
 * lock for each round over its links and gives it back while it polls;
 * other threads (commands, uploads) take their turns in between, and wake
 * the pump when they give the session back (ssh_unlock), since what they
 * read from the socket may hold data for the pump's channels.  Everything
 * is non-blocking: a local reader that is slow holds back only its own
 * channel (libssh2's window then holds back the sender).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "ssh.h"
#include "ssh_int.h"
#include "xmalloc.h"

#define CHUNK 32768

/*
 * A call that returned EAGAIN with a packet half written to the socket
 * must be repeated, with the same data, before anything else is sent on the
 * session (libssh2 refuses another with LIBSSH2_ERROR_BAD_USE); so must it
 * before the lock is given to another thread.  So it is repeated here until
 * the packet is out: a full socket holds the pump only until it drains.
 */
#define FINISH(c, rc, call) \
	while ((rc) == LIBSSH2_ERROR_EAGAIN && \
	       (libssh2_session_block_directions((c)->s) & LIBSSH2_SESSION_BLOCK_OUTBOUND) && \
	       ssh_wait(c) == 0) \
		(rc) = (call)

struct pending {
	char data[CHUNK];
	size_t off, len;
};

struct pump_link {
	struct pump_link *next;
	LIBSSH2_CHANNEL *ch;
	int stream;		/* in and out[0] are one socket */
	int in;			/* read here, to the channel; -1 when done */
	int out[2];		/* the channel's stdout and stderr go there; -1 closed */
	int eof[2];		/* the channel's stream ended */
	int in_eof;		/* EOF sent to the channel */
	int lost[2];		/* out[i]'s reader is gone: drop what comes */
	int closing;		/* our close sent, waiting for the channel's */
	int dropped;		/* the owner let go: close and free */
	struct pending toch, tofd[2];
	void (*header)(void *arg, const char *line);
	char head[256];
	size_t headlen;
	int headed;
	pump_done *done;
	void *arg;
	int beat;		/* seconds between heartbeat lines to the channel */
	time_t beat_next;
};

struct pump_listener {
	struct pump_listener *next;
	int fd;
	char *addr;
	int port;
};

/* a port the host listens on for us (tcpip-forward) and where its
 * connections go here */
struct pump_forward {
	struct pump_forward *next;
	LIBSSH2_LISTENER *l;
	struct sockaddr_storage to;
	socklen_t tolen;
};

struct ssh_pump {
	pthread_t thread;
	int wake[2];
	int stop;
	struct pump_link *links;
	struct pump_listener *listeners;
	struct pump_forward *forwards;
};

void
ssh_lock(struct ssh_conn *c)
{
	pthread_mutex_lock(&c->lock);
}

void
ssh_unlock(struct ssh_conn *c)
{
	struct ssh_pump *p = c->pump;

	pthread_mutex_unlock(&c->lock);
	if (p)
		pump_wake(c);
}

void
pump_wake(struct ssh_conn *c)
{
	char x = 1;

	if (c->pump && write(c->pump->wake[1], &x, 1) < 0 && errno != EAGAIN)
		return;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* the first line of stdout, held back for the header callback; what
 * follows it in data is left in *data, *n */
static void
take_header(struct pump_link *l, const char **data, size_t *n)
{
	const char *nl = memchr(*data, '\n', *n);
	size_t take = nl ? (size_t)(nl - *data) + 1 : *n;
	size_t room = sizeof(l->head) - 1 - l->headlen;

	memcpy(l->head + l->headlen, *data, take < room ? take : room);
	l->headlen += take < room ? take : room;
	*data += take;
	*n -= take;
	if (nl || !room) {
		l->head[l->headlen] = '\0';
		if (l->headlen && l->head[l->headlen - 1] == '\n')
			l->head[--l->headlen] = '\0';
		l->headed = 1;
		l->header(l->arg, l->head);
	}
}

/* move what can move on l without blocking; 1 if anything moved, -1 if the
 * channel failed */
static int
link_step(struct ssh_conn *c, struct pump_link *l)
{
	int moved = 0, i;
	ssize_t n;

	for (i = 0; i < 2; i++) {
		struct pending *p = &l->tofd[i];

		while (p->off < p->len && !l->lost[i]) {
			n = l->stream ? send(l->out[i], p->data + p->off, p->len - p->off,
			                     MSG_NOSIGNAL) :
			    write(l->out[i], p->data + p->off, p->len - p->off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				break;
			if (n < 0) {
				/* nobody reads it any more: what comes is dropped */
				l->lost[i] = 1;
				break;
			}
			p->off += (size_t)n;
			moved = 1;
		}
		if (l->lost[i])
			p->off = p->len = 0;
		if (p->off == p->len && !l->eof[i]) {
			const char *d = p->data;
			size_t len;

			n = libssh2_channel_read_ex(l->ch, i, p->data, sizeof(p->data));
			FINISH(c, n, libssh2_channel_read_ex(l->ch, i, p->data, sizeof(p->data)));
			if (n == LIBSSH2_ERROR_EAGAIN || n == 0) {
				if (libssh2_channel_eof(l->ch))
					l->eof[i] = 1;
			} else if (n < 0) {
				return -1;
			} else {
				moved = 1;
				len = (size_t)n;
				if (i == 0 && l->header && !l->headed)
					take_header(l, &d, &len);
				memmove(p->data, d, len);
				p->off = 0;
				p->len = len;
			}
		}
		if (l->eof[i] && p->off == p->len && l->out[i] >= 0) {
			/* the end of the stream reaches the reader */
			if (l->stream)
				shutdown(l->out[i], SHUT_WR);
			else
				close_fd(&l->out[i]);
		}
	}
	if (l->beat && !l->in_eof && l->toch.off == l->toch.len &&
	    time(NULL) >= l->beat_next) {
		memcpy(l->toch.data, "h\n", 2);
		l->toch.off = 0;
		l->toch.len = 2;
		l->beat_next = time(NULL) + l->beat;
	}
	if (l->in >= 0 && !l->in_eof && l->toch.off == l->toch.len) {
		n = read(l->in, l->toch.data, sizeof(l->toch.data));
		if (n > 0) {
			l->toch.off = 0;
			l->toch.len = (size_t)n;
			moved = 1;
		} else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			l->in_eof = -1;	/* to be sent */
		}
	}
	while (l->toch.off < l->toch.len) {
		n = libssh2_channel_write(l->ch, l->toch.data + l->toch.off,
		                          l->toch.len - l->toch.off);
		FINISH(c, n, libssh2_channel_write(l->ch, l->toch.data + l->toch.off,
		                                   l->toch.len - l->toch.off));
		if (n == LIBSSH2_ERROR_EAGAIN)
			break;
		if (n < 0) {
			/* the other end has gone: it reads no more */
			l->toch.off = l->toch.len = 0;
			l->in_eof = 1;
			break;
		}
		l->toch.off += (size_t)n;
		moved = 1;
	}
	if (l->in_eof == -1 && l->toch.off == l->toch.len) {
		n = libssh2_channel_send_eof(l->ch);
		FINISH(c, n, libssh2_channel_send_eof(l->ch));
		if (n != LIBSSH2_ERROR_EAGAIN) {
			l->in_eof = 1;
			moved = 1;
			if (!l->stream)
				close_fd(&l->in);
		}
	}
	/* a tunnelled connection closed here ends its channel */
	if (l->stream && l->in_eof && l->lost[0])
		l->eof[0] = l->eof[1] = 1;
	return moved;
}

/* whether the channel is over: both streams ended and delivered */
static int
link_over(struct pump_link *l)
{
	return l->eof[0] && l->eof[1] && l->tofd[0].off == l->tofd[0].len &&
	       l->tofd[1].off == l->tofd[1].len && (!l->stream || l->in_eof);
}

static void
link_free(struct ssh_conn *c, struct pump_link *l)
{
	ssh_block(c);
	libssh2_channel_free(l->ch);
	libssh2_session_set_blocking(c->s, 0);
	close_fd(&l->in);
	if (l->stream)
		l->out[0] = -1;
	close_fd(&l->out[0]);
	close_fd(&l->out[1]);
	free(l);
}

/* close a channel that is over; 1 when closed, with *status */
static int
link_close(struct ssh_conn *c, struct pump_link *l, int *status)
{
	int rc;

	if (!l->closing) {
		rc = libssh2_channel_close(l->ch);
		FINISH(c, rc, libssh2_channel_close(l->ch));
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return 0;
		l->closing = 1;
	}
	rc = libssh2_channel_wait_closed(l->ch);
	FINISH(c, rc, libssh2_channel_wait_closed(l->ch));
	if (rc == LIBSSH2_ERROR_EAGAIN)
		return 0;
	*status = l->stream || rc ? (rc && !l->stream ? -1 : 0) : ssh_exit_status(c, l->ch);
	return 1;
}

/* the connections waiting on a tunnel's socket, each joined to a channel
 * to the tunnel's address (c locked); one that cannot be carried is
 * closed, which is all its client can be told */
static void
listener_accept(struct ssh_conn *c, struct pump_listener *ls)
{
	LIBSSH2_CHANNEL *ch;
	int fd;

	while (!c->broken &&
	       (fd = accept4(ls->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		AGAIN_P(c, ch, libssh2_channel_direct_tcpip_ex(c->s, ls->addr, ls->port,
		                                                "127.0.0.1", 0));
		if (!ch) {
			close(fd);
			continue;
		}
		pump_stream(c, ch, fd, NULL, NULL);
	}
}

/* a channel the pump will not carry, closed and freed (c locked) */
static void
channel_drop(struct ssh_conn *c, LIBSSH2_CHANNEL *ch)
{
	ssh_block(c);
	libssh2_channel_free(ch);
	libssh2_session_set_blocking(c->s, 0);
}

/* the channels the host forwarded from its listening ports, each joined to
 * a new connection to its address here (c locked); one whose connection is
 * refused here is closed, which the host's client sees as its connection
 * closing; 1 if any was taken */
static int
forwards_accept(struct ssh_conn *c, struct ssh_pump *p)
{
	struct pump_forward *fw;
	LIBSSH2_CHANNEL *ch;
	int took = 0, fd;

	for (fw = p->forwards; fw && !c->broken; fw = fw->next) {
		for (;;) {
			/* reading may owe the host an answer (the channel's
			 * confirmation): sent before the session is given up */
			while (!(ch = libssh2_channel_forward_accept(fw->l)) &&
			       libssh2_session_last_errno(c->s) == LIBSSH2_ERROR_EAGAIN &&
			       (libssh2_session_block_directions(c->s) &
			        LIBSSH2_SESSION_BLOCK_OUTBOUND) &&
			       ssh_wait(c) == 0)
				;
			if (!ch)
				break;
			took = 1;
			fd = socket(fw->to.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd < 0 || connect(fd, (struct sockaddr *)&fw->to, fw->tolen) < 0) {
				if (fd >= 0)
					close(fd);
				channel_drop(c, ch);
				continue;
			}
			pump_stream(c, ch, fd, NULL, NULL);
		}
	}
	return took;
}

static void *
pump_main(void *arg)
{
	struct ssh_conn *c = arg;
	struct ssh_pump *p = c->pump;
	struct pollfd *fds = NULL;
	size_t cap = 0;

	ssh_lock(c);
	while (!p->stop) {
		struct pump_link **lp, *l;
		struct pump_link *finished = NULL;
		struct pump_listener *ls;
		int moved, status, dir, timeout = -1, next, rc;
		size_t n = 0;

		do {
			moved = p->forwards && forwards_accept(c, p);
			for (lp = &p->links; (l = *lp);) {
				int r = l->dropped || c->broken ? -1 : link_step(c, l);

				if (r > 0)
					moved = 1;
				status = -1;
				if (r < 0 || (link_over(l) && link_close(c, l, &status))) {
					*lp = l->next;
					l->next = finished;
					finished = l;
					l->in_eof = status;	/* carried to done */
					continue;
				}
				lp = &l->next;
			}
		} while (moved);
		rc = libssh2_keepalive_send(c->s, &next);
		FINISH(c, rc, libssh2_keepalive_send(c->s, &next));
		if (rc == 0 && next > 0)
			timeout = next * 1000;
		/* what is waited for */
		for (ls = p->listeners; ls; ls = ls->next)
			n++;
		for (l = p->links; l; l = l->next) {
			n += 3;
			if (l->beat) {
				long left = (long)(l->beat_next - time(NULL)) * 1000;

				if (left < 0)
					left = 0;
				if (timeout < 0 || left < timeout)
					timeout = (int)left;
			}
		}
		if (n + 2 > cap) {
			cap = n + 8;
			fds = xrealloc(fds, cap * sizeof(*fds));
		}
		n = 0;
		fds[n].fd = p->wake[0];
		fds[n++].events = POLLIN;
		fds[n].fd = c->fd;
		fds[n].events = POLLIN;
		dir = libssh2_session_block_directions(c->s);
		if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
			fds[n].events |= POLLOUT;
		n++;
		for (ls = p->listeners; ls; ls = ls->next) {
			fds[n].fd = ls->fd;
			fds[n++].events = POLLIN;
		}
		for (l = p->links; l; l = l->next) {
			if (l->in >= 0 && !l->in_eof && l->toch.off == l->toch.len) {
				fds[n].fd = l->in;
				fds[n++].events = POLLIN;
			}
			if (l->tofd[0].off < l->tofd[0].len) {
				fds[n].fd = l->out[0];
				fds[n++].events = POLLOUT;
			}
			if (l->tofd[1].off < l->tofd[1].len) {
				fds[n].fd = l->out[1];
				fds[n++].events = POLLOUT;
			}
		}
		/* without links nothing here reads it: the waiting threads do */
		if (!p->links)
			fds[1].events &= (short)~POLLIN;
		if (c->broken)
			fds[1].fd = -1;
		ssh_turn_tell(c);
		pthread_mutex_unlock(&c->lock);
		while (finished) {
			l = finished;
			finished = l->next;
			if (l->done && !l->dropped)
				l->done(l, l->arg, l->in_eof);
			pthread_mutex_lock(&c->lock);
			link_free(c, l);
			pthread_mutex_unlock(&c->lock);
		}
		if (poll(fds, n, timeout) > 0 && (fds[0].revents & POLLIN)) {
			char junk[64];

			while (read(p->wake[0], junk, sizeof(junk)) > 0)
				;
		}
		pthread_mutex_lock(&c->lock);
		if (fds[1].revents & (POLLHUP | POLLERR))
			c->broken = 1;
		for (n = 2, ls = p->listeners; ls; ls = ls->next, n++)
			if (fds[n].revents & POLLIN)
				listener_accept(c, ls);
	}
	pthread_mutex_unlock(&c->lock);
	free(fds);
	return NULL;
}

int
pump_start(struct ssh_conn *c)
{
	struct ssh_pump *p;
	int rc;

	if (c->pump)
		return 0;
	p = xcalloc(1, sizeof(*p));
	if (pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(p);
		return error_errno("pipe");
	}
	c->pump = p;
	rc = pthread_create(&p->thread, NULL, pump_main, c);
	if (rc) {
		c->pump = NULL;
		close(p->wake[0]);
		close(p->wake[1]);
		free(p);
		errno = rc;
		return error_errno("cannot start a thread");
	}
	return 0;
}

void
pump_stop(struct ssh_conn *c)
{
	struct ssh_pump *p = c->pump;
	struct pump_link *l;

	if (!p)
		return;
	pthread_mutex_lock(&c->lock);
	p->stop = 1;
	pthread_mutex_unlock(&c->lock);
	pump_wake(c);
	pthread_join(p->thread, NULL);
	c->pump = NULL;
	while ((l = p->links)) {
		p->links = l->next;
		if (l->done && !l->dropped)
			l->done(l, l->arg, -1);
		link_free(c, l);
	}
	while (p->forwards) {
		struct pump_forward *fw = p->forwards;

		p->forwards = fw->next;
		/* the host stops listening; on a broken connection the
		 * session's end frees it, sending nothing */
		if (!c->broken) {
			ssh_block(c);
			libssh2_channel_forward_cancel(fw->l);
			libssh2_session_set_blocking(c->s, 0);
		}
		free(fw);
	}
	while (p->listeners) {
		struct pump_listener *ls = p->listeners;

		p->listeners = ls->next;
		close(ls->fd);
		free(ls->addr);
		free(ls);
	}
	close(p->wake[0]);
	close(p->wake[1]);
	free(p);
}

void
pump_listen(struct ssh_conn *c, int fd, const char *addr, int port)
{
	struct pump_listener *ls = xcalloc(1, sizeof(*ls));

	fcntl(fd, F_SETFL, O_NONBLOCK);
	ls->fd = fd;
	ls->addr = xstrdup(addr);
	ls->port = port;
	ls->next = c->pump->listeners;
	c->pump->listeners = ls;
}

/*
 * libssh2 takes as the answer to a global request the first answer it has
 * queued, a SUCCESS before a FAILURE, whichever request it answered; and
 * the FAILUREs that answer keepalives wanting a reply (ssh_transport.c)
 * stay queued until such a request takes one.  So a tcpip-forward may
 * "fail" with a keepalive's answer while its own is on its way.  Then every
 * answer to what was sent so far is made to arrive (they come before the
 * answer to a channel's opening: the server answers in order), and the
 * request is made again, which finds the first one's SUCCESS if there was
 * one (an unused port the host listens on: the second request's is left
 * queued for a later tunnel, or ends with the connection).  A FAILURE then
 * is the host's refusal.
 */
static LIBSSH2_LISTENER *
forward_listen(struct ssh_conn *c, int *port)
{
	LIBSSH2_LISTENER *l;
	LIBSSH2_CHANNEL *ch;
	int tries, synced = 0;

	for (tries = 0; tries < 64; tries++) {
		*port = 0;
		AGAIN_P(c, l, libssh2_channel_forward_listen_ex(c->s, "127.0.0.1", 0, port, 64));
		if (l && *port > 0)
			return l;
		if (l) {
			/* a SUCCESS without a port: a keepalive's, not ours */
			ssh_block(c);
			libssh2_channel_forward_cancel(l);
			libssh2_session_set_blocking(c->s, 0);
			continue;
		}
		if (c->broken || synced ||
		    libssh2_session_last_errno(c->s) != LIBSSH2_ERROR_REQUEST_DENIED)
			return NULL;
		/* any answer will do, a refusal too */
		AGAIN_P(c, ch, libssh2_channel_open_session(c->s));
		if (ch)
			channel_drop(c, ch);
		else if (c->broken ||
		         libssh2_session_last_errno(c->s) != LIBSSH2_ERROR_CHANNEL_FAILURE)
			return NULL;
		synced = 1;
	}
	return NULL;
}

int
pump_forward(struct ssh_conn *c, const struct sockaddr *to, socklen_t len, int *port)
{
	LIBSSH2_LISTENER *l = forward_listen(c, port);
	struct pump_forward *fw;

	if (!l)
		return -1;
	fw = xcalloc(1, sizeof(*fw));
	fw->l = l;
	memcpy(&fw->to, to, len < sizeof(fw->to) ? len : sizeof(fw->to));
	fw->tolen = len;
	fw->next = c->pump->forwards;
	c->pump->forwards = fw;
	return 0;
}

static struct pump_link *
link_add(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, pump_done *done, void *arg)
{
	struct pump_link *l = xcalloc(1, sizeof(*l));

	l->ch = ch;
	l->done = done;
	l->arg = arg;
	l->in = l->out[0] = l->out[1] = -1;
	l->next = c->pump->links;
	c->pump->links = l;
	return l;
}

struct pump_link *
pump_stream(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, int fd, pump_done *done, void *arg)
{
	struct pump_link *l = link_add(c, ch, done, arg);

	fcntl(fd, F_SETFL, O_NONBLOCK);
	l->stream = 1;
	l->in = l->out[0] = fd;
	l->eof[1] = 1;
	return l;
}

struct pump_link *
pump_process(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, int in, int out, int err,
             void (*header)(void *arg, const char *line), pump_done *done, void *arg)
{
	struct pump_link *l = link_add(c, ch, done, arg);

	l->in = in;
	l->out[0] = out;
	l->out[1] = err;
	if (in < 0)
		l->in_eof = -1;
	l->header = header;
	if (in >= 0)
		fcntl(in, F_SETFL, O_NONBLOCK);
	fcntl(out, F_SETFL, O_NONBLOCK);
	fcntl(err, F_SETFL, O_NONBLOCK);
	return l;
}

void
pump_beat(struct pump_link *l, int seconds)
{
	l->beat = seconds;
	if (l->in < 0)
		l->in_eof = 0;
	l->beat_next = time(NULL) + seconds;
}

int
pump_drop(struct ssh_conn *c, struct pump_link *l)
{
	struct pump_link *x;
	int found = 0;

	ssh_lock(c);
	for (x = c->pump ? c->pump->links : NULL; x; x = x->next)
		if (x == l) {
			l->dropped = 1;
			found = 1;
		}
	ssh_unlock(c);
	return found;
}
