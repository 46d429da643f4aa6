# tests/lib/hosts.sh: test hosts, each a network namespace running a real
# OpenSSH sshd, for the tests and the benchmarks of the SSH backend.
#
#	. "$TOP/tests/lib/hosts.sh"
#	hosts_up 3              # hosts 1..3 on a bridge of their own
#	hosts_add_behind 1      # host 4, reachable only from host 1
#	ssh -F "$HOSTS_CONFIG" h2 uname -m
#
# Needs root, iproute2 and openssh-server (contrib/install-deps.sh).
#
# What it makes, all of it under names carrying this shell's pid:
# - a bridge (hyb<pid>) in this namespace with the first address of a
#   private /24 that no route of this machine covers, and one namespace per
#   host (hydro-<pid>-<i>) joined to it by a veth pair; a host added behind
#   host I gets a second /24 on a veth pair between the two namespaces only
#   (forwarding is off in a new namespace, so nothing else reaches it);
# - per host, an sshd (/usr/sbin/sshd -D: by absolute path, since it
#   re-executes itself for every connection) listening on the host's address,
#   port 22, with its own ed25519 host key, config, pid file and log
#   ($HOSTS_DIR/hI/sshd.log, LogLevel VERBOSE: "Starting session: command"
#   or "subsystem 'sftp'" for each session; HOSTS_LOGLEVEL set before
#   hosts_up gives another, DEBUG3 its packets), as root with public keys only;
# - per host, a private /tmp and a private home for root (tmpfs mounts in the
#   mount namespace `ip netns exec` gives sshd, home filled from /etc/skel
#   and ~/.ssh/authorized_keys holding the client's key:
#   what a fresh host looks like, and without this machine's slow ~/.bashrc).
#   A namespace separates network and mounts only: pids, users and the host
#   name are shared, so "nothing left running on host I" is `ip netns pids`.
#   sshd's own files live in $HOSTS_DIR, under /run, not /tmp: the private
#   /tmp would hide them from the sshd that re-executes for each connection.
#
# What it sets: HOSTS_DIR; HOSTS_KEY, the client's private key, authorized on
# every host; HOSTS_KNOWN, a known_hosts file naming every host's key;
# HOSTS_CONFIG, an ssh_config with "Host h1".."hN" (root, the key, the
# known_hosts file, strict checking, a bastion's hosts with ProxyJump), for
# OpenSSH's ssh, scp, pssh, rsync -e and ansible.  host_addr I, host_ns I and
# host_pid I print a host's address, namespace and sshd's pid; host_sh I
# CMD runs a shell command there; hosts_client DIR makes DIR the caller's
# HOME, a client of the hosts.
#
# CPU: each host's sshd, and so everything it runs, is in a cgroup of its
# own (hydro-hosts-<pid>/hI, under a parent of the set), on the cgroup v2
# hierarchy (/sys/fs/cgroup, or /sys/fs/cgroup/unified beside v1) where
# there is one: hosts_cpu_usec prints the CPU time all hosts used so far
# (usage_usec of the parent's cpu.stat; v1's cpuacct.usage otherwise), and
# host_cpu_usec I one host's.  With HOSTS_CPU set (a percentage of one
# core, "4%" or "4") before hosts_up, each host gets that much at most
# (cpu.max on v2, cpu.cfs_quota_us on v1's cpu controller: 1 ms of CPU per
# period of 100/PCT ms, the finest the kernel allows), so that a host behaves
# as a slow machine of its own that no other host slows down, as long as the
# caps summed fit in the machine's cores.  No usable cgroup hierarchy and
# HOSTS_CPU set is an error; unset, the hosts simply go unmeasured.
#
# Everything goes at exit, even when the test fails: hosts_up registers
# hosts_down with t_on_exit under tests/lib.sh, and otherwise traps EXIT
# itself (a benchmark).  hosts_down kills every process in each namespace
# (ip netns pids), deletes the veth pairs, the namespaces and the bridge,
# and removes HOSTS_DIR.  Before using a host, hosts_up checks that `ip
# route get ADDR` goes through the bridge, so that nothing it connects to
# can be anything but a test host.  sshd is no child of the calling shell:
# a bare `wait` there waits for the caller's own jobs only.

