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
# the test program where the host sees it: its /tmp and /root are its own,
# and this checkout may be under /tmp
on1 sh -c 'cat >/root/node && chmod 755 /root/node' <"$BUILD/tests/progs/node"
NODE=/root/node
stop_all() { [ -z "$HPID" ] || kill -9 $HPID 2>/dev/null; [ -z "$OPID" ] || kill -9 $OPID 2>/dev/null; for p in $(host_procs 1); do kill -9 $p; done; }
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

t_case "hydro run --keep leaves a host's service running after hydro exits; hydro down stops it"
# it counts into /tmp/n on the host, and says so on its stdout; beside it a
# speaker of the port protocol, which ends when its stdin does
config "" '{"name": "kept", "kind": "process", "on": "far",
   "cmd": ["sh", "-c", "i=0; while :; do i=$((i + 1)); echo $i >/tmp/n.new; mv /tmp/n.new /tmp/n; echo tick $i; sleep 0.05; done"]},
  {"name": "idle", "kind": "hydroflow", "on": "far", "src": "x.hf",
   "standin": ["'"$NODE"'", "idle"]}'
echo 'source_iter(0..1) -> null();' >"$P/x.hf"
"$HYDRO" --color=never run --keep "$P/run.json" >"$T_TMP/kout" 2>"$T_TMP/kerr" &
HPID=$!
wait_for "$T_TMP/kout" "tick 3" && wait_for "$T_TMP/kerr" "node idle: 0 inputs" ||
	t_fail "they did not start: $(cat "$T_TMP/kerr")"
sleep 0.5	# the speaker answered the start; hydro counts the run up right after
kill -INT $HPID
wait $HPID
rc=$?
HPID=
[ $rc -eq 0 ] || t_fail "hydro run --keep exited $rc: $(cat "$T_TMP/kerr")"
grep -q "left 'kept' running" "$T_TMP/kerr" || t_fail "not left running: $(cat "$T_TMP/kerr")"
# hydro and its connection are gone (sshd's session processes too, which
# closes the channels' pipes): the count goes on, the speaker runs
sessions() { for p in $(ip netns pids "$ns1"); do [ "$(cat /proc/$p/comm)" = sshd ] && echo $p; done; }
k=0
while [ "$(sessions)" != "$(host_pid 1)" ] && [ $k -lt 200 ]; do k=$((k + 1)); sleep 0.05; done
[ "$(sessions)" = "$(host_pid 1)" ] || t_fail "sshd's sessions stay: $(sessions)"
n1=$(on1 cat /tmp/n)
k=0
while [ "$(on1 cat /tmp/n)" -lt $((n1 + 3)) ] && [ $k -lt 200 ]; do k=$((k + 1)); sleep 0.05; done
[ "$(on1 cat /tmp/n)" -ge $((n1 + 3)) ] || t_fail "the kept service stopped: $(host_procs 1)"
host_procs 1 | grep -q "node idle" || t_fail "the kept speaker stopped: $(host_procs 1)"
t_run hydro_ down "$P"
t_expect_rc 0
k=0
while [ -n "$(host_procs 1)" ] && [ $k -lt 100 ]; do k=$((k + 1)); sleep 0.05; done
[ -z "$(host_procs 1)" ] || t_fail "hydro down left: $(host_procs 1)"
t_end

t_case "with --keep, a speaker on a host that ends by itself ends the run"
config "" '{"name": "lines", "kind": "hydroflow", "on": "far", "src": "x.hf",
   "standin": ["'"$NODE"'", "relay"]}'
t_run hydro_ run --keep "$P/run.json"
t_expect_rc 0
t_expect_err "node relay: 0 inputs, 0 outputs"
t_end

t_case "a network gone silent ends the run within HYDRO_SSH_KEEPALIVE; the guard ends the rest"
config "" '{"name": "ticker", "kind": "process", "on": "far",
   "cmd": ["sh", "-c", "i=0; while :; do i=$((i + 1)); echo tick $i; sleep 0.05; done"]}'
