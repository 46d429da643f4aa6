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
#   sink.hydro.py       the script as a participant: MESSAGES (10 000)
#                       messages sent through a CustomService port's
#                       into_sink() into hydroflow 0.5.0's relay05, which
#                       sends each back to the script's into_source()
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
MESSAGES=${MESSAGES:-10000}
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
cp "$TOP/bench/hd-peer/n_crates.hydro.py" "$TOP/bench/hd-peer/sink.hydro.py" "$work/"

python3 - "$HYDRO" "$VENV/bin/hydro" "$work" "$CRATE" "$TARGET" "$PYLIB" "$RUNS" "$MESSAGES" $NS <<'PY'
import os, re, signal, statistics, subprocess, sys, threading, time

hydro, hd, work, crate, target, pylib, runs, messages = sys.argv[1:9]
runs = int(runs)
ns = [int(n) for n in sys.argv[9:]]
LIMIT = 60


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


load_before = loadavg()


def sigint_default():
    """Ctrl-C as in a terminal: a shell without job control starts its
    background commands with SIGINT ignored, and Python keeps it so"""
    signal.signal(signal.SIGINT, signal.SIG_DFL)

def env_for(tool):
    e = dict(os.environ, CARGO_TARGET_DIR=target, PYTHONUNBUFFERED="1")
    e.pop("PYTHONPATH", None)
    if tool == "hydro":
        e["PYTHONPATH"] = pylib
    return e

def once(tool, config, args, cwd, started):
    """(ms until the line `started`, ms until the command exited, stdout
    lines), or None if it hung (killed after LIMIT s).  The lines are read
    by a thread: a child left behind may hold the pipe past the exit"""
    cmd = ([hd, "deploy"] if tool == "hd" else [hydro, "--color=never", "run"]) + [config, "--"] + args
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, cwd=cwd, env=env_for(tool), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         start_new_session=True, preexec_fn=sigint_default)
    seen = {"started": None, "lines": []}
    def read():
        for raw in p.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            seen["lines"].append(line)
            if seen["started"] is None and line == started:
                seen["started"] = (time.monotonic() - t0) * 1e3
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # a blocking wait sees the exit at once (wait(timeout=) polls, up to
    # 50 ms late); a timer kills a run that hangs
    hung = threading.Event()
    def kill():
        hung.set()
        os.killpg(p.pid, signal.SIGKILL)
    timer = threading.Timer(LIMIT, kill)
    timer.start()
    p.wait()
    t_end = (time.monotonic() - t0) * 1e3
    timer.cancel()
    if hung.is_set():
        return None
    reader.join(timeout=5)
    try:
        os.killpg(p.pid, signal.SIGKILL)	# whatever it left in its group
    except ProcessLookupError:
        pass
    lines = list(seen["lines"])
    if p.returncode != 0 or seen["started"] is None:
        sys.exit("%s exited with %d (started seen: %s): %s" % (" ".join(cmd), p.returncode,
                 seen["started"] is not None, "\n".join(lines[-5:])))
    return seen["started"], t_end, lines

cases = [("%d service%s of one crate" % (n, "" if n == 1 else "s"), "n_crates.hydro.py", [str(n), crate], work, "started")
         for n in ns]
cases.append(("simple_dedalus (Hydro Deploy 0.5's example)", "simple_dedalus.hydro.py",
              ["local", "local"], crate, "started!"))

# once each, untimed: builds, caches, the interpreters' files in the page
# cache (a run that hangs is tried again, twice)
for name, config, args, cwd, started in cases:
    for tool in ("hd", "hydro"):
        if all(once(tool, config, args, cwd, started) is None for _ in range(3)):
            sys.exit("%s hung three times on %s" % (tool, name))

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