HOSTS_N=0
HOSTS_TAG=$$
HOSTS_BRIDGE=hyb$$
HOSTS_DIR=
HOSTS_NETS=
HOSTS_CG=
HOSTS_CG_CAP=

hosts_die() {
	echo "hosts: $*" >&2
	exit 1
}

# HOSTS_PICKED: a private 10.x.y.0/24 that no route or address of this machine covers
# (the default route aside), and that no other host set uses now
hosts_pick_net() {
	tries=0
	while [ $tries -lt 50 ]; do
		tries=$((tries + 1))
		r=$(od -An -N2 -tu1 /dev/urandom)
		set -- $r
		net=10.$((200 + $1 % 50)).$2
		ip -4 route show to match "$net.1" | grep -qv '^default' && continue
		ip -4 addr show | grep -qF " $net." && continue
		case " $HOSTS_NETS " in *" $net "*) continue ;; esac
		HOSTS_NETS="$HOSTS_NETS $net"
		HOSTS_PICKED=$net
		return 0
	done
	hosts_die "no free private /24 found under 10.200.0.0/10"
}

host_ns() { echo "hydro-$HOSTS_TAG-$1"; }
host_addr() { cat "$HOSTS_DIR/h$1/addr"; }
host_pid() { cat "$HOSTS_DIR/h$1/sshd.pid" 2>/dev/null; }

hosts_setup_dir() {
	[ -n "$HOSTS_DIR" ] && return 0
	[ "$(id -u)" -eq 0 ] || hosts_die "test hosts need root"
	[ -x /usr/sbin/sshd ] || hosts_die "no /usr/sbin/sshd: run contrib/install-deps.sh"
	command -v ip >/dev/null || hosts_die "no ip: run contrib/install-deps.sh"
	HOSTS_DIR=$(mktemp -d /run/hydro-hosts.XXXXXX) || hosts_die "cannot make a directory under /run"
	if command -v t_on_exit >/dev/null 2>&1; then
		t_on_exit hosts_down
	else
		trap 'hosts_down' EXIT
		trap 'exit 130' INT TERM
	fi
	mkdir -p /run/sshd
	chmod 755 /run/sshd
	ssh-keygen -q -t ed25519 -N '' -C hydro-test -f "$HOSTS_DIR/id_ed25519" ||
		hosts_die "cannot make the client key"
	HOSTS_KEY=$HOSTS_DIR/id_ed25519
	HOSTS_KNOWN=$HOSTS_DIR/known_hosts
	HOSTS_CONFIG=$HOSTS_DIR/ssh_config
	: >"$HOSTS_KNOWN"
	: >"$HOSTS_CONFIG"
	hosts_cgroup_setup
	hosts_pick_net
	HOSTS_NET=$HOSTS_PICKED
	ip link add "$HOSTS_BRIDGE" type bridge || hosts_die "cannot make bridge '$HOSTS_BRIDGE'"
	ip addr add "$HOSTS_NET.1/24" dev "$HOSTS_BRIDGE"
	ip link set "$HOSTS_BRIDGE" up
	export HOSTS_DIR HOSTS_KEY HOSTS_KNOWN HOSTS_CONFIG
}

