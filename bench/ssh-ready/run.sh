#!/bin/sh
# bench/ssh-ready: `hydro run` of processes on SSH test hosts
# (tests/lib/hosts.sh: network namespaces, each a real OpenSSH sshd) that
# are handed many ports and declare "ready: port": per host, PAIRS sinks,
# each with INPUTS inputs (tests/progs/node listens on the first, "in",
# after DELAY seconds), and as many sources that start once their sink is
# ready and send it one frame.  Measured per run, warm (the second run on):
# its wall time, the commands each host's sshd started (its log), and the
# CPU time the hosts used (their cgroups), per host.
#
# With OLD naming another hydro binary, the two take turns, round after
# round, on the same hosts and the same load: the figures are medians of
# RUNS rounds.  HOSTS (8), PAIRS (4), INPUTS (8), DELAY (0.5), RUNS (5).
# Needs root.
: "${BUILD:?run through make bench}"
: "${TOP:?}"
: "${HYDRO:?}"
HOSTS=${HOSTS:-8}
PAIRS=${PAIRS:-4}
INPUTS=${INPUTS:-8}
DELAY=${DELAY:-0.5}
RUNS=${RUNS:-5}
OLD=${OLD:-}
NODE=$BUILD/tests/progs/node

[ "$(id -u)" -eq 0 ] || { echo "needs root (test hosts are network namespaces)"; exit 1; }
[ -x "$NODE" ] || { echo "no $NODE: make check builds it"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hydro-bench-ready.XXXXXX")
on_exit=
t_on_exit() { on_exit="$1; $on_exit"; }
cleanup() {
	eval "$on_exit"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
. "$TOP/tests/lib/hosts.sh"

hosts_up "$HOSTS"
mkdir -p "$work/proj/.hydro"
cp "$HOSTS_KNOWN" "$work/proj/.hydro/known_hosts"
unset SSH_AUTH_SOCK

# the deployment: h1..hHOSTS, on each PAIRS sink/source pairs
hosts= services= conns= i=0
while [ $i -lt "$HOSTS" ]; do
	i=$((i + 1))
	hosts="$hosts${hosts:+,}{\"name\": \"h$i\", \"backend\": \"ssh\", \"settings\":
	  {\"host\": \"$(host_addr $i)\", \"key\": \"$HOSTS_KEY\"}}"
	j=0
	while [ $j -lt "$PAIRS" ]; do
		j=$((j + 1))
		ports='{"name": "in", "dir": "input"}' k=1
		while [ $k -lt "$INPUTS" ]; do
			ports="$ports, {\"name\": \"x$k\", \"dir\": \"input\"}"
			k=$((k + 1))
		done
		services="$services${services:+,}
		  {\"name\": \"sink$i-$j\", \"kind\": \"process\", \"on\": \"h$i\",
		   \"ports\": [$ports], \"ready\": {\"port\": \"in\"},
		   \"cmd\": [\"sh\", \"-c\", \"sleep $DELAY; exec $NODE --env --until-complete sink 1\"]},
		  {\"name\": \"source$i-$j\", \"kind\": \"process\", \"on\": \"h$i\",
		   \"ports\": [{\"name\": \"out\", \"dir\": \"output\"}],
		   \"cmd\": [\"$NODE\", \"--env\", \"source\", \"1\"]}"
		conns="$conns${conns:+,}{\"from\": \"source$i-$j.out\", \"to\": \"sink$i-$j.in\"}"
	done
done
printf '{"version": 1, "hosts": [%s], "services": [%s], "connections": [%s]}\n' \
	"$hosts" "$services" "$conns" >"$work/proj/d.json"

# the commands every host's sshd started so far, summed
commands() {
	n=0 i=0
	while [ $i -lt "$HOSTS" ]; do
		i=$((i + 1))
		n=$((n + $(grep -c "Starting session: command" "$HOSTS_DIR/h$i/sshd.log")))
	done
	echo $n
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# one run of binary $1 (name $2): "wall_ms commands cpu_ms_per_host"
# appended to $work/$2 (commands summed over the hosts)
one() {
	c=$(commands) u=$(hosts_cpu_usec) t=$(now_ms)
	(cd "$work/proj" && timeout 600 "$1" --color=never run d.json) >"$work/out" 2>&1 ||
		{ echo "$2: the run failed:"; tail -n 20 "$work/out"; exit 1; }
	t=$(($(now_ms) - t)) u2=$(hosts_cpu_usec) cpu=-
	[ -n "$u" ] && [ -n "$u2" ] && cpu=$(((u2 - u) / 1000 / HOSTS))
	echo "$t $(($(commands) - c)) $cpu" >>"$work/$2"
}

bins="new"
[ -n "$OLD" ] && bins="old new"
bin() { [ "$1" = old ] && echo "$OLD" || echo "$HYDRO"; }
# warm-up: the project's files, each binary's first run
for b in $bins; do
	one "$(bin $b)" warmup
done
r=0
while [ $r -lt "$RUNS" ]; do
	r=$((r + 1))
	for b in $bins; do
		one "$(bin $b)" $b
	done
done

echo "$HOSTS hosts, $PAIRS sinks with $INPUTS inputs and a source each per host (DELAY $DELAY s), median of $RUNS warm runs; $(uptime | sed 's/.*load/load/')"
echo
echo "| hydro | run (s) | commands per host | hosts' CPU per host (ms) |"
echo "|---|---:|---:|---:|"
for b in $bins; do
	wall=$(cut -d' ' -f1 "$work/$b" | median)
	cmds=$(cut -d' ' -f2 "$work/$b" | median | awk -v n="$HOSTS" '{ print $1 / n }')
	cpu=$(cut -d' ' -f3 "$work/$b" | median)
	printf '| %s | %.2f | %s | %s |\n' "$b" "$(echo "$wall" | awk '{ print $1 / 1000 }')" "$cmds" "$cpu"
done
