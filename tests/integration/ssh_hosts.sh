#!/bin/sh
# The test hosts of tests/lib/hosts.sh: real sshds in network namespaces,
# each with a private /tmp and home, one reachable only through another, and
# nothing of them left afterwards.
. "$TOP/tests/lib.sh"
. "$TOP/tests/lib/hosts.sh"

hosts_up 2
hosts_add_behind 1
tag=$HOSTS_TAG bridge=$HOSTS_BRIDGE dir=$HOSTS_DIR
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

t_case "hosts_down removes every namespace, link, process and file"
hosts_down
ip netns list | grep -q "hydro-$tag-" && t_fail "namespaces left: $(ip netns list)"
ip link show "$bridge" >/dev/null 2>&1 && t_fail "bridge '$bridge' left"
ip -o link show | grep -q "hyv$tag-" && t_fail "links left"
[ -e "$dir" ] && t_fail "'$dir' left"
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
