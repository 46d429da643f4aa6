#!/bin/sh
# Services of a run on a test host (tests/lib/hosts.sh: a real sshd in a
# network namespace), through hydro run: a service's cwd there; --keep
# leaving it running after hydro exits, for hydro down to stop; a long
# command on the host not stalling another service's output; a network
# gone silent noticed within the keepalive setting.
. "$TOP/tests/lib.sh"
. "$TOP/tests/lib/hosts.sh"

hosts_up 1
a1=$(host_addr 1) ns1=$(host_ns 1)
unset SSH_AUTH_SOCK
HOME=$T_TMP/home
mkdir -p "$HOME/.ssh" "$T_TMP/proj"
cp "$HOSTS_KNOWN" "$HOME/.ssh/known_hosts"
export HOME
P=$T_TMP/proj
# a command on host 1 as its sshd runs it (its mount namespace: its /root)
on1() { ip netns exec "$ns1" nsenter -t "$(host_pid 1)" -m -- "$@"; }
# a config of host "far" (more settings: $1) and the services $2
config() {
	printf '{"version": 1, "hosts": [{"name": "far", "backend": "ssh", "settings":
	  {"host": "%s", "key": "%s"%s}}], "services": [%s]}\n' "$a1" "$HOSTS_KEY" "$1" "$2" \
		>"$P/run.json"
}
hydro_() { timeout 120 "$HYDRO" --color=never "$@"; }
# wait until file $1 holds $2 (or hydro, $HPID, is gone)
wait_for() {
	while ! grep -qs -- "$2" "$1"; do
		kill -0 $HPID 2>/dev/null || return 1
		sleep 0.05
	done
}
stop_all() { [ -z "$HPID" ] || kill -9 $HPID 2>/dev/null; for p in $(host_procs 1); do kill -9 $p; done; }
t_on_exit stop_all

t_case "a service's cwd on a host is relative to its run folder, or absolute"
# (the run folder is made for the service: its parent, "..", is there)
config "" '{"name": "rel", "kind": "process", "on": "far", "cwd": "..",
   "cmd": ["sh", "-c", "echo rel in $(pwd)"]},
  {"name": "abs", "kind": "process", "on": "far", "cwd": "/tmp",
   "cmd": ["sh", "-c", "echo abs in $(pwd)"]}'
t_run hydro_ run "$P/run.json"
t_expect_rc 0
run=$(ls "$P/.hydro/runs" | tail -n 1)
t_expect_out "rel in /root/.hydro/runs/$run"
grep -q "rel in /root/.hydro/runs/$run/" "$T_TMP/out" && t_fail "not in the run folder's parent"
t_expect_out "abs in /tmp"
config "" '{"name": "missing", "kind": "process", "on": "far", "cwd": "nowhere",
   "cmd": ["true"]}'
t_run hydro_ run "$P/run.json"
t_expect_rc 1
t_expect_err "cannot change to '/root/.hydro/runs/"
t_expect_err "/missing/nowhere' there"
t_end

t_done
