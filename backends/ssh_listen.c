/*
 * ssh_listen: waiting on an SSH host until a port listens (backend.h's
 * listen_watch), in one command however long the service takes.
 *
 * A POSIX sh loop on the host runs awk (stock Debian has mawk) over its
 * /proc/net/tcp and tcp6 every 50 ms for half a second, then every 250 ms
 * (a service slow to listen costs the host less), keeping the lines of sockets
 * listening on the port, cut to what port_listening() reads (the local and
 * remote addresses and the state; the row number, which moves as other
 * sockets come and go, written as 0).  Once those lines differ from what the
 * core saw last, it prints them and exits.  Which address counts is the
 * core's to say, by the rules it reads this machine's tables with: lines
 * that do not match start the next wait, from them.  The loop runs as any
 * process (ssh_proc.c): in a group of its own, which the core kills when it
 * stops waiting and the connection's guard kills if hydro dies.
 */
#include <stdio.h>

#include "backend.h"
#include "ssh.h"

/* $1 the port as /proc/net prints it (4 hex digits), $2 the lines seen,
 * then the tables; exits 3 if none can be read, 4 if awk fails.  Each
 * round costs the host an awk and a sleep(1), about 4 ms of CPU, no
 * subshell (one awk for the whole wait cannot be ticked: mawk reads a pipe
 * a buffer at a time); after the first half second, a round every 250 ms */
static const char listen_script[] =
	"P=:$1 SEEN=$2; shift 2\n"
	"export P SEEN\n"
	"n=$#\n"
	"for f; do [ ! -r \"$f\" ] || set -- \"$@\" \"$f\"; done\n"
	"shift $n\n"
	"[ $# -gt 0 ] || exit 3\n"
	"n=0\n"
	"while :; do\n"
	"	awk '$4 == \"0A\" && substr($2, length($2) - 4) == ENVIRON[\"P\"] {\n"
	"		t = t \"0: \" $2 \" \" $3 \" \" $4 \"\\n\"\n"
	"	}\n"
	"	END { if (t == ENVIRON[\"SEEN\"]) exit 1; printf \"%s\", t }' \"$@\"\n"
	"	case $? in 0) exit 0 ;; 1) ;; *) exit 4 ;; esac\n"
	"	n=$((n + 1))\n"
	"	if [ $n -le 10 ]; then sleep 0.05; else sleep 0.25; fi\n"
	"done\n";

int
ssh_listen_watch(struct host *h, int port, const char *seen, struct spawn *sp)
{
	char hex[8];
	char *argv[] = { "sh", "-c", (char *)listen_script, "sh", hex, (char *)seen,
	                 "/proc/net/tcp", "/proc/net/tcp6", NULL };
	int ret;

	snprintf(hex, sizeof(hex), "%04X", port & 0xffff);
	sp->argv = argv;
	sp->env = NULL;
	sp->cwd = NULL;
	sp->want_stdin = 0;
	sp->want_control = 0;
	ret = ssh_proc_spawn(h, sp);
	sp->argv = NULL;
	return ret;
}