# HOSTS_CG (where CPU time is counted) and HOSTS_CG_CAP (where it is
# capped, when HOSTS_CPU is given): the set's parent cgroups, made
hosts_cgroup_setup() {
	v2=
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		v2=/sys/fs/cgroup
	elif [ -f /sys/fs/cgroup/unified/cgroup.controllers ]; then
		v2=/sys/fs/cgroup/unified
	fi
	if [ -n "$v2" ] && mkdir "$v2/hydro-hosts-$HOSTS_TAG" 2>/dev/null; then
		HOSTS_CG=$v2/hydro-hosts-$HOSTS_TAG
	elif [ -f /sys/fs/cgroup/cpuacct/cpuacct.usage ] &&
		mkdir /sys/fs/cgroup/cpuacct/hydro-hosts-$HOSTS_TAG 2>/dev/null; then
		HOSTS_CG=/sys/fs/cgroup/cpuacct/hydro-hosts-$HOSTS_TAG
	fi
	[ -n "${HOSTS_CPU:-}" ] || return 0
	pct=${HOSTS_CPU%%%}
	case $pct in '' | *[!0-9]*) hosts_die "HOSTS_CPU='$HOSTS_CPU': give a whole percentage of one core, like 4%" ;; esac
	[ "$pct" -ge 1 ] && [ "$pct" -le 100 ] || hosts_die "HOSTS_CPU='$HOSTS_CPU': give 1% to 100%"
	if [ -n "$HOSTS_CG" ] && [ "$HOSTS_CG" != "${HOSTS_CG#"$v2"}" ] &&
		grep -qw cpu "$v2/cgroup.controllers" &&
		echo +cpu >"$v2/cgroup.subtree_control" 2>/dev/null &&
		echo +cpu >"$HOSTS_CG/cgroup.subtree_control" 2>/dev/null; then
		HOSTS_CG_CAP=$HOSTS_CG
	elif [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ] &&
		mkdir /sys/fs/cgroup/cpu/hydro-hosts-$HOSTS_TAG 2>/dev/null; then
		HOSTS_CG_CAP=/sys/fs/cgroup/cpu/hydro-hosts-$HOSTS_TAG
	else
		hosts_die "HOSTS_CPU given, but this machine has no cgroup CPU controller to cap the hosts with"
	fi
}

# host I's cgroups, made, capped at HOSTS_CPU; HOSTS_PROCS: their
# cgroup.procs files
hosts_cgroup_host() {
	HOSTS_PROCS=
	[ -n "$HOSTS_CG" ] || return 0
	mkdir -p "$HOSTS_CG/h$1" || hosts_die "cannot make cgroup '$HOSTS_CG/h$1'"
	HOSTS_PROCS=$HOSTS_CG/h$1/cgroup.procs
	[ -n "$HOSTS_CG_CAP" ] || return 0
	pct=${HOSTS_CPU%%%}
	mkdir -p "$HOSTS_CG_CAP/h$1" || hosts_die "cannot make cgroup '$HOSTS_CG_CAP/h$1'"
	if [ -f "$HOSTS_CG_CAP/h$1/cpu.max" ]; then
		echo "1000 $((100000 / pct))" >"$HOSTS_CG_CAP/h$1/cpu.max"
	else
		echo $((100000 / pct)) >"$HOSTS_CG_CAP/h$1/cpu.cfs_period_us" &&
			echo 1000 >"$HOSTS_CG_CAP/h$1/cpu.cfs_quota_us"
	fi || hosts_die "cannot cap host $1's CPU at $HOSTS_CPU"
	[ "$HOSTS_CG_CAP" = "$HOSTS_CG" ] || HOSTS_PROCS="$HOSTS_PROCS $HOSTS_CG_CAP/h$1/cgroup.procs"
}

# microseconds of CPU a cgroup's processes used: from cpu.stat (v2) or
# cpuacct.usage (v1, in nanoseconds)
hosts_cg_usec() {
	if [ -f "$1/cpu.stat" ] && grep -q '^usage_usec' "$1/cpu.stat"; then
		awk '$1 == "usage_usec" { print $2 }' "$1/cpu.stat"
	elif [ -f "$1/cpuacct.usage" ]; then
		echo $(($(cat "$1/cpuacct.usage") / 1000))
	else
		echo 0
	fi
}
# the CPU time (µs) every host of the set used so far, or host I's
hosts_cpu_usec() { [ -n "$HOSTS_CG" ] && hosts_cg_usec "$HOSTS_CG"; }
host_cpu_usec() { [ -n "$HOSTS_CG" ] && hosts_cg_usec "$HOSTS_CG/h$1"; }

