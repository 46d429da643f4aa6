#!/bin/sh
# Wiring across a test host (tests/lib/hosts.sh: a network namespace
# running a real sshd) and this machine with processes, no compiled
# program: a service on the host sending into an input here bound on
# 127.0.0.1, which the host cannot reach, goes through a tunnel back (a
# port its sshd listens on for hydro); readiness checks of a port are no
# connection the program sees.  Nothing may be left afterwards.
. "$TOP/tests/lib.sh"
. "$TOP/tests/lib/hosts.sh"

hosts_up 1
a1=$(host_addr 1) ns1=$(host_ns 1)
unset SSH_AUTH_SOCK
HOME=$T_TMP/home
mkdir -p "$HOME/.ssh" "$T_TMP/w"
cp "$HOSTS_KNOWN" "$HOME/.ssh/known_hosts"
export HOME
W=$T_TMP/w

running_in() {
	for p in /proc/[0-9]*; do
		case "$(readlink "$p/cwd" 2>/dev/null)" in "$1"*) echo "${p#/proc/}" ;; esac
	done
}
leftovers() { for p in $(running_in "$W"); do kill -9 "$p"; done; }
t_on_exit leftovers
# the TCP ports listening in host 1's namespace, but sshd's own
listening() { ip netns exec "$ns1" ss -Hltn | awk '{print $4}' | grep -v ":22\$"; }
expect_clean() {
	n=0
	while [ -n "$(host_procs 1)$(listening)" ] && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.05; done
	[ -z "$(host_procs 1)" ] || t_fail "left on the host: $(host_procs 1)"
	[ -z "$(listening)" ] || t_fail "still listening on the host: $(listening)"
	[ -z "$(running_in "$W")" ] || t_fail "left here: $(running_in "$W")"
}

# sink: after DELAY seconds, counts the connections it accepts until LINES
# lines came, then says what it got and from how many connections
SINK='import os, socket, time
time.sleep(float(os.environ["DELAY"]))
a, p = os.environ["HYDRO_PORT_IN"].rsplit(":", 1)
s = socket.socket(); s.bind((a, int(p))); s.listen()
want, got, conns = int(os.environ["LINES"]), [], 0
while len(got) < want:
    c, _ = s.accept(); conns += 1
    got += [l.strip() for l in c.makefile()]
print("got", " ".join(got)); print("connections", conns, flush=True)'
# source: LINES lines to each address of HYDRO_PORT_OUT, one connection each
SOURCE='import os, socket
for to in os.environ["HYDRO_PORT_OUT"].split(","):
    print("sending to", to, flush=True)
    a, p = to.rsplit(":", 1)
    c = socket.create_connection((a, int(p)))
    for i in range(int(os.environ["LINES"])): c.sendall(b"line%d\n" % i)
    c.close()'
json_str() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"; }

# a config: the sink on $1, the source on $2; the local host's settings $3;
# more services $4
config() {
	cat >"$W/d.json" <<JSON
{"version": 1,
 "hosts": [{"name": "here"$3},
           {"name": "far", "backend": "ssh", "settings": {"host": "$a1", "key": "$HOSTS_KEY"}}],
 "services": [$4
  {"name": "sink", "kind": "process", "on": "$1", "ports": [{"name": "in", "dir": "input"}],
   "ready": {"port": "in"}, "env": {"LINES": "3", "DELAY": "${DELAY:-0}"},
   "cmd": ["python3", "-c", $(json_str "$SINK")]},
  {"name": "source", "kind": "process", "on": "$2", "ports": [{"name": "out", "dir": "output"}],
   "env": {"LINES": "3"}, "cmd": ["python3", "-c", $(json_str "$SOURCE")]}],
 "connections": [{"from": "source.out", "to": "sink.in"}]}
JSON
}

t_case "a sender on the host into an input here on 127.0.0.1: a tunnel back"
config here far ""
t_run timeout 60 "$HYDRO" --color=never -v run "$W/d.json"
t_expect_rc 0
t_expect_out "got line0 line1 line2"
t_expect_out "sending to 127.0.0.1:"
t_expect_err "'source' on host 'far' reaches 127.0.0.1:"
t_expect_err "here through a tunnel back at 127.0.0.1:"
# the port the source was told is the one the host's sshd listened on
told=$(sed -n 's/.*sending to 127.0.0.1:\([0-9]*\).*/\1/p' "$T_TMP/out")
grep -q "tunnel back at 127.0.0.1:$told there" "$T_TMP/err" ||
	t_fail "told port $told, not the tunnel's: $(cat "$T_TMP/err")"
expect_clean
t_end

t_case "readiness of a port here is no connection the program accepts"
t_expect_out "connections 1"
t_end

t_case "a tunnel back on a connection whose keepalives were answered already"
# the connection's keepalives (every 2 s, wanting a reply) run from the
# start of 'idle', seconds before the tunnel back is asked for: their
# answers queued in libssh2 are not the tunnel's
DELAY=3 config here far "" '{"name": "idle", "kind": "process", "on": "far", "can_die": true, "cmd": ["sleep", "4"]},'
t_run timeout 60 "$HYDRO" --color=never -v run "$W/d.json"
t_expect_rc 0
t_expect_out "got line0 line1 line2"
t_expect_err "here through a tunnel back at 127.0.0.1:"
expect_clean
t_end

t_case "an input here on an address the host reaches: no tunnel back"
config here far ", \"settings\": {\"address\": \"$HOSTS_NET.1\"}"
t_run timeout 60 "$HYDRO" --color=never -v run "$W/d.json"
t_expect_rc 0
t_expect_out "got line0 line1 line2"
t_expect_out "sending to $HOSTS_NET.1:"
grep -q "tunnel back" "$T_TMP/err" && t_fail "a tunnel back: $(cat "$T_TMP/err")"
expect_clean
t_end

t_case "readiness of a port on the host is no connection the program accepts"
config far here ""
t_run timeout 60 "$HYDRO" --color=never -v run "$W/d.json"
t_expect_rc 0
t_expect_out "got line0 line1 line2"
t_expect_out "connections 1"
expect_clean
t_end

t_case "a host whose sshd forbids listening for hydro: an error naming it, nothing left"
# local forwarding only (direct-tcpip): no tcpip-forward
echo "AllowTcpForwarding local" >>"$HOSTS_DIR/h1/sshd_config"
host_stop 1
host_start 1
config here far ""
t_run timeout 60 "$HYDRO" --color=never run "$W/d.json"
t_expect_rc 1
t_expect_err "host 'far' ($a1:22) refuses to listen on 127.0.0.1 for hydro"
t_expect_err "set 'AllowTcpForwarding yes'"
t_expect_err "service 'source' on host 'far' cannot reach 127.0.0.1:"
expect_clean
t_end

t_done
