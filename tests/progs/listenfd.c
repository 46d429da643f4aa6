/*
 * listenfd: a process that takes its listening sockets as systemd's socket
 * activation hands them over, for tests.
 *
 * It checks what sd_listen_fds(3) reads: LISTEN_PID is its own pid,
 * LISTEN_FDS sockets listen at 3, 4, ..., LISTEN_FDNAMES names them, each
 * is bound to the address HYDRO_PORT_<NAME> gives, and no other descriptor
 * of its parent's is open after them.  It prints "listen_fds N NAMES" and:
 *
 *   listenfd sink N     accepts on the first socket, reads frames (a 4-byte
 *                       big-endian length, then the payload), answers each
 *                       with the same frame, prints "got PAYLOAD", and ends
 *                       with "ok N" after N frames
 *   listenfd check      ends there
 *
 * A failed check prints "bad: WHAT" on stderr and exits 2.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void
bad(const char *what, const char *more)
{
	fprintf(stderr, "bad: %s%s%s\n", what, more ? " " : "", more ? more : "");
	exit(2);
}

/* read exactly n bytes: 1, 0 at the end, -1 on error */
static int
read_full(int fd, void *p, size_t n)
{
	char *b = p;

	while (n) {
		ssize_t r = read(fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? 0 : -1;
		b += r;
		n -= (size_t)r;
	}
	return 1;
}

/* the socket at fd listens at the address of HYDRO_PORT_<NAME> */
static void
check_socket(int fd, const char *name)
{
	char var[128], want[64], *p;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int on = 0;
	socklen_t olen = sizeof(on);
	const char *addr;
	size_t i;

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) < 0 || !on)
		bad("not a listening socket:", name);
	snprintf(var, sizeof(var), "HYDRO_PORT_%s", name);
	for (p = var + 11; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' :
		            (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ? *p : '_');
	addr = getenv(var);
	if (!addr)
		bad("no", var);
	if (getsockname(fd, (struct sockaddr *)&sin, &len) < 0 || sin.sin_family != AF_INET)
		bad("not an IPv4 socket:", name);
	inet_ntop(AF_INET, &sin.sin_addr, want, sizeof(want));
	i = strlen(want);
	snprintf(want + i, sizeof(want) - i, ":%d", ntohs(sin.sin_port));
	if (strcmp(addr, want))
		bad("the socket is not bound to", addr);
}

int
main(int argc, char **argv)
{
	const char *pid = getenv("LISTEN_PID"), *nfds = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	char buf[256], *list, *name, *save = NULL;
	long n, want, got = 0;
	int i;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		bad("usage: listenfd sink N | check", NULL);
	if (!pid || atol(pid) != (long)getpid())
		bad("LISTEN_PID is not this process:", pid ? pid : "(unset)");
	if (!nfds || (n = atol(nfds)) < 1)
		bad("LISTEN_FDS:", nfds ? nfds : "(unset)");
	if (!names)
		bad("no LISTEN_FDNAMES", NULL);
	list = strdup(names);
	for (i = 0, name = strtok_r(list, ":", &save); name;
	     i++, name = strtok_r(NULL, ":", &save))
		check_socket(3 + i, name);
	if (i != n)
		bad("LISTEN_FDNAMES does not name LISTEN_FDS sockets:", names);
	if (fcntl(3 + (int)n, F_GETFD) >= 0)
		bad("a descriptor is open after the sockets", NULL);
	printf("listen_fds %ld %s\n", n, names);
	fflush(stdout);
	free(list);
	if (strcmp(argv[1], "sink"))
		return 0;
	want = argc > 2 ? atol(argv[2]) : 1;
	while (got < want) {
		int c = accept(3, NULL, NULL);
		uint32_t be;

		if (c < 0) {
			if (errno == EINTR)
				continue;
			bad("cannot accept", strerror(errno));
		}
		while (got < want && read_full(c, &be, 4) == 1) {
			uint32_t len = ntohl(be);

			if (len >= sizeof(buf) || read_full(c, buf, len) != 1)
				break;
			buf[len] = '\0';
			printf("got %s\n", buf);
			fflush(stdout);
			/* the answer: the same frame back */
			if (send(c, &be, 4, MSG_NOSIGNAL) < 0 || send(c, buf, len, MSG_NOSIGNAL) < 0) {
				/* a sender that does not read may be gone */
			}
			got++;
		}
		close(c);
	}
	printf("ok %ld\n", got);
	return 0;
}