# host I's files, config and key; its address is ADDR
hosts_make_host() {
	i=$1 addr=$2
	d=$HOSTS_DIR/h$i
	mkdir -p "$d"
	echo "$addr" >"$d/addr"
	ssh-keygen -q -t ed25519 -N '' -C "h$i" -f "$d/host_ed25519" ||
		hosts_die "cannot make host key $i"
	cat >"$d/sshd_config" <<EOF
ListenAddress $addr
Port 22
HostKey $d/host_ed25519
PidFile $d/sshd.pid
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
PrintMotd no
PrintLastLog no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel ${HOSTS_LOGLEVEL:-VERBOSE}
EOF
	echo "$addr $(cut -d' ' -f1-2 "$d/host_ed25519.pub")" >>"$HOSTS_KNOWN"
	cat >>"$HOSTS_CONFIG" <<EOF
Host h$i
	HostName $addr
	User root
	IdentityFile $HOSTS_KEY
	IdentitiesOnly yes
	UserKnownHostsFile $HOSTS_KNOWN
	StrictHostKeyChecking yes
	BatchMode yes
	ConnectTimeout 10
EOF
}

# start (or restart) host I's sshd; returns once it listens
host_start() {
	d=$HOSTS_DIR/h$1
	rm -f "$d/sshd.pid"
	# the mount namespace ip netns exec made is this sshd's alone; started
	# from a subshell, so that it is no child of the caller's: a bare
	# `wait` in a test or benchmark does not wait for it
	# it joins its cgroups before it becomes sshd: whatever sshd runs is in
	# them (HOSTS_PROCS: paths under /sys/fs/cgroup, without spaces)
	hosts_cgroup_host "$1"
	# shellcheck disable=SC2086
	(sh -c 'while [ "$1" != -- ]; do echo $$ >"$1" || exit 1; shift; done; shift; exec "$@"' \
		sh $HOSTS_PROCS -- ip netns exec "$(host_ns "$1")" sh -c '
		mount -t tmpfs -o mode=1777 tmpfs /tmp &&
		mount -t tmpfs -o mode=700 tmpfs /root &&
		cp -a /etc/skel/. /root/ &&
		mkdir -m 700 /root/.ssh &&
		cp "$2" /root/.ssh/authorized_keys &&
		exec /usr/sbin/sshd -D -f "$1/sshd_config" -E "$1/sshd.log"' sh "$d" "$HOSTS_KEY.pub" \
		</dev/null >/dev/null 2>"$d/start.err" &)
	# sshd writes its pid file once it listens
	n=0
	while [ ! -s "$d/sshd.pid" ]; do
		n=$((n + 1))
		[ $n -gt 500 ] && hosts_die "sshd of host $1 did not start: $(cat "$d/start.err" "$d/sshd.log" 2>/dev/null)"
		sleep 0.02
	done
}

# stop host I's sshd and whatever runs on the host (its namespace's processes)
host_stop() {
	ns=$(host_ns "$1")
	pids=$(ip netns pids "$ns" 2>/dev/null)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	n=0
	while [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] && [ $n -lt 500 ]; do
		n=$((n + 1))
		sleep 0.01
	done
	rm -f "$HOSTS_DIR/h$1/sshd.pid"
}

# make host I's sshd stop answering (SIGSTOP: connections are accepted by
# the kernel, no banner ever comes), and resume it
host_freeze() { kill -STOP "$(host_pid "$1")"; }
host_thaw() { kill -CONT "$(host_pid "$1")"; }
# the processes in host I's namespace, its sshd aside: "PID ARGV" a line
host_procs() {
	for p in $(ip netns pids "$(host_ns "$1")" 2>/dev/null); do
		case "$(cat /proc/$p/comm 2>/dev/null)" in
		sshd) ;;
		*) echo "$p $(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null)" ;;
		esac
	done
}

# run a shell command on host I as its sshd runs it (its mount namespace:
# its /root, its /tmp)
host_sh() { ip netns exec "$(host_ns "$1")" nsenter -t "$(host_pid "$1")" -m -- sh -c "$2"; }
# be a client of the hosts: no agent, and a HOME of its own ($1) whose
# known_hosts names every host
hosts_client() {
	unset SSH_AUTH_SOCK
	HOME=$1
	mkdir -p "$HOME/.ssh"
	cp "$HOSTS_KNOWN" "$HOME/.ssh/known_hosts"
	export HOME
}