# the script as a participant: what sink.hydro.py measured itself (its
# RESULT line), alternating as above
sink = {}
for r in range(runs):
    for tool in (("hd", "hydro") if r % 2 == 0 else ("hydro", "hd")):
        got = once(tool, "sink.hydro.py", [str(messages), crate], work, "started")
        if got is None:
            hangs[tool] += 1
            continue
        for line in got[2]:
            if line.startswith("RESULT "):
                sink.setdefault(tool, []).append([float(x) * 1e3 for x in line.split()[2:4]])

def smed(tool, i):
    v = [x[i] for x in sink.get(tool, [])]
    return statistics.median(v) if v else float("nan")

print()
print("| %d messages through into_sink() and back | Hydro Deploy 0.5 (ms) | hydro (ms) | faster |" % int(messages))
print("|---|---:|---:|---:|")
for i, what in enumerate(("all sent (every send() returned)", "all back through into_source()")):
    print("| %s | %.1f | %.1f | %.1fx |" % (what, smed("hd", i), smed("hydro", i), smed("hd", i) / smed("hydro", i)))
print()
print("Load average (1, 5, 15 min) before: %s; after: %s." % (load_before, loadavg()))

# What each printed, compared: the script's own lines and the services'
# logs, whose labels differ ("[service/N] " or "[display_id] " in Hydro
# Deploy, "name | " in hydro) and are taken off; ports and the paths of
# Unix sockets differ from run to run.  simple_dedalus reads the first ten
# lines of two streams, whose order depends on timing: every output is
# compared as a set of lines.  The two configs with the script as a participant never end
# (a busy loop; a source read forever): they are interrupted (SIGINT, as
# Ctrl-C) once they have printed enough.
def norm(lines):
    out = set()
    for l in lines:
        l = re.sub(r"^\[[^]]*\] |^\S+ +\| ", "", l)
        l = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", l)
        l = re.sub(r"'UnixSocket': '[^']*'", "'UnixSocket': 'PATH'", l)
        out.add(l)
    return sorted(out)

def until(tool, config, args, cwd, want):
    """the lines printed until `want` of them were, then interrupted (the
    whole group, as Ctrl-C); None if it did not end within 30 s of that"""
    cmd = ([hd, "deploy"] if tool == "hd" else [hydro, "--color=never", "run"]) + [config, "--"] + args
    p = subprocess.Popen(cmd, cwd=cwd, env=env_for(tool), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         start_new_session=True, preexec_fn=sigint_default)
    lines, enough = [], threading.Event()
    def read():
        for raw in p.stdout:
            lines.append(raw.decode(errors="replace").rstrip("\n"))
            if len(lines) >= want:
                enough.set()
        enough.set()
    threading.Thread(target=read, daemon=True).start()
    enough.wait(timeout=LIMIT)
    got = list(lines[:want])
    try:
        os.killpg(p.pid, signal.SIGINT)
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        return None
    except ProcessLookupError:
        pass
    return got

print()
print("| config | what both printed (labels, ports taken off) | the same |")
print("|---|---|---|")
checks = [("simple_dedalus", None),
          ("hydro_python_sender", ("hydro_python_sender.hydro.py", ["local"], 4)),
          ("dedalus_python_receiver", ("dedalus_python_receiver.hydro.py", ["local"], 9))]
for name, how in checks:
    if how is None:
        a = last.get((cases[-1][0], "hd"))
        b = last.get((cases[-1][0], "hydro"))
    else:
        a = until("hd", how[0], how[1], crate, how[2])
        b = until("hydro", how[0], how[1], crate, how[2])
    if a is None or b is None:
        print("| %s | %s did not end when interrupted | - |" % (name, "Hydro Deploy" if a is None else "hydro"))
        continue
    na, nb = norm(a), norm(b)
    shown = "<br>".join(x.replace("|", "\\|").replace("\0", "\\0").replace("\t", "\\t") for x in na)
    print("| %s | %s | %s |" % (name, shown, "yes" if na == nb else
          "no: hydro printed %r" % (nb,)))
PY
