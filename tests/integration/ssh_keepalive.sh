#!/bin/sh
# The keepalives hydro sends on an SSH connection while services run ask
# the host for no reply: every reply (a REQUEST_FAILURE) would stay queued
# in libssh2 until the connection ends, some 2 MB a day of them.  The host
# (tests/lib/hosts.sh: a real sshd in a network namespace, logging its
# packets at DEBUG3) says what it was asked and what it sent; the service
# runs until three keepalives have come, however long that takes.  That a
# silent host is still noticed is ssh_services.sh's "a network gone silent".
. "$TOP/tests/lib.sh"
HOSTS_LOGLEVEL=DEBUG3
. "$TOP/tests/lib/hosts.sh"

hosts_up 1
a1=$(host_addr 1)
hosts_client "$T_TMP/home"
P=$T_TMP/proj
mkdir -p "$P"
LOG=$HOSTS_DIR/h1/sshd.log
stop_all() { for p in $(host_procs 1); do kill -9 $p; done; }
t_on_exit stop_all

t_case "keepalives ask for no reply, and none comes"
printf '{"version": 1, "hosts": [{"name": "far", "backend": "ssh", "settings":
  {"host": "%s", "key": "%s"}}], "services": [{"name": "s", "kind": "process",
  "on": "far", "cmd": ["sh", "-c",
  "while [ $(grep -c \\"rtype keepalive@libssh2.org\\" %s) -lt 3 ]; do sleep 0.1; done; echo heard"]}]}\n' \
	"$a1" "$HOSTS_KEY" "$LOG" >"$P/run.json"
t_run env HYDRO_SSH_KEEPALIVE=1 timeout 120 "$HYDRO" --color=never run "$P/run.json"
t_expect_rc 0
t_expect_out "heard"
asked=$(grep -c "rtype keepalive@libssh2.org want_reply 0" "$LOG")
[ "$asked" -ge 3 ] || t_fail "$asked keepalives asked for no reply: $(grep keepalive "$LOG")"
grep -q "rtype keepalive@libssh2.org want_reply 1" "$LOG" &&
	t_fail "a keepalive asked for a reply: $(grep keepalive "$LOG")"
# SSH2_MSG_REQUEST_FAILURE: what libssh2 would have kept
grep -q "send packet: type 82" "$LOG" && t_fail "the host sent a REQUEST_FAILURE"
grep -q "send packet: type" "$LOG" || t_fail "the host's log has no packets: $(tail -5 "$LOG")"
t_end

t_done
