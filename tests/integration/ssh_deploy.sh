#!/bin/sh
# Deployments spread over test hosts (tests/lib/hosts.sh: network namespaces
# running a real sshd) and this machine: compiled .hf programs uploaded as
# packages, unpacked into a run folder per service on each host, started
# there and wired across machines (directly, or through a tunnel back to an
# input here on 127.0.0.1); then the faults: a connection cut
# mid-run, and kill -9 of hydro followed by hydro down.  Nothing may be left
# running in any namespace, or here.
. "$TOP/tests/lib.sh"
. "$TOP/tests/python/lib.sh"	# Python configs: LSan as for those
. "$TOP/tests/lib/hosts.sh"

CARGO_TARGET_DIR=$TOP/build/cargo-target
HYDRO_CACHE_DIR=$T_TMP/cache
export CARGO_TARGET_DIR HYDRO_CACHE_DIR

hosts_up 3
unset SSH_AUTH_SOCK
# this machine's services bind on the bridge's address, which the hosts reach
HERE=$HOSTS_NET.1

all_procs() { for i in 1 2 3; do host_procs $i; done; }
running_in() {
	for p in /proc/[0-9]*; do
		case "$(readlink "$p/cwd" 2>/dev/null)" in "$1"*) echo "${p#/proc/}" ;; esac
	done
}
leftovers() {
	for p in $(running_in "$T_TMP/echo") $(running_in "$T_TMP/chat"); do kill -9 "$p"; done
}
t_on_exit leftovers
# on host i: a shell command, as root in its home
on() { i=$1; shift; ssh -F "$HOSTS_CONFIG" "h$i" "$@"; }
expect_clean() {
	n=0
	while [ -n "$(all_procs)" ] && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.05; done
	[ -z "$(all_procs)" ] || t_fail "left in the namespaces: $(all_procs)"
	[ -z "$(running_in "$1")" ] || t_fail "left here: $(running_in "$1")"
}

EX=$T_TMP/echo
cp -r "$TOP/examples/echo" "$EX"
# the echo server on host 1, its client here: ECHOES echoes, or until hydro
# is stopped
cat >"$EX/spread.hydro.py" <<PY
import os
from hydro import Deployment

async def main():
    d = Deployment()
    here = d.Localhost(address="$HERE")
    far = d.SshHost("$(host_addr 1)", key="$HOSTS_KEY", trust_new_host=True, name="far")
    server = d.Hydroflow(src="src/echo_server.hf", on=far, name="server")
    client = d.Hydroflow(src="src/echo_client.hf", on=here, name="client")
    client.ports.outbound.connect(server.ports.inbound)
    server.ports.outbound.connect(client.ports.inbound)
    await d.deploy()
    want, i = int(os.environ.get("ECHOES", "0")), 0
    async for line in client.stdout():
        print(line, flush=True)
        i += 1
        if i == want:
            break
PY

t_case "the echo example's programs compile"
t_run timeout 1800 nice "$HYDRO" --color=never build "$EX/spread.hydro.py"
t_expect_rc 0
t_end

t_case "the echo server on a test host, its client here: ten echoes"
ECHOES=10 t_run timeout 120 "$HYDRO" --color=never -v run "$EX/spread.hydro.py"
t_expect_rc 0
n=$(grep -c '^[0-9-]* [0-9:.]* UTC: Got EchoMsg { payload: "ping [0-9]*", ts: .* } from '"$(host_addr 1)"':[0-9]*$' "$T_TMP/out")
[ "$n" -eq 10 ] || t_fail "expected 10 echoes, got $n: $(head -c 1500 "$T_TMP/out") $(head -c 1500 "$T_TMP/err")"
on 1 'ls ~/.hydro/pkgs' | grep -q '^[0-9a-f]\{64\}' || t_fail "no package on the host: $(on 1 'ls -la ~/.hydro/pkgs')"
on 1 'ls ~/.hydro/runs/*/server/bin/' | grep -q . || t_fail "nothing unpacked in the server's run folder"
expect_clean "$EX"
t_end

