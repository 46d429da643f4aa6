#!/bin/sh
# The test hosts of tests/lib/hosts.sh: real sshds in network namespaces,
# each with a private /tmp and home and a cgroup (its CPU counted, capped
# with HOSTS_CPU), one reachable only through another, and nothing of them
# left afterwards.
. "$TOP/tests/lib.sh"
. "$TOP/tests/lib/hosts.sh"

# each host at most half a core: a cap, if the machine can (cgroups)
HOSTS_CPU=50%
[ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ] || grep -qsw cpu /sys/fs/cgroup/cgroup.controllers ||
	grep -qsw cpu /sys/fs/cgroup/unified/cgroup.controllers || HOSTS_CPU=
hosts_up 2
hosts_add_behind 1
tag=$HOSTS_TAG bridge=$HOSTS_BRIDGE dir=$HOSTS_DIR cg=$HOSTS_CG cap=$HOSTS_CG_CAP
ssh_() { ssh -F "$HOSTS_CONFIG" "$@"; }

t_case "each host answers ssh as root in its own namespace"
t_run ssh_ h1 'echo $HOME; cat /proc/self/net/dev | grep -c eth0'
t_expect_rc 0
t_expect_out "/root"
t_run ssh_ h2 "ip -4 -o addr show dev eth0"
t_expect_out "$(host_addr 2)/24"
t_end

t_case "each host has a private /tmp and home"
ssh_ h1 'echo one >/tmp/f; echo one >~/f' && ssh_ h2 'echo two >/tmp/f; echo two >~/f'
t_run ssh_ h1 'cat /tmp/f ~/f'
t_expect_out "one"
grep -q two "$T_TMP/out" && t_fail "host 1 sees host 2's files"
[ -e /tmp/f ] && grep -q one /tmp/f && t_fail "a host wrote this machine's /tmp"
t_run ssh_ h2 'test -f ~/.profile && ! test -e ~/.cargo && echo fresh'
t_expect_out "fresh"
t_end

t_case "a host behind another is reached only through it"
t_run ssh_ h3 'hostname -I'
t_expect_rc 0
t_expect_out "$(host_addr 3)"
t_run ip route get "$(host_addr 3)"
grep -q " dev $bridge " "$T_TMP/out" && t_fail "host 3 routed from here"
t_run ssh -o ConnectTimeout=2 -o BatchMode=yes -i "$HOSTS_KEY" \
	-o UserKnownHostsFile="$HOSTS_KNOWN" "root@$(host_addr 3)" true
[ "$rc" -eq 0 ] && t_fail "host 3 answered without its bastion"
t_end

t_case "a host's processes are seen with ip netns pids and stopped with it"
ssh_ h2 'setsid sleep 1000 </dev/null >/dev/null 2>&1 &'
ip netns pids "$(host_ns 2)" | xargs ps -o comm= -p >"$T_TMP/ps"
grep -q sleep "$T_TMP/ps" || t_fail "no sleep in host 2's namespace: $(cat "$T_TMP/ps")"
host_stop 2
[ -z "$(ip netns pids "$(host_ns 2)")" ] || t_fail "processes left on host 2"
host_start 2
t_run ssh_ h2 'cat /tmp/f 2>/dev/null; echo back'
t_expect_out "back"
grep -q two "$T_TMP/out" && t_fail "a restarted host kept its /tmp"
t_end

t_case "each host's sshd, and what it runs, is in a cgroup of its own, its CPU counted and capped"
if [ -z "$cg" ]; then
	echo "ok - $T_FILE: $T_NAME # SKIP no cgroup hierarchy here"
else
	grep -qx "$(host_pid 1)" "$cg/h1/cgroup.procs" || t_fail "host 1's sshd is not in '$cg/h1'"
	t_run ssh_ h2 'cat /proc/self/cgroup'
	grep -q "hydro-hosts-$tag/h2\$" "$T_TMP/out" || t_fail "a command on host 2 is not in its cgroup: $(cat "$T_TMP/out")"
	u0=$(host_cpu_usec 2)
	ssh_ h2 'i=0; while [ $i -lt 20000 ]; do i=$((i + 1)); done'
	[ "$(host_cpu_usec 2)" -gt "$u0" ] || t_fail "host 2's CPU time did not grow from $u0"
	[ "$(hosts_cpu_usec)" -ge "$(host_cpu_usec 2)" ] || t_fail "the set's CPU time is less than host 2's"
	if [ -n "$HOSTS_CPU" ]; then
		if [ -f "$cap/h2/cpu.max" ]; then
			[ "$(cat "$cap/h2/cpu.max")" = "1000 2000" ] || t_fail "cpu.max: $(cat "$cap/h2/cpu.max")"
		else
			[ "$(cat "$cap/h2/cpu.cfs_quota_us") $(cat "$cap/h2/cpu.cfs_period_us")" = "1000 2000" ] ||
				t_fail "quota and period: $(cat "$cap/h2/cpu.cfs_quota_us" "$cap/h2/cpu.cfs_period_us")"
		fi
		grep -qx "$(host_pid 2)" "$cap/h2/cgroup.procs" || t_fail "host 2's sshd is not capped"
	fi
	t_end
fi

t_case "hosts_down removes every namespace, link, process and file"
hosts_down
ip netns list | grep -q "hydro-$tag-" && t_fail "namespaces left: $(ip netns list)"
ip link show "$bridge" >/dev/null 2>&1 && t_fail "bridge '$bridge' left"
ip -o link show | grep -q "hyv$tag-" && t_fail "links left"
[ -e "$dir" ] && t_fail "'$dir' left"
for c in "$cg" "$cap"; do
	[ -n "$c" ] && [ -e "$c" ] && t_fail "cgroup '$c' left"
done
t_end

t_case "a test that fails still removes its hosts"
sh -c '. "$TOP/tests/lib.sh"; . "$TOP/tests/lib/hosts.sh"; hosts_up 1
	echo "$HOSTS_TAG $HOSTS_DIR" >"$1"; exit 3' sh "$T_TMP/child" >/dev/null 2>&1
read -r ctag cdir <"$T_TMP/child"
ip netns list | grep -q "hydro-$ctag-" && t_fail "namespaces of a failed test left"
ip link show "hyb$ctag" >/dev/null 2>&1 && t_fail "bridge of a failed test left"
[ -e "$cdir" ] && t_fail "'$cdir' left"
t_end

t_done
