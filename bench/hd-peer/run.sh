#!/bin/sh
# bench/hd-peer: hydro beside Hydro Deploy 0.5.0 (the hydro-deploy package
# from the Python package index, in a virtual environment) on the same
# configs and the same programs:
#
#   n_crates.hydro.py   N services of one crate (hydroflow 0.5.0's `idle`
#                       example), N = 1, 10, 50: deploy, start, print
#                       "started", stop each, return
#   simple_dedalus      Hydro Deploy 0.5's own example, unchanged
#                       (tests/compat/hydroflow05): two senders, a demux into
#                       two merged receivers, ten lines read, senders stopped
#
# Each is run as `hydro deploy CONFIG -- ARGS` by Hydro Deploy and `hydro run
# CONFIG -- ARGS` by hydro, alternating (who goes first alternates by round),
# RUNS rounds; the times are medians: from the command's start until the
# script printed "started" (every service started), and until the command
# exited (the whole run).  Both build the crate (release) into one target
# directory of the benchmark's own, HD_PEER_TARGET, so that another cargo
# holding the shared one's lock cannot stall Hydro Deploy, which runs cargo
# on every deploy: the first run builds it cold (a few minutes).  The last
# run of each also has its printed lines compared (the script's own lines;
# the services' logs differ in their labels only).
#
# Needs cargo, the crate registry and the Python package index once (the
# virtual environment is kept in HD_VENV).
: "${HYDRO:?run through make bench}"
: "${TOP:?}"
RUNS=${RUNS:-7}
NS=${NS:-1 10 50}
VENV=${HD_VENV:-$TOP/build/hd-venv}
TARGET=${HD_PEER_TARGET:-$TOP/build/hd-peer-target}
CRATE=$TOP/tests/compat/hydroflow05
PYLIB=$VENV/hydro-extra	# aiostream, for hydro's interpreter (simple_dedalus imports it)

command -v cargo >/dev/null 2>&1 || { echo "cargo is needed to build the crate"; exit 1; }
if [ ! -x "$VENV/bin/hydro" ] || [ ! -d "$PYLIB" ]; then
	echo "installing hydro-deploy 0.5.0 and aiostream into $VENV ..."
	{ python3 -m venv "$VENV" &&
	  "$VENV/bin/pip" install -q hydro-deploy==0.5.0 aiostream &&
	  "$VENV/bin/pip" install -q --target "$PYLIB" aiostream; } >"$VENV.log" 2>&1 ||
		{ echo "cannot install hydro-deploy 0.5.0 from the Python package index: $(tail -1 "$VENV.log")"; exit 1; }
fi
echo "building $CRATE (release) into $TARGET ..."
(cd "$CRATE" && CARGO_TARGET_DIR=$TARGET cargo build -q --locked --release --examples) ||
	{ echo "cannot build $CRATE"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hydro-bench-hd-peer.XXXXXX")
had_runs=0
[ -d "$CRATE/.hydro" ] && had_runs=1
cleanup() {
	rm -rf "$work"
	[ $had_runs = 1 ] || rm -rf "$CRATE/.hydro"
}
trap cleanup EXIT
cp "$TOP/bench/hd-peer/n_crates.hydro.py" "$work/"

python3 - "$HYDRO" "$VENV/bin/hydro" "$work" "$CRATE" "$TARGET" "$PYLIB" "$RUNS" $NS <<'PY'
import os, re, signal, statistics, subprocess, sys, time

hydro, hd, work, crate, target, pylib, runs = sys.argv[1:8]
runs = int(runs)
ns = [int(n) for n in sys.argv[8:]]
LIMIT = 120

def env_for(tool):
    e = dict(os.environ, CARGO_TARGET_DIR=target, PYTHONUNBUFFERED="1")
    e.pop("PYTHONPATH", None)
    if tool == "hydro":
        e["PYTHONPATH"] = pylib
    return e

def once(tool, config, args, cwd, started):
    """(ms until the line `started`, ms until exit, stdout lines), or None if
    it hung (killed after LIMIT s)"""
    cmd = ([hd, "deploy"] if tool == "hd" else [hydro, "--color=never", "run"]) + [config, "--"] + args
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, cwd=cwd, env=env_for(tool), stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    t_started, lines = None, []
    deadline = t0 + LIMIT
    def on_alarm(*_):
        raise TimeoutError
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(LIMIT)
    try:
        for raw in p.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            lines.append(line)
            if t_started is None and line == started:
                t_started = (time.monotonic() - t0) * 1e3
        p.wait()
        t_end = (time.monotonic() - t0) * 1e3
    except TimeoutError:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        return None
    finally:
        signal.alarm(0)
    if p.returncode != 0 or t_started is None:
        sys.exit("%s exited with %d (started seen: %s): %s" % (" ".join(cmd), p.returncode,
                 t_started is not None, "\n".join(lines[-5:])))
    return t_started, t_end, lines

cases = [("%d services of one crate" % n, "n_crates.hydro.py", [str(n), crate], work, "started")
         for n in ns]
cases.append(("simple_dedalus (Hydro Deploy 0.5's example)", "simple_dedalus.hydro.py",
              ["local", "local"], crate, "started!"))

# once each, untimed: builds, caches, the interpreters' files in the page cache
for name, config, args, cwd, started in cases:
    for tool in ("hd", "hydro"):
        if once(tool, config, args, cwd, started) is None:
            sys.exit("%s hung on %s in its first run" % (tool, name))

res, hangs, last = {}, {"hd": 0, "hydro": 0}, {}
for r in range(runs):
    for name, config, args, cwd, started in cases:
        for tool in (("hd", "hydro") if r % 2 == 0 else ("hydro", "hd")):
            got = once(tool, config, args, cwd, started)
            if got is None:
                hangs[tool] += 1
                continue
            res.setdefault((name, tool), []).append(got[:2])
            last[(name, tool)] = got[2]

def med(name, tool, i):
    v = [x[i] for x in res.get((name, tool), [])]
    return statistics.median(v) if v else float("nan")

print("| config | Hydro Deploy 0.5: started (ms) | hydro: started (ms) | faster | "
      "Hydro Deploy 0.5: whole run (ms) | hydro: whole run (ms) | faster |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, *_ in cases:
    hs, ys = med(name, "hd", 0), med(name, "hydro", 0)
    he, ye = med(name, "hd", 1), med(name, "hydro", 1)
    print("| %s | %.0f | %.0f | %.2fx | %.0f | %.0f | %.2fx |" % (name, hs, ys, hs / ys, he, ye, he / ye))
print()
print("Medians of %d rounds; Hydro Deploy hung (killed after %d s) in %d of %d runs, hydro in %d."
      % (runs, LIMIT, hangs["hd"], runs * len(cases), hangs["hydro"]))

# the script's own lines, compared: the services' logs are labelled
# "[service/N] ..." by Hydro Deploy and "name | ..." by hydro, and
# simple_dedalus reads the first ten lines of two streams, whose order
# depends on timing: compared as sets
def script_lines(lines):
    return sorted(set(l for l in lines if not re.match(r"^\[[^]]*\] |^\S+ +\| ", l)))
print()
for name, *_ in cases:
    a, b = last.get((name, "hd")), last.get((name, "hydro"))
    if a is None or b is None:
        continue
    same = script_lines(a) == script_lines(b)
    print("- %s: the script printed %s" % (name, "the same lines under both" if same else
          "different lines:\n  Hydro Deploy: %r\n  hydro: %r" % (script_lines(a), script_lines(b))))
PY
