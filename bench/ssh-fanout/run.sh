#!/bin/sh
# bench/ssh-fanout: a 20 MB program deployed and started on 8 and on 32 test
# hosts (tests/lib/hosts.sh: network namespaces, each a real OpenSSH sshd),
# cold (nothing on the hosts) and again unchanged (warm), by hydro and by
# its peers in the same run, on the same file:
#   hydro         the SSH backend, one thread per host (fan.c): connect,
#                 upload the package to ~/.hydro/pkgs/<hash> unless there,
#                 make a fresh run folder of it (the backend's unpack: once
#                 per host into <hash>.d, the folder hard links), run it
#   hydro run     `hydro run` of a deployment of one crate service per host
#                 (the same program), once hydro can start services on SSH
#                 hosts (until then the row says why it is missing); and
#                 again with each host's target= given, not read from it
#   pssh          parallel-scp of the program, then parallel-ssh running it
#                 (Debian's pssh; scp -C)
#   rsync         rsync -az then ssh running it, one host per xargs -P slot
#   ansible       a playbook of copy + command, forks = hosts, Debian's
#                 ansible with its default connection settings (ssh -C,
#                 ControlMaster auto, ControlPersist 60s, no pipelining),
#                 gather_facts off, /usr/bin/python3; the control masters
#                 are closed before each cold run and kept for the warm one
# The program is a crate (art/) carrying 20 MB of this machine's shared
# libraries, so it compresses as programs do; run with no input it prints
# its size and exits (given --once).  Each round runs every row cold then warm, in turn;
# times are medians of RUNS rounds.  Needs root, cargo, and the peers
# (contrib/install-deps.sh --bench).  Goals: cold <= 1.0x pssh, warm <= 1 s,
# >= 3.5x faster than ansible, 32 hosts <= 2x the time of 8.  Below the
# table: hydro's steps per host (fan.c's timings), and its connection split
# into TCP, key exchange and authentication (fan probe).
#
# Each test host's sshd, and whatever it runs, is in a cgroup of its own
# (tests/lib/hosts.sh), and each row's table cell comes with the CPU time
# the hosts used meanwhile, per host.  Two modes:
#   (default)     the hosts are unconstrained: every host's sshd and what it
#                 runs share this machine's cores with each other and with
#                 the client, so 32 hosts queue for the same cores as 8: the
#                 ratio 32 / 8 is bound by the machine's total CPU, for
#                 every row alike
#   HOST_CPU=4%   each host capped at that share of one core (cgroup
#                 cpu.max, or cpu.cfs_quota_us on cgroup v1: 1 ms per
#                 period of 100/PCT ms), so that it behaves as a slow
#                 machine of its own that no other host slows down; with
#                 the caps summed within the machine (32 x 4 % = 1.28 of 2
#                 cores), 32 hosts take as long as 8 unless the client
#                 serialises something: the ratio 32 / 8 is the client's own
# ROWS="hydro_run pssh" picks rows (of hydro hydro_run hydro_run_t pssh
# rsync ansible; all by default); RUNS (3) rounds; SIZES ("8 32").
: "${BUILD:?run through make bench}"
: "${TOP:?}"
: "${HYDRO:?}"
RUNS=${RUNS:-3}
SIZES=${SIZES:-8 32}
ROWS=${ROWS:-hydro hydro_run hydro_run_t pssh rsync ansible}
CC=${CC:-cc}
HOSTS_CPU=${HOST_CPU:-}

