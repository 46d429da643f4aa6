#!/bin/sh
# bench/rtt: ping-pong latency over wired ports, beside raw loopback TCP in C.
#
# hydro: two protocol nodes (tests/progs/node), ping.out -> pong.in and
# pong.out -> ping.back, wired by `hydro run` (Unix sockets, the local
# default), and the same pair as plain processes wired over TCP through
# HYDRO_PORT_*; ping sends a frame and waits for it to come back, COUNT
# times.  The peer is tests/progs/tcprtt: the same frames over one loopback
# TCP connection with an echo thread.  p50 and p99 in microseconds, medians
# of RUNS runs.
#
# And the echo round trip through two compiled programs (echo_client.hf,
# echo_server.hf, built by `hydro build` with the release profile into
# build/cargo-target, RTT_TARGET names another): the client sends a
# (sequence, time) pair, the server sends it back, the client sends the next
# on each echo and prints the percentiles after COUNT; run by `hydro run`,
# wired over Unix sockets, and stopped once the client has printed them.
: "${HYDRO:?run through make bench}"
: "${BUILD:?}"
RUNS=${RUNS:-3}
COUNT=${COUNT:-20000}
NODE=$BUILD/tests/progs/node
[ -x "$NODE" ] && [ -x "$BUILD/tests/progs/tcprtt" ] || { echo "build the test programs first (make tests)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hydro-bench-rtt.XXXXXX")
trap 'rm -rf "$work"' EXIT
export TMPDIR="$work"
: >"$work/x.hf"
cat >"$work/unix.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "ping", "kind": "hydroflow", "on": "box", "src": "x.hf", "standin": ["$NODE", "ping", "$COUNT"],
   "ports": [{"name": "back", "dir": "input"}, {"name": "out", "dir": "output"}]},
  {"name": "pong", "kind": "hydroflow", "on": "box", "src": "x.hf", "standin": ["$NODE", "relay"],
   "ports": [{"name": "in", "dir": "input"}, {"name": "out", "dir": "output"}]}
 ],
 "connections": [{"from": "ping.out", "to": "pong.in"}, {"from": "pong.out", "to": "ping.back"}]}
JSON
cat >"$work/tcp.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "ping", "kind": "process", "on": "box", "cmd": ["$NODE", "--env", "ping", "$COUNT"],
   "ports": [{"name": "back", "dir": "input"}, {"name": "out", "dir": "output"}]},
  {"name": "pong", "kind": "process", "on": "box", "cmd": ["$NODE", "--env", "relay"],
   "ports": [{"name": "in", "dir": "input"}, {"name": "out", "dir": "output"}], "ready": {"port": "in"}}
 ],
 "connections": [{"from": "ping.out", "to": "pong.in"}, {"from": "pong.out", "to": "ping.back"}]}
JSON

cp "$TOP/bench/rtt/echo_client.hf" "$TOP/bench/rtt/echo_server.hf" "$work/"
cat >"$work/hf.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "client", "kind": "hydroflow", "on": "box", "src": "echo_client.hf", "args": ["--count=$COUNT"],
   "ports": [{"name": "back", "dir": "input", "type": "(u64, u64)"}, {"name": "out", "dir": "output", "type": "(u64, u64)"}]},
  {"name": "server", "kind": "hydroflow", "on": "box", "src": "echo_server.hf",
   "ports": [{"name": "inp", "dir": "input", "type": "(u64, u64)"}, {"name": "out", "dir": "output", "type": "(u64, u64)"}]}
 ],
 "connections": [{"from": "client.out", "to": "server.inp"}, {"from": "server.out", "to": "client.back"}]}
JSON
hf=0
CARGO_TARGET_DIR=${RTT_TARGET:-$TOP/build/cargo-target}
HYDRO_CACHE_DIR=$work/cache
export CARGO_TARGET_DIR HYDRO_CACHE_DIR
if command -v cargo >/dev/null 2>&1; then
	"$HYDRO" -q --color=never build "$work/hf.json" >"$work/build.log" 2>&1 &&
		hf=1 || { echo "the compiled echo pair did not build:"; tail -20 "$work/build.log"; }
fi

python3 - "$HYDRO" "$BUILD/tests/progs/tcprtt" "$work" "$COUNT" "$RUNS" "$hf" <<'PY'
import re, signal, statistics, subprocess, sys, threading
hydro, tcprtt, work, count, runs, hf = sys.argv[1:7]
count, runs = int(count), int(runs)

def parse(text):
    m = re.search(r"p50 ([0-9.]+) p99 ([0-9.]+)", text)
    if not m:
        sys.exit("no latencies in: " + text)
    return float(m.group(1)), float(m.group(2))

def run_hydro(cfg):
    out = subprocess.run([hydro, "run", "--no-log-prefix", cfg], cwd=work, capture_output=True,
                         text=True, timeout=300)
    if out.returncode:
        sys.exit(out.stderr)
    return parse(out.stdout)

def run_until_line(cfg):
    # compiled programs run until stopped: Ctrl-C once the line is out
    p = subprocess.Popen([hydro, "--color=never", "run", cfg], cwd=work, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    t = threading.Timer(300, p.send_signal, [signal.SIGINT])
    t.start()
    r = None
    for line in p.stdout:
        if "p50 " in line:
            r = parse(line)
            break
    t.cancel()
    p.send_signal(signal.SIGINT)
    p.stdout.close()
    p.wait(timeout=120)
    if r is None:
        sys.exit("the compiled echo pair printed no latencies")
    return r

rows = [("raw loopback TCP in C (tcprtt)", lambda: parse(subprocess.run([tcprtt, str(count)],
         capture_output=True, text=True, check=True).stdout)),
        ("hydro: wired protocol nodes (Unix sockets)", lambda: run_hydro("unix.json")),
        ("hydro: processes wired by HYDRO_PORT_* (TCP)", lambda: run_hydro("tcp.json"))]
if hf == "1":
    rows.append(("hydro: compiled echo_client.hf <-> echo_server.hf (Unix sockets)",
                 lambda: run_until_line("hf.json")))
res = {}
for _ in range(runs):
    for name, fn in rows:
        res.setdefault(name, []).append(fn())
base = rows[0][0]
b50 = statistics.median(x[0] for x in res[base])
b99 = statistics.median(x[1] for x in res[base])
print("| %d round trips | p50 (us) | p99 (us) | p50 vs TCP | p99 vs TCP |" % count)
print("|---|---:|---:|---:|---:|")
for name, _ in rows:
    p50 = statistics.median(x[0] for x in res[name])
    p99 = statistics.median(x[1] for x in res[name])
    print("| %s | %.1f | %.1f | %.2fx | %.2fx |" % (name, p50, p99, p50 / b50, p99 / b99))
PY
