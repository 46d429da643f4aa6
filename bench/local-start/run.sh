#!/bin/sh
# bench/local-start: 100 services wired in a ring, time until all are
# started, beside a bare C loop that spawns 100 processes and waits for a line
# from each (the limit) and honcho starting the same 100 from a Procfile.
#
# hydro: `hydro run` of 100 protocol-speaking nodes (tests/progs/node relay)
# in a ring (launch, handshake, Unix-socket wiring, start); "started" is when
# the last node's first line (printed after `ack start`) reaches hydro's
# stderr.  Also 100 plain processes (no ports) through hydro.  The peers start
# 100 `node hello`, which print one line.  Each round runs every row once,
# in turn; the times are medians of RUNS rounds, and each ratio is the
# median of the round-by-round ratios to the bare loop (a shared machine's
# speed drifts between rounds, less within one).
: "${HYDRO:?run through make bench}"
: "${BUILD:?}"
RUNS=${RUNS:-9}
N=${N:-100}
NODE=$BUILD/tests/progs/node
LOOP=$BUILD/tests/progs/spawnloop
[ -x "$NODE" ] && [ -x "$LOOP" ] || { echo "build the test programs first (make tests)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hydro-bench-start.XXXXXX")
trap 'rm -rf "$work"' EXIT
export TMPDIR="$work"
: >"$work/x.hf"

{
	echo '{"version": 1, "hosts": [{"name": "box"}], "services": ['
	i=0
	while [ $i -lt "$N" ]; do
		[ $i -gt 0 ] && echo ','
		echo "{\"name\": \"n$i\", \"kind\": \"hydroflow\", \"on\": \"box\", \"src\": \"x.hf\","
		echo " \"standin\": [\"$NODE\", \"relay\"], \"ports\": [{\"name\": \"in\", \"dir\": \"input\"}, {\"name\": \"out\", \"dir\": \"output\"}]}"
		i=$((i + 1))
	done
	echo '], "connections": ['
	i=0
	while [ $i -lt "$N" ]; do
		[ $i -gt 0 ] && echo ','
		echo "{\"from\": \"n$i.out\", \"to\": \"n$(( (i + 1) % N )).in\"}"
		i=$((i + 1))
	done
	echo ']}'
} >"$work/ring.json"
{
	echo '{"version": 1, "hosts": [{"name": "box"}], "services": ['
	i=0
	while [ $i -lt "$N" ]; do
		[ $i -gt 0 ] && echo ','
		echo "{\"name\": \"p$i\", \"kind\": \"process\", \"on\": \"box\", \"cmd\": [\"$NODE\", \"hello\"]}"
		i=$((i + 1))
	done
	echo ']}'
} >"$work/procs.json"
i=0
while [ $i -lt "$N" ]; do
	echo "p$i: $NODE hello"
	i=$((i + 1))
done >"$work/Procfile"

python3 - "$HYDRO" "$LOOP" "$NODE" "$work" "$N" "$RUNS" <<'PY'
import os, shutil, signal, statistics, subprocess, sys, time
hydro, loop, node, work, n, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])

def until_lines(cmd, stream, match, cwd=work):
    """ms from start until n lines containing match; then interrupt and reap"""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE if stream == 1 else subprocess.DEVNULL,
                         stderr=subprocess.PIPE if stream == 2 else subprocess.DEVNULL,
                         start_new_session=True)
    f = p.stdout if stream == 1 else p.stderr
    seen = 0
    for line in f:
        if match in line:
            seen += 1
            if seen == n:
                break
    t = (time.monotonic() - t0) * 1e3
    os.killpg(p.pid, signal.SIGINT)
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    if seen != n:
        sys.exit("%s: only %d of %d started" % (cmd[0], seen, n))
    return t

def bare():
    out = subprocess.run([loop, str(n), node, "hello"], capture_output=True, text=True, check=True)
    return float(out.stdout)

rows = [("bare C loop: fork, exec, one line each (the limit)", bare)]
rows.append(("hydro run: %d protocol nodes in a ring (handshake, wiring, start)" % n,
             lambda: until_lines([hydro, "run", "ring.json"], 2, b"node relay:")))
rows.append(("hydro run: %d plain processes" % n,
             lambda: until_lines([hydro, "run", "procs.json"], 1, b"hello")))
honcho = shutil.which("honcho")
if honcho:
    rows.append(("honcho start (Procfile, pip's honcho)",
                 lambda: until_lines([honcho, "start", "-f", "Procfile"], 1, b"hello")))
res = {}
for _ in range(runs):
    for name, fn in rows:
        res.setdefault(name, []).append(fn())
bare_times = res[rows[0][0]]
print("| %d services | time until all started (ms, median of %d) | vs the bare loop "
      "(median ratio, min-max) |" % (n, runs))
print("|---|---:|---:|")
for name, _ in rows:
    ratios = sorted(t / b for t, b in zip(res[name], bare_times))
    print("| %s | %.1f | %.2fx (%.2f-%.2f) |" % (name, statistics.median(res[name]),
                                              statistics.median(ratios), ratios[0], ratios[-1]))
if not honcho:
    print("\nhoncho is not installed (pip install honcho): no honcho row")
PY