[ "$(id -u)" -eq 0 ] || { echo "needs root (test hosts are network namespaces)"; exit 1; }
for c in cargo parallel-scp parallel-ssh rsync ansible-playbook; do
	command -v $c >/dev/null 2>&1 ||
		{ echo "$c is not installed (contrib/install-deps.sh --bench)"; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/hydro-bench-fanout.XXXXXX")
# every cleanup, last registered first; hosts.sh registers its own here
on_exit=
t_on_exit() { on_exit="$1; $on_exit"; }
cleanup() {
	eval "$on_exit"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
. "$TOP/tests/lib/hosts.sh"

# shellcheck disable=SC2046
$CC -O2 -iquote "$TOP/src" -iquote "$TOP/src/util" -iquote "$TOP/backends" \
	-o "$work/fan" "$TOP/bench/ssh-fanout/fan.c" "$BUILD/libhydro.a" \
	$(pkg-config --libs libssh2 libarchive libcjson libcurl openssl) -pthread -lm ||
	{ echo "cannot build the benchmark's program"; exit 1; }

# the program: 20 MB of shared libraries carried by a crate
cp -r "$TOP/bench/ssh-fanout/art" "$work/art"
cat /usr/lib/x86_64-linux-gnu/*.so* 2>/dev/null | head -c $((20 * 1024 * 1024)) >"$work/art/blob"
CARGO_TARGET_DIR=$work/target
export CARGO_TARGET_DIR
cargo build -q --release --offline --manifest-path "$work/art/Cargo.toml" ||
	{ echo "cannot build the program"; exit 1; }
art=$work/target/release/server
pkg=$("$work/fan" pack "$work/pkgs" "$art") || exit 1
mkdir -p "$work/proj/.hydro" "$work/cp"

# ansible: defaults, but its control sockets and files kept in $work
cat >"$work/ansible.cfg" <<EOF
[defaults]
interpreter_python = /usr/bin/python3
host_key_checking = True
local_tmp = $work/ansible-local
[ssh_connection]
control_path_dir = $work/cp
EOF
cat >"$work/play.yml" <<EOF
- hosts: all
  gather_facts: false
  tasks:
    - copy: {src: "$art", dest: /root/ansible-server, mode: "0755"}
    - command: /root/ansible-server --once
EOF
ANSIBLE_CONFIG=$work/ansible.cfg
export ANSIBLE_CONFIG

cp_close() {
	for s in "$work"/cp/*; do
		[ -S "$s" ] && ssh -o ControlPath="$s" -O exit x >/dev/null 2>&1
	done
	return 0
}
t_on_exit cp_close

# the hosts' names (h1..hN) one a line, and their addresses
# (hosts.sh's functions use i, k, n, r... as globals: these names are ours)
names() { seq -f 'h%.0f' 1 "$1"; }
addrs() { for h in $(names "$1"); do host_addr "${h#h}"; done; }

# remove what any row left on hosts 1..N
wipe() {
	for h in $(names "$1"); do
		ssh -F "$HOSTS_CONFIG" "$h" 'rm -rf ~/.hydro ~/pssh-server ~/rsync-server ~/ansible-server ~/.ansible' &
	done
	wait
}

# time row_ROW N for N hosts into $work/res as "N ROW PHASE MS"; its
# output in $work/out: timed N ROW PHASE row_ROW; and in $work/busy "N ROW
# PHASE BUSY", how busy the machine's CPUs were meanwhile (0 to 1, from
# /proc/stat: everyone's work, the hosts' sshds included)
cpu() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6; exit}' /proc/stat; }
# (and in $work/hcpu "N ROW PHASE US", the CPU time the hosts used, from
# their cgroups; 0 where the machine has none)
timed() {
	c0=$(cpu)
	h0=$(hosts_cpu_usec || echo 0)
	t0=$(date +%s%N)
	"$4" "$1" >"$work/out" 2>&1 || { echo "$2 ($3, $1 hosts) failed:"; tail -20 "$work/out"; exit 1; }
	t1=$(date +%s%N)
	c1=$(cpu)
	h1=$(hosts_cpu_usec || echo 0)
	echo "$1 $2 $3 $(((t1 - t0) / 1000000))" >>"$work/res"
	echo "$1 $2 $3 $((h1 - h0))" >>"$work/hcpu"
	echo "$1 $2 $3 $c0 $c1" | awk '{b = $6 - $4; i = $7 - $5; print $1, $2, $3, (b + i) ? b / (b + i) : 0}' >>"$work/busy"
}

row_hydro() { "$work/fan" deploy "$work/proj/.hydro" "$HOSTS_KEY" "$pkg" $(addrs "$1"); }
row_hydro_run() { (cd "$work/proj" && "$HYDRO" -q run "d$1.json"); }
row_hydro_run_t() { (cd "$work/proj" && "$HYDRO" -q run "d$1t.json"); }
row_pssh() {
	parallel-scp -h "$work/hosts$1" -p "$1" -x "-F $HOSTS_CONFIG" "$art" /root/pssh-server >/dev/null &&
	parallel-ssh -h "$work/hosts$1" -p "$1" -x "-F $HOSTS_CONFIG" -i '/root/pssh-server --once'
}
row_rsync() {
	names "$1" | xargs -P "$1" -I{} sh -c \
		'rsync -az -e "ssh -F $0" "$1" {}:rsync-server && ssh -F "$0" {} "./rsync-server --once"' \
		"$HOSTS_CONFIG" "$art"
}
row_ansible() { ansible-playbook -i "$work/inv$1" -f "$1" "$work/play.yml"; }

: >"$work/res"
: >"$work/loads"
: >"$work/hcpu"
: >"$work/steps"
: >"$work/probes"
: >"$work/busy"
made=0
for size in $SIZES; do
	hosts_up $((size - made))
	made=$size
	cp "$HOSTS_KNOWN" "$work/proj/.hydro/known_hosts"
	names "$size" >"$work/hosts$size"
	{ echo "[all]"; names "$size"; echo "[all:vars]"; echo "ansible_ssh_common_args='-F $HOSTS_CONFIG'"; } >"$work/inv$size"
	# hydro run's deployment: one crate service per SSH host
	# (and the same with each host's target= given, not read from it)
	python3 - "$size" "$work/art" "$HOSTS_KEY" "$work/proj/d$size" $(addrs "$size") <<'PY'
import json, sys
n, src, key, out, addrs = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
for suffix, more in (("", {}), ("t", {"target": "x86_64-unknown-linux-gnu"})):
    with open(out + suffix + ".json", "w") as f:
        json.dump({"version": 1,
            "hosts": [{"name": "h%d" % (i + 1), "backend": "ssh",
                       "settings": dict({"host": a, "key": key}, **more)}
                      for i, a in enumerate(addrs)],
            "services": [{"name": "s%d" % (i + 1), "kind": "crate", "on": "h%d" % (i + 1),
                          "src": src} for i in range(n)]}, f)
PY
	rows=$ROWS
	case " $ROWS " in
	*" hydro_run "* | *" hydro_run_t "*)
		wipe "$size"
		if ! (cd "$work/proj" && "$HYDRO" -q run "d$size.json") >"$work/probe.out" 2>&1; then
			rows=$(echo " $ROWS " | sed 's/ hydro_run_t / /; s/ hydro_run / /')
			echo "$size hydro_run missing $(grep -m1 error "$work/probe.out" | sed 's/^[^:]*: //')" >>"$work/res"
		fi ;;
	esac
	round=0
	while [ $round -lt "$RUNS" ]; do
		round=$((round + 1))
		for row in $rows; do
			wipe "$size"
			cp_close
			timed "$size" "$row" cold "row_$row"
			[ "$row" = hydro ] && sed "s/^/$size cold /" "$work/out" >>"$work/steps"
			timed "$size" "$row" warm "row_$row"
			[ "$row" = hydro ] && sed "s/^/$size warm /" "$work/out" >>"$work/steps"
		done
	done
	# hydro's connect step in parts: TCP, key exchange, authentication
	round=0
	case " $rows " in *" hydro "*) ;; *) round=$RUNS ;; esac
	while [ $round -lt "$RUNS" ]; do
		round=$((round + 1))
		"$work/fan" probe "$HOSTS_KEY" $(addrs "$size") | sed "s/^/$size /" >>"$work/probes" ||
			{ echo "fan probe failed"; exit 1; }
	done
	echo "$size $(cut -d' ' -f1-3 /proc/loadavg)" >>"$work/loads"
done
wipe "$made"
cp_close

if [ -n "$HOSTS_CPU" ]; then
	echo "Each host capped at $HOSTS_CPU of one core ($HOSTS_CG_CAP)."
else
	echo "The hosts unconstrained (sharing this machine's $(nproc) cores)."
fi
echo
python3 - "$work/res" "$work/steps" "$work/loads" "$work/probes" "$work/busy" "$work/hcpu" <<'PY'
import collections, statistics, sys
res = collections.defaultdict(list)
missing = {}
for line in open(sys.argv[1]):
    n, row, phase, rest = line.split(" ", 3)
    if phase == "missing":
        missing[int(n)] = rest.strip()
    else:
        res[(int(n), row, phase)].append(int(rest) / 1000)
med = {k: statistics.median(v) for k, v in res.items()}
loads = dict(l.split(" ", 1) for l in open(sys.argv[3]))
names = {"hydro": "hydro (SSH backend, fan.c)", "hydro_run": "hydro run",
         "hydro_run_t": "hydro run, target= given",
         "pssh": "pssh (parallel-scp + parallel-ssh)", "rsync": "rsync -az, xargs -P",
         "ansible": "ansible (copy + command)"}
sizes = sorted({k[0] for k in med})
hcpu = collections.defaultdict(list)
for line in open(sys.argv[6]):
    n, row, phase, us = line.split()
    hcpu[(int(n), row, phase)].append(int(us) / 1000 / int(n))
def ratio(a, b, fmt):
    return fmt % (a / b) if a is not None and b else "-"
print("| hosts | | cold (s) | warm (s) | hosts' CPU per host, cold / warm (ms) | this / pssh, cold | ansible / this, cold | ansible / this, warm |")
print("|---:|---|---:|---:|---:|---:|---:|---:|")
for n in sizes:
    for row in names:
        if (n, row, "cold") not in med:
            if row == "hydro_run" and n in missing:
                print("| %d | hydro run | - | - | | not yet: %s | | |" % (n, missing[n]))
            continue
        c, w = med[(n, row, "cold")], med[(n, row, "warm")]
        print("| %d | %s | %.2f | %.2f | %.0f / %.0f | %s | %s | %s |" % (
            n, names[row], c, w, statistics.median(hcpu[(n, row, "cold")]),
            statistics.median(hcpu[(n, row, "warm")]),
            ratio(c, med.get((n, "pssh", "cold")), "%.2fx"),
            ratio(med.get((n, "ansible", "cold")), c, "%.1fx"),
            ratio(med.get((n, "ansible", "warm")), w, "%.1fx")))
busy = collections.defaultdict(list)
for line in open(sys.argv[5]):
    n, row, phase, b = line.split()
    busy[(int(n), row, phase)].append(float(b))
print("\nHow busy the CPUs were (all of them, everyone's work) while each ran, median:\n")
print("| | " + " | ".join("%d hosts, %s" % (n, p) for n in sizes for p in ("cold", "warm")) +
      (" | %d hosts / %d, cold | warm |" % (sizes[-1], sizes[0]) if len(sizes) > 1 else " |"))
print("|---|" + "---:|" * (2 * len(sizes) + (2 if len(sizes) > 1 else 0)))
for row in names:
    if (sizes[0], row, "cold") not in med:
        continue
    cells = ["%.0f %%" % (100 * statistics.median(busy[(n, row, p)])) for n in sizes
             for p in ("cold", "warm")]
    if len(sizes) > 1:
        a, b = sizes[0], sizes[-1]
        cells += ["%.2fx" % (med[(b, row, p)] / med[(a, row, p)]) for p in ("cold", "warm")]
    print("| %s | %s |" % (names[row], " | ".join(cells)))
print("\nload average (1, 5, 15 min) after each size: " +
      "; ".join("%s hosts: %s" % (n, loads[n].strip()) for n in sorted(loads, key=int)))
# the SSH backend's steps, per host: median and slowest over hosts and rounds
steps = collections.defaultdict(list)
if not open(sys.argv[2]).read():
    sys.exit(0)
for line in open(sys.argv[2]):
    n, phase, addr, conn, up, how, unpack, start, total = line.split()
    for k, v in (("connect", conn), ("upload", up), ("unpack", unpack), ("start", start),
                 ("total", total)):
        steps[(int(n), phase, k)].append(float(v))
print("\nhydro's steps per host (ms), median / slowest:\n")
print("| hosts | | connect + auth | upload (stat, copy, verify) | unpack | start | host total |")
print("|---:|---|---:|---:|---:|---:|---:|")
for n in sizes:
    for phase in ("cold", "warm"):
        print("| %d | %s | %s |" % (n, phase, " | ".join(
            "%.0f / %.0f" % (statistics.median(steps[(n, phase, k)]), max(steps[(n, phase, k)]))
            for k in ("connect", "upload", "unpack", "start", "total"))))
probes = collections.defaultdict(list)
for line in open(sys.argv[4]):
    n, addr, tcp, kex, auth = line.split()
    for k, v in (("tcp", tcp), ("kex", kex), ("auth", auth)):
        probes[(int(n), k)].append(float(v))
print("\nits connect step in parts, every host at once (ms), median / slowest:\n")
print("| hosts | TCP connect | banner + key exchange | public key auth |")
print("|---:|---:|---:|---:|")
for n in sizes:
    print("| %d | %s |" % (n, " | ".join("%.1f / %.1f" % (statistics.median(probes[(n, k)]),
                                                       max(probes[(n, k)]))
                                         for k in ("tcp", "kex", "auth"))))
PY