t_case "the echo server on a test host, its client here on 127.0.0.1: through a tunnel back"
# this machine's host without an address: the client binds 127.0.0.1,
# which the server reaches through a port its host's sshd listens on
sed 's/d.Localhost(address="[^"]*")/d.Localhost()/' "$EX/spread.hydro.py" >"$EX/back.hydro.py"
grep -q 'Localhost()' "$EX/back.hydro.py" || t_fail "no Localhost() in: $(cat "$EX/back.hydro.py")"
ECHOES=3 t_run timeout 120 "$HYDRO" --color=never run "$EX/back.hydro.py"
t_expect_rc 0
# the client's lines (the server's have its prefix): each echo came in on a
# connection from 127.0.0.1, the tunnel's end here, not from the host
n=$(grep -c '^[0-9-]* [0-9:.]* UTC: Got EchoMsg { payload: "ping [0-9]*", ts: .* } from 127.0.0.1:[0-9]*$' "$T_TMP/out")
[ "$n" -eq 3 ] || t_fail "expected 3 echoes, got $n: $(head -c 1500 "$T_TMP/out") $(head -c 1500 "$T_TMP/err")"
expect_clean "$EX"
# the tunnel's port: sshd stops listening as the connection ends
listening() { ip netns exec "$(host_ns 1)" ss -Hltn | awk '{print $4}' | grep -v ':22$'; }
n=0
while [ -n "$(listening)" ] && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.05; done
[ -z "$(listening)" ] || t_fail "still listening on host 1: $(listening)"
t_end

CH=$T_TMP/chat
cp -r "$TOP/examples/chat" "$CH"
cat >"$CH/spread.hydro.py" <<PY
from hydro import Deployment

NAMES = ["alice", "bob", "carol"]
LINES = 2

async def main():
    d = Deployment()
    key = "$HOSTS_KEY"
    h1 = d.SshHost("$(host_addr 1)", key=key, trust_new_host=True, name="h1")
    h2 = d.SshHost("$(host_addr 2)", key=key, trust_new_host=True, name="h2")
    h3 = d.SshHost("$(host_addr 3)", key=key, trust_new_host=True, name="h3")
    here = d.Localhost(address="$HERE", name="here")
    server = d.Hydroflow(src="src/chat_server.hf", on=h1, name="server")
    clients = [
        d.Hydroflow(src="src/chat_client.hf", on=on, name=name,
                    args=["--name=" + name, "--lines=%d" % LINES])
        for name, on in zip(NAMES, [h2, h3, here])
    ]
    for c in clients:
        c.ports.to_server.connect(server.ports.from_clients)
        server.ports.to_clients.connect(c.ports.from_server)
    await d.deploy()
    logs = [c.stdout() for c in clients]
    for name, log in zip(NAMES, logs):
        heard = 0
        async for line in log:
            print("%s heard %s" % (name, line))
            heard += 1
            if heard == LINES * (len(NAMES) - 1):
                break
PY

t_case "the chat example over three test hosts and this machine"
t_run timeout 1800 nice "$HYDRO" --color=never build "$CH/spread.hydro.py"
t_expect_rc 0
t_run timeout 120 "$HYDRO" --color=never run "$CH/spread.hydro.py"
t_expect_rc 0
for me in alice bob carol; do
	for them in alice bob carol; do
		[ $me = $them ] && continue
		grep -q "^$me heard .*$them" "$T_TMP/out" ||
			t_fail "$me did not hear $them: $(head -c 1500 "$T_TMP/out") $(head -c 1500 "$T_TMP/err")"
	done
