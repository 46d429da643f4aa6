#!/bin/sh
# Deployments spread over test hosts (tests/lib/hosts.sh: network namespaces
# running a real sshd) and this machine: compiled .hf programs uploaded as
# packages, unpacked into a run folder per service on each host, started
# there and wired across machines; then the faults: a connection cut
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

# the processes of namespace i (sshd's own aside)
ns_procs() {
	for p in $(ip netns pids "$(host_ns "$1")" 2>/dev/null); do
		case "$(cat /proc/$p/comm 2>/dev/null)" in
		sshd) ;;
		*) echo "$p $(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null)" ;;
		esac
	done
}
all_procs() { for i in 1 2 3; do ns_procs $i; done; }
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
cat >"$EX/spread.hydro.py" <<PY
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
    logs = client.stdout()
    i = 0
    async for line in logs:
        print(line)
        i += 1
        if i == 10:
            break
PY

t_case "the echo example's programs compile"
t_run timeout 1800 nice "$HYDRO" --color=never build "$EX/spread.hydro.py"
t_expect_rc 0
t_end

t_case "the echo server on a test host, its client here: ten echoes"
t_run timeout 120 "$HYDRO" --color=never -v run "$EX/spread.hydro.py"
t_expect_rc 0
n=$(grep -c 'Got EchoMsg { payload: "ping [0-9]*"' "$T_TMP/out")
[ "$n" -eq 10 ] || t_fail "expected 10 echoes, got $n: $(head -c 1500 "$T_TMP/out") $(head -c 1500 "$T_TMP/err")"
on 1 'ls ~/.hydro/pkgs' | grep -q '^[0-9a-f]\{64\}' || t_fail "no package on the host: $(on 1 'ls -la ~/.hydro/pkgs')"
on 1 'ls ~/.hydro/runs/*/server/bin/' | grep -q . || t_fail "nothing unpacked in the server's run folder"
expect_clean "$EX"
t_end

t_done