HYDRO_SSH_KEEPALIVE=2 "$HYDRO" --color=never run "$P/run.json" >"$T_TMP/sout" 2>"$T_TMP/serr" &
HPID=$!
wait_for "$T_TMP/sout" "tick 3" || t_fail "it did not start: $(cat "$T_TMP/serr")"
# host 1's link down: what hydro sends is dropped, nothing answers, no reset
ip -n "$ns1" link set eth0 down
link_up() { ip -n "$ns1" link set eth0 up; }
t_on_exit link_up
start=$(date +%s)
# (without keepalives it took the guard's 300 s)
k=0
while kill -0 $HPID 2>/dev/null && [ $k -lt 1200 ]; do k=$((k + 1)); sleep 0.05; done
kill -0 $HPID 2>/dev/null && { t_fail "hydro still runs a minute after the cut"; kill -9 $HPID; }
wait $HPID
rc=$?
HPID=
echo "# the cut noticed after $(($(date +%s) - start)) s" >&2
[ $rc -ne 0 ] || t_fail "hydro exited 0 after losing host 1"
grep -q "host 'far': the connection was lost" "$T_TMP/serr" ||
	t_fail "the lost host is not reported: $(cat "$T_TMP/serr")"
# the guard, without heartbeats for 10 keepalive periods, ends the ticker
link_up
k=0
while [ -n "$(host_procs 1)" ] && [ $k -lt 1200 ]; do k=$((k + 1)); sleep 0.05; done
[ -z "$(host_procs 1)" ] || t_fail "left on host 1: $(host_procs 1)"
t_end

t_case "a long command on a host does not stall the output of its other channels"
# test_ssh's driver: a process printing a line every 20 ms, and beside it a
# command (host_run) that runs until /tmp/go appears; the process's lines
# must come while the command runs
"$BUILD/tests/unit/test_ssh" tool --project "$P/.hydro" host="$a1" key="$HOSTS_KEY" \
	user=root overlap -- sh -c 'echo started; while [ ! -e /tmp/go ]; do sleep 0.02; done' \
	>"$T_TMP/ovl" 2>"$T_TMP/ovlerr" &
OPID=$!
k=0
while ! grep -q "during 10" "$T_TMP/ovl" && kill -0 $OPID 2>/dev/null && [ $k -lt 600 ]; do
	k=$((k + 1))
	sleep 0.05
done
grep -q "during 10" "$T_TMP/ovl" ||
	t_fail "the process's output stalled while the command ran: $(cat "$T_TMP/ovl" "$T_TMP/ovlerr")"
on1 touch /tmp/go
wait $OPID
rc=$?
[ $rc -eq 0 ] || t_fail "the driver exited $rc: $(cat "$T_TMP/ovlerr")"
grep -q "ran 0" "$T_TMP/ovl" || t_fail "the command did not end well: $(cat "$T_TMP/ovl")"
t_end

t_case "an upload to a host does not stall the output of its other channels"
# 4 MB through a link to the host slowed to 16 Mbit/s: 2 s at least, where
# the process's lines come every 20 ms
head -c 4000000 /dev/urandom >"$T_TMP/big"
tc qdisc add dev "hyv$HOSTS_TAG-1" root tbf rate 16mbit burst 32kbit latency 400ms ||
	t_fail "cannot slow the link"
unslow() { tc qdisc del dev "hyv$HOSTS_TAG-1" root 2>/dev/null; }
t_on_exit unslow
t_run timeout 120 "$BUILD/tests/unit/test_ssh" tool --project "$P/.hydro" host="$a1" \
	key="$HOSTS_KEY" user=root overlap --upload "$T_TMP/big"
unslow
t_expect_rc 0
t_expect_out "ran 0"
t_expect_out "during 10"
t_end

t_done