# refuse a host whose address this machine would route anywhere but to DEV
hosts_check_route() {
	ip route get "$1" 2>/dev/null | grep -q " dev $2 " ||
		hosts_die "address $1 is not routed through '$2': refusing to use it"
}

# make hosts 1..N (more on a later call: N+1..N+M), each on the bridge
hosts_up() {
	hosts_setup_dir
	k=0
	while [ $k -lt "$1" ]; do
		k=$((k + 1))
		i=$((HOSTS_N + 1))
		[ $i -gt 250 ] && hosts_die "at most 250 hosts"
		ns=$(host_ns $i)
		addr=$HOSTS_NET.$((i + 1))
		ip netns add "$ns" || hosts_die "cannot make namespace '$ns'"
		HOSTS_N=$i
		ip link add "hyv$HOSTS_TAG-$i" type veth peer name eth0 netns "$ns" ||
			hosts_die "cannot make the link of host $i"
		ip link set "hyv$HOSTS_TAG-$i" master "$HOSTS_BRIDGE" up
		ip -n "$ns" link set lo up
		ip -n "$ns" addr add "$addr/24" dev eth0
		ip -n "$ns" link set eth0 up
		hosts_make_host $i "$addr"
		hosts_check_route "$addr" "$HOSTS_BRIDGE"
		host_start $i
	done
}

# make host N+1, linked only to host I's namespace, on a /24 of its own
hosts_add_behind() {
	[ -n "$HOSTS_DIR" ] || hosts_die "hosts_add_behind before hosts_up"
	via=$1
	i=$((HOSTS_N + 1))
	ns=$(host_ns $i)
	hosts_pick_net
	net=$HOSTS_PICKED
	ip netns add "$ns" || hosts_die "cannot make namespace '$ns'"
	HOSTS_N=$i
	ip -n "$(host_ns "$via")" link add "eth$i" type veth peer name eth0 netns "$ns" ||
		hosts_die "cannot make the link of host $i"
	ip -n "$(host_ns "$via")" addr add "$net.1/24" dev "eth$i"
	ip -n "$(host_ns "$via")" link set "eth$i" up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$net.2/24" dev eth0
	ip -n "$ns" link set eth0 up
	hosts_make_host $i "$net.2"
	echo "	ProxyJump h$via" >>"$HOSTS_CONFIG"
	# this machine must have no way to it
	ip route get "$net.2" 2>/dev/null | grep -q " dev $HOSTS_BRIDGE " &&
		hosts_die "host $i is reachable without its bastion"
	host_start $i
}

# remove every host, link, process and file hosts_up made
hosts_down() {
	[ -n "$HOSTS_DIR" ] || return 0
	i=$HOSTS_N
	while [ "$i" -gt 0 ]; do
		ns=$(host_ns $i)
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -CONT $pids 2>/dev/null && kill -9 $pids 2>/dev/null
		i=$((i - 1))
	done
	i=$HOSTS_N
	while [ "$i" -gt 0 ]; do
		ns=$(host_ns $i)
		n=0
		while [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] && [ $n -lt 500 ]; do
			n=$((n + 1))
			sleep 0.01
		done
		# a veth end goes with its namespace only later (the kernel
		# cleans namespaces up asynchronously): delete the pair now
		ip link del "hyv$HOSTS_TAG-$i" 2>/dev/null
		ip netns del "$ns" 2>/dev/null
		for cg in "$HOSTS_CG" "$HOSTS_CG_CAP"; do
			[ -n "$cg" ] && rmdir "$cg/h$i" 2>/dev/null
		done
		i=$((i - 1))
	done
	for cg in "$HOSTS_CG" "$HOSTS_CG_CAP"; do
		[ -n "$cg" ] && rmdir "$cg" 2>/dev/null
	done
	HOSTS_CG= HOSTS_CG_CAP=
	ip link del "$HOSTS_BRIDGE" 2>/dev/null
	rm -rf "$HOSTS_DIR"
	HOSTS_DIR=
	HOSTS_N=0
}
