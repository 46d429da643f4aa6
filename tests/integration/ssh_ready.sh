#!/bin/sh
# Readiness and free ports on an SSH test host (tests/lib/hosts.sh: a real
# sshd in a network namespace), counted in sessions from sshd's log: a
# service's "ready: port" is one command on the host however long it takes
# to listen; one that exits first fails as before; the ready timeout and a
# stop (SIGINT) end the wait, leaving nothing on the host; the free ports of
# every service on a host are one read of its tables, no two alike, also
# for two threads asking at once.
. "$TOP/tests/lib.sh"
. "$TOP/tests/lib/hosts.sh"

TOOL=$BUILD/tests/unit/test_ssh
hosts_up 1
a1=$(host_addr 1) ns1=$(host_ns 1)
unset SSH_AUTH_SOCK
HOME=$T_TMP/home
P=$T_TMP/proj
mkdir -p "$HOME/.ssh" "$P"
cp "$HOSTS_KNOWN" "$HOME/.ssh/known_hosts"
export HOME
# a command on host 1 as its sshd runs it (its mount namespace: its /tmp)
on1() { ip netns exec "$ns1" nsenter -t "$(host_pid 1)" -m -- "$@"; }
# the commands host 1's sshd started so far
commands() { grep -c "Starting session: command" "$HOSTS_DIR/h1/sshd.log"; }
json_str() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"; }
HPID=
stop_all() { [ -z "$HPID" ] || kill -9 $HPID 2>/dev/null; for p in $(host_procs 1 | cut -d' ' -f1); do kill -9 $p; done; }
t_on_exit stop_all
# until $1 (a shell test) holds, 20 s at most, while hydro runs
wait_for() {
	n=0
	while ! eval "$1"; do
		n=$((n + 1))
		[ $n -lt 400 ] && kill -0 $HPID 2>/dev/null || return 1
		sleep 0.05
	done
}
# until nothing runs on host 1 but sshd (hydro gone, its guard ends), 10 s at most
host_clean() {
	n=0
	while [ -n "$(host_procs 1)" ] && [ $n -lt 200 ]; do n=$((n + 1)); sleep 0.05; done
	[ -z "$(host_procs 1)" ] || t_fail "left on the host: $(host_procs 1)"
}
# the wait for a port, running on the host (its script's words)
watching() { host_procs 1 2>/dev/null | grep -qF 'ENVIRON["SEEN"]'; }

# the sink waits for /tmp/go on the host (if $GO), then listens on its
# input and counts its connections until one brings data; the source sends
# once it may start: after the sink is ready
SINK='import os, socket, time
while os.environ.get("GO") and not os.path.exists(os.environ["GO"]):
    time.sleep(0.02)
a, p = os.environ["HYDRO_PORT_IN"].rsplit(":", 1)
s = socket.socket(); s.bind((a, int(p))); s.listen()
n = 0
while True:
    c, _ = s.accept(); n += 1; m = c.recv(100)
    if m: break
print("got", m.decode(), "connections", n, flush=True)'
SOURCE='import os, socket
a, p = os.environ["HYDRO_PORT_OUT"].rsplit(":", 1)
socket.create_connection((a, int(p))).sendall(b"hello")'
# a config of host "far": the sink running $1 (default: SINK) with env $2,
# and the source
config() {
	if [ -n "${1:-}" ]; then
		cmd=$1
	else
		cmd="[\"python3\", \"-c\", $(json_str "$SINK")]"
	fi
	cat >"$P/d.json" <<JSON
{"version": 1,
 "hosts": [{"name": "far", "backend": "ssh", "settings": {"host": "$a1", "key": "$HOSTS_KEY"}}],
 "services": [
  {"name": "sink", "kind": "process", "on": "far", "ports": [{"name": "in", "dir": "input"}],
   "ready": {"port": "in"}, "env": {${2:-}}, "cmd": $cmd},
  {"name": "source", "kind": "process", "on": "far", "ports": [{"name": "out", "dir": "output"}],
   "cmd": ["python3", "-c", $(json_str "$SOURCE")]}],
 "connections": [{"from": "source.out", "to": "sink.in"}]}
JSON
}
start() { timeout 120 "$HYDRO" --color=never run "$P/d.json" >"$T_TMP/out" 2>"$T_TMP/err" & HPID=$!; }
finish() { wait $HPID; rc=$?; HPID=; }

t_case "a service listening at once: ready, no connection made"
config
t_run timeout 120 "$HYDRO" --color=never run "$P/d.json"
t_expect_rc 0
t_expect_out "got hello connections 1"
# counted on a second run: the first made the project's files
c=$(commands)
t_run timeout 120 "$HYDRO" --color=never run "$P/d.json"
t_expect_rc 0
at_once=$(($(commands) - c))
t_end

