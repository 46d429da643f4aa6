#!/bin/sh
# bench/hf-throughput: messages a second from a compiled .hf sender to a
# compiled .hf receiver over a wired port (sender.hf, receiver.hf, run by
# `hydro run`), beside the same pair written by hand against hydroflow
# 0.10's deploy integration (peers/, hft_deploy_send and hft_deploy_recv:
# what a Hydro Deploy user writes, run by `hydro run` as `crate` services),
# and beside the same frames over a raw socket (peers/, hft_raw: one thread
# writing through a BufWriter, one reading through a BufReader).
#
# Each sender sends N messages, a Vec<u8> of SIZE bytes each (bincode: 8 +
# SIZE bytes a frame), BURST of them a tick: hydroflow 0.10's deploy
# integration stalls for good on a burst of about 100 000 messages in one
# tick, so the bursts are 10 000, which that pair survives.  Each receiver
# times from the first message it folds to the N-th; the rate is N over
# that time, so start-up is not in it.  Two sizes: 8 bytes (SMALL_N
# messages) and 1 KiB (BIG_N).  The pairs run in turn, RUNS rounds; the
# table gives medians.  Both hydro pairs are wired over a Unix socket, as
# hydro (and Hydro Deploy) wire two programs on one machine; the raw rows
# give both Unix and TCP.  Everything builds with the release profile into
# build/cargo-target (HF_THROUGHPUT_TARGET names another).
: "${HYDRO:?run through make bench}"
: "${TOP:?run through make bench}"
RUNS=${RUNS:-5}
SMALL_N=${SMALL_N:-1000000}
BIG_N=${BIG_N:-100000}
BURST=${BURST:-10000}

command -v cargo >/dev/null 2>&1 || { echo "cargo is not installed"; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "python3 is needed to time the runs"; exit 1; }

here=$TOP/bench/hf-throughput
work=$(mktemp -d "${TMPDIR:-/tmp}/hydro-bench-hf-throughput.XXXXXX")
trap 'rm -rf "$work"' EXIT
CARGO_TARGET_DIR=${HF_THROUGHPUT_TARGET:-$TOP/build/cargo-target}
HYDRO_CACHE_DIR=$work/cache
export CARGO_TARGET_DIR HYDRO_CACHE_DIR
cp "$here/sender.hf" "$here/receiver.hf" "$work/"

# the deployments: hf-SIZE.json (the compiled pair), hand-SIZE.json (the
# hand-written pair)
for s in 8:$SMALL_N 1024:$BIG_N; do
	size=${s%%:*} n=${s#*:}
	cat >"$work/hf-$size.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "sender", "kind": "hydroflow", "on": "box", "src": "sender.hf",
   "args": ["--n=$n", "--size=$size", "--burst=$BURST"], "ports": [{"name": "out", "dir": "output", "type": "Vec<u8>"}]},
  {"name": "receiver", "kind": "hydroflow", "on": "box", "src": "receiver.hf",
   "args": ["--n=$n"], "ports": [{"name": "inp", "dir": "input", "type": "Vec<u8>"}]}
 ],
 "connections": [{"from": "sender.out", "to": "receiver.inp"}]}
JSON
	cat >"$work/hand-$size.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "sender", "kind": "crate", "on": "box", "src": "$here/peers", "bin": "hft_deploy_send",
   "args": ["$n", "$size", "$BURST"]},
  {"name": "receiver", "kind": "crate", "on": "box", "src": "$here/peers", "bin": "hft_deploy_recv",
   "args": ["$n"]}
 ],
 "connections": [{"from": "sender.out", "to": "receiver.inp"}]}
JSON
done
for c in hf-8 hand-8; do
	"$HYDRO" -q --color=never build "$work/$c.json" >"$work/build.log" 2>&1 ||
		{ cat "$work/build.log"; exit 1; }
done
(cd "$here/peers" && cargo build --release --locked -q --bin hft_raw) || exit 1

python3 - "$HYDRO" "$work" "$CARGO_TARGET_DIR/release/hft_raw" "$RUNS" "$SMALL_N" "$BIG_N" "$BURST" <<'PY'
import re, signal, statistics, subprocess, sys, threading
hydro, work, raw, runs, small_n, big_n, burst = sys.argv[1:8]
runs, small_n, big_n = int(runs), int(small_n), int(big_n)
LINE = re.compile(r"received (\d+) messages \((\d+) bytes\) in ([0-9.]+) s")
TIMEOUT = 120

def rate(text, n):
    m = LINE.search(text)
    if not m or int(m.group(1)) != n:
        return None
    return n / float(m.group(3))

def run_hydro(cfg, n):
    """hydro run CFG until the receiver's line, then Ctrl-C; None if it
    never came (a stall) within TIMEOUT seconds"""
    p = subprocess.Popen([hydro, "--color=never", "run", cfg], cwd=work, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    t = threading.Timer(TIMEOUT, p.send_signal, [signal.SIGINT])
    t.start()
    r = None
    for line in p.stdout:
        r = rate(line, n)
        if r is not None:
            break
    t.cancel()
    p.send_signal(signal.SIGINT)
    p.stdout.close()
    p.wait(timeout=120)
    return r

def run_raw(kind, n, size):
    out = subprocess.run([raw, kind, str(n), str(size)], capture_output=True, text=True, check=True)
    return rate(out.stdout, n)

sizes = [(8, small_n), (1024, big_n)]
rows = [("hydro: compiled sender.hf -> receiver.hf (Unix socket)", lambda s, n: run_hydro(f"hf-{s}.json", n)),
        ("hydroflow 0.10 deploy integration, by hand (Unix socket)", lambda s, n: run_hydro(f"hand-{s}.json", n)),
        ("raw framed Unix socket, Rust std", lambda s, n: run_raw("unix", n, s)),
        ("raw framed loopback TCP, Rust std", lambda s, n: run_raw("tcp", n, s))]
res = {}
for _ in range(runs):
    for s, n in sizes:
        for name, fn in rows:
            res.setdefault((name, s), []).append(fn(s, n))

def med(name, s):
    v = [x for x in res[(name, s)] if x is not None]
    return statistics.median(v) if v else None

def fmt(x):
    return "stalled" if x is None else "%.2f M/s" % (x / 1e6)

hf, hand, _, tcp = (r[0] for r in rows)
print("| %d bursts a tick, medians of %d | 8-byte messages (%d) | 1 KiB messages (%d) |" % (int(burst), runs, small_n, big_n))
print("|---|---:|---:|")
for name, _ in rows:
    print("| %s | %s | %s |" % (name, fmt(med(name, 8)), fmt(med(name, 1024))))
for peer, what in ((hand, "the hand-written hydroflow pair"), (tcp, "raw loopback TCP")):
    cells = []
    for s, _ in sizes:
        a, b = med(hf, s), med(peer, s)
        cells.append("%.2fx" % (a / b) if a and b else "-")
    print("| hydro vs %s | %s |" % (what, " | ".join(cells)))
print()
print("stalls (no result within %d s): %s" % (TIMEOUT, ", ".join(
    "%s %dB: %d of %d" % (name.split(":")[0], s, res[(name, s)].count(None), runs)
    for (name, s) in res if None in res[(name, s)]) or "none"))
PY