done
# one package per host and program: the client's once on h2 and h3, the
# chat server's on h1 beside the echo server's
for i in 1:2 2:1 3:1; do
	[ "$(on ${i%:*} 'ls ~/.hydro/pkgs | grep -cv "\.d$"')" -eq ${i#*:} ] ||
		t_fail "host ${i%:*}: $(on ${i%:*} 'ls ~/.hydro/pkgs')"
done
expect_clean "$CH"
t_end

# start it; wait for two echoes
forever() {
	# emptied here: the job's own redirection may come after the first look
	: >"$T_TMP/out"
	: >"$T_TMP/err"
	"$HYDRO" --color=never run "$EX/spread.hydro.py" >"$T_TMP/out" 2>"$T_TMP/err" &
	HPID=$!
	n=0
	while [ "$(grep -c 'Got EchoMsg' "$T_TMP/out")" -lt 2 ] && [ $n -lt 1200 ]; do
		kill -0 $HPID 2>/dev/null || break
		n=$((n + 1))
		sleep 0.05
	done
	[ "$(grep -c 'Got EchoMsg' "$T_TMP/out")" -ge 2 ] ||
		t_fail "no echoes: $(head -c 1500 "$T_TMP/out") $(head -c 1500 "$T_TMP/err")"
}
end_hydro() {
	n=0
	while kill -0 $HPID 2>/dev/null && [ $n -lt 600 ]; do n=$((n + 1)); sleep 0.05; done
	kill -0 $HPID 2>/dev/null && { t_fail "hydro still runs"; kill -9 $HPID; }
	wait $HPID
	rc=$?
}

t_case "the SSH connection cut mid-run: the host's services end, and hydro says so"
forever
# sshd's session processes of host 1 (its listener stays): the connection drops
for p in $(ip netns pids "$(host_ns 1)"); do
	[ "$(cat /proc/$p/comm 2>/dev/null)" = sshd ] && [ "$p" != "$(host_pid 1)" ] && kill -9 "$p"
done
end_hydro
[ "$rc" -ne 0 ] || t_fail "hydro exited 0 after losing host 1"
grep -q "host 'far': the connection was lost" "$T_TMP/err" &&
	grep -q "service 'server' exited" "$T_TMP/err" ||
	t_fail "the lost host and the server's end are not reported: $(cat "$T_TMP/err")"
expect_clean "$EX"
"$HYDRO" down "$EX" >/dev/null 2>&1
t_end

t_case "kill -9 of hydro mid-run, then hydro down: nothing left anywhere"
forever
[ -n "$(host_procs 1)" ] || t_fail "the server does not run on host 1"
kill -9 $HPID
wait $HPID 2>/dev/null
# the records name the server's host, written before it started
t_run timeout 60 "$HYDRO" --color=never down --dry-run "$EX"
t_expect_rc 0
t_expect_out "would remove process"
t_expect_out "/server,"
t_run timeout 60 "$HYDRO" --color=never down "$EX"
t_expect_rc 0
expect_clean "$EX"
t_end

t_case "a service here reaches an input behind a bastion through a tunnel"
hosts_add_behind 1
hidden=$(host_addr 4)
# nothing of this machine's may leave for that address: no route at all
ip route add blackhole "$hidden/32"
unroute() { ip route del blackhole "$hidden/32"; }
t_on_exit unroute
mkdir -p "$T_TMP/home/.ssh" "$T_TMP/tun"
cp "$HOSTS_KNOWN" "$T_TMP/home/.ssh/known_hosts"
cat >"$T_TMP/home/.ssh/config" <<EOF2
Host bastion
	HostName $(host_addr 1)
	User root
	IdentityFile $HOSTS_KEY
Host hidden
	HostName $hidden
	User root
	ProxyJump bastion
EOF2
# the sink reads the first connection that brings data
cat >"$T_TMP/tun/tunnel.json" <<JSON
{"version": 1,
 "hosts": [{"name": "here"},
           {"name": "hidden", "backend": "ssh", "settings": {"host": "hidden", "key": "$HOSTS_KEY"}}],
 "services": [
  {"name": "sink", "kind": "process", "on": "hidden", "ports": [{"name": "in", "dir": "input"}],
   "ready": {"port": "in"},
   "cmd": ["python3", "-c", "import os, socket\na, p = os.environ['HYDRO_PORT_IN'].rsplit(':', 1)\ns = socket.socket(); s.bind((a, int(p))); s.listen()\nwhile True:\n    c, _ = s.accept(); m = c.recv(100)\n    if m: break\nprint('got', m.decode(), flush=True); c.sendall(b'ok')"]},
  {"name": "source", "kind": "process", "on": "here", "ports": [{"name": "out", "dir": "output"}],
   "cmd": ["python3", "-c", "import os, socket\nprint('sending to', os.environ['HYDRO_PORT_OUT'], flush=True)\na, p = os.environ['HYDRO_PORT_OUT'].rsplit(':', 1)\nc = socket.create_connection((a, int(p))); c.sendall(b'through the tunnel'); print('answer', c.recv(10).decode(), flush=True)"]}],
 "connections": [{"from": "source.out", "to": "sink.in"}]}
JSON
HOME=$T_TMP/home t_run timeout 60 "$HYDRO" --color=never -v run "$T_TMP/tun/tunnel.json"
t_expect_rc 0
t_expect_out "got through the tunnel"
t_expect_out "answer ok"
t_expect_out "sending to 127.0.0.1:"
t_expect_err "'source' reaches $hidden:"
t_expect_err "through a tunnel at 127.0.0.1:"
n=0
while [ -n "$(host_procs 4)" ] && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.05; done
[ -z "$(host_procs 4)" ] || t_fail "left on the hidden host: $(host_procs 4)"
t_end

t_done
