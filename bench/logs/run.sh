#!/bin/sh
# bench/logs: one service prints LINES lines (1 M by default); lines per
# second through hydro's log path (split into lines, kept in the ring, the
# log file and its times, echoed with a "name | " prefix to hydro's stdout,
# here a file), beside the same producer piped through cat into a file.
# Medians of RUNS runs.
: "${HYDRO:?run through make bench}"
: "${BUILD:?}"
RUNS=${RUNS:-5}
LINES=${LINES:-1000000}
NODE=$BUILD/tests/progs/node
[ -x "$NODE" ] || { echo "build the test programs first (make tests)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hydro-bench-logs.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat >"$work/logs.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "talker", "kind": "process", "on": "box", "cmd": ["$NODE", "lines", "$LINES"]}]}
JSON

python3 - "$HYDRO" "$NODE" "$work" "$LINES" "$RUNS" <<'PY'
import os, shutil, statistics, subprocess, sys, time
hydro, node, work, lines, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

def timed(cmd, out, check):
    t0 = time.monotonic()
    with open(out, "wb") as f:
        subprocess.run(cmd, cwd=work, stdout=f, check=True, shell=isinstance(cmd, str))
    t = time.monotonic() - t0
    n = sum(1 for _ in open(check, "rb"))
    if n != lines:
        sys.exit("%s: %d lines, expected %d" % (check, n, lines))
    return lines / t

def hydro_run():
    shutil.rmtree(os.path.join(work, ".hydro"), ignore_errors=True)
    r = timed([hydro, "run", "logs.json"], os.path.join(work, "hydro.txt"), os.path.join(work, "hydro.txt"))
    logs = os.path.join(work, ".hydro", "runs")
    run = os.listdir(logs)[0]
    n = sum(1 for _ in open(os.path.join(logs, run, "logs", "talker.out"), "rb"))
    if n != lines:
        sys.exit("the log file has %d lines" % n)
    return r

def cat():
    return timed("'%s' lines %d | cat" % (node, lines), os.path.join(work, "cat.txt"), os.path.join(work, "cat.txt"))

res = {"hydro": [], "cat": []}
for _ in range(runs):
    res["hydro"].append(hydro_run())
    res["cat"].append(cat())
h, c = statistics.median(res["hydro"]), statistics.median(res["cat"])
print("| %d lines | lines/s (median of %d) | vs cat |" % (lines, runs))
print("|---|---:|---:|")
print("| producer \\| cat > file | %.0f | 1.00x |" % c)
print("| hydro run > file (log file, times, ring, prefixed echo) | %.0f | %.2fx |" % (h, h / c))
PY