t_case "readiness on the host is one command however long the service takes"
config "" '"GO": "/tmp/go"'
on1 rm -f /tmp/go
c=$(commands)
start
wait_for watching || t_fail "no wait on the host: $(cat "$T_TMP/err")"
# the wait goes on there, past its first half second (then a round every 250 ms)
sleep 1.5
on1 touch /tmp/go
finish
t_expect_rc 0
t_expect_out "got hello connections 1"
[ $(($(commands) - c)) -eq "$at_once" ] ||
	t_fail "$(($(commands) - c)) commands, where listening at once took $at_once"
t_end

t_case "a service that exits before it listens fails as before"
on1 rm -f /tmp/die
config '["sh", "-c", "while [ ! -e /tmp/die ]; do sleep 0.02; done; exit 3"]'
start
wait_for watching || t_fail "no wait on the host: $(cat "$T_TMP/err")"
on1 touch /tmp/die
finish
t_expect_rc 1
t_expect_err "service 'sink' exited with status 3 before it was ready"
host_clean
t_end

t_case "the ready timeout ends the wait, and nothing is left on the host"
config '["sleep", "600"]'
t_run env HYDRO_READY_TIMEOUT=1 timeout 120 "$HYDRO" --color=never run "$P/d.json"
t_expect_rc 1
t_expect_err "service 'sink' was not ready within 1 s (HYDRO_READY_TIMEOUT sets the limit)"
host_clean
t_end

t_case "a stop (SIGINT) during the wait ends it"
config '["sleep", "600"]'
start
wait_for watching || t_fail "no wait on the host: $(cat "$T_TMP/err")"
kill -INT $HPID
finish
t_expect_rc 130
t_expect_err "service 'sink': interrupted while waiting for it to be ready"
host_clean
t_end

# services on far, each printing its ports, $1 of them with $2 inputs each
ports_config() {
	services= i=0
	while [ $i -lt "$1" ]; do
		i=$((i + 1)) k=0 ports=
		while [ $k -lt "$2" ]; do
			k=$((k + 1))
			ports="$ports${ports:+,}{\"name\": \"p$k\", \"dir\": \"input\"}"
		done
		services="$services${services:+,}{\"name\": \"s$i\", \"kind\": \"process\",
		  \"on\": \"far\", \"ports\": [$ports], \"cmd\": [\"env\"]}"
	done
	printf '{"version": 1, "hosts": [{"name": "far", "backend": "ssh", "settings":
	  {"host": "%s", "key": "%s"}}], "services": [%s]}\n' "$a1" "$HOSTS_KEY" "$services" \
		>"$P/p.json"
}

t_case "the free ports of many services on a host are one read, no two alike"
ports_config 4 1
c=$(commands)
t_run timeout 120 "$HYDRO" --color=never run "$P/p.json"
t_expect_rc 0
one=$(($(commands) - c))
ports_config 4 8
c=$(commands)
t_run timeout 120 "$HYDRO" --color=never run "$P/p.json"
t_expect_rc 0
[ $(($(commands) - c)) -eq "$one" ] ||
	t_fail "$(($(commands) - c)) commands for 32 ports, $one for 4"
sed -n 's/.*HYDRO_PORT_P[0-9]*=.*:\([0-9]*\)$/\1/p' "$T_TMP/out" | sort >"$T_TMP/ports"
[ "$(wc -l <"$T_TMP/ports")" -eq 32 ] || t_fail "not 32 ports: $(cat "$T_TMP/out")"
[ -z "$(uniq -d "$T_TMP/ports")" ] || t_fail "a port given twice: $(uniq -d "$T_TMP/ports")"
t_end

tool() { timeout 60 "$TOOL" tool --project "$P/.hydro" host="$a1" key="$HOSTS_KEY" user=root "$@"; }

t_case "the backend reads the tables once for ports asked together"
c=$(commands)
t_run tool free_port 1
t_expect_rc 0
one=$(($(commands) - c))
c=$(commands)
t_run tool free_port 200
t_expect_rc 0
[ $(($(commands) - c)) -eq "$one" ] || t_fail "$(($(commands) - c)) commands for 200 ports, $one for 1"
[ "$(sort -u "$T_TMP/out" | wc -l)" -eq 200 ] || t_fail "not 200 distinct ports: $(cat "$T_TMP/out")"
t_end

t_case "two threads asking at once get distinct ports"
t_run tool free_port 100 2
t_expect_rc 0
[ "$(sort -u "$T_TMP/out" | wc -l)" -eq 200 ] || t_fail "not 200 distinct ports: $(cat "$T_TMP/out")"
t_end

t_done
