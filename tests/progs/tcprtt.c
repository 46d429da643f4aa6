/*
 * tcprtt: the peer of bench/rtt.  Ping-pong of small length-prefixed frames
 * over one loopback TCP connection (TCP_NODELAY on both ends), an echo
 * thread on the other end; prints "p50 X p99 Y" in microseconds.
 *
 *   tcprtt N
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int
read_full(int fd, unsigned char *b, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, b + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void *
echo(void *arg)
{
	int fd = *(int *)arg;
	unsigned char b[4 + 64];

	for (;;) {
		uint32_t len;
		if (read_full(fd, b, 4) < 0)
			break;
		len = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
		if (len > 64 || read_full(fd, b + 4, len) < 0)
			break;
		if (write(fd, b, 4 + len) != (ssize_t)(4 + len))
			break;
	}
	close(fd);
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int n = argc > 1 ? atoi(argv[1]) : 10000, one = 1, l, c, s, i;
	double *lat = calloc((size_t)n, sizeof(double));
	pthread_t t;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(l, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) < 0)
		return 1;
	c = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return 1;
	s = accept(l, NULL, NULL);
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pthread_create(&t, NULL, echo, &s);
	for (i = 0; i < n; i++) {
		unsigned char b[4 + 16];
		struct timespec a, z;
		int k = snprintf((char *)b + 4, 16, "%d", i);

		b[0] = b[1] = b[2] = 0;
		b[3] = (unsigned char)k;
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (write(c, b, 4 + (size_t)k) != 4 + k || read_full(c, b, 4 + (size_t)k) < 0)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &z);
		lat[i] = (z.tv_sec - a.tv_sec) * 1e6 + (z.tv_nsec - a.tv_nsec) / 1e3;
	}
	close(c);
	pthread_join(t, NULL);
	qsort(lat, (size_t)n, sizeof(double), cmp);
	printf("p50 %.1f p99 %.1f\n", lat[n / 2], lat[n * 99 / 100]);
	return 0;
}
