#!/bin/sh
# bench/hf-build: building the echo example's two .hf programs with `hydro
# build`, beside `cargo build` of the same two programs written by hand
# against hydroflow 0.10 (Hydro Deploy's program side) in one workspace.
#
# The workspace is written here, at bench time, into a temporary directory.
# Both build with the release profile into one target directory (the shared
# build/cargo-target unless HF_BUILD_TARGET names another), so hydroflow and
# its dependencies are compiled once for both.  After an untimed first build
# of each, it times, alternating, RUNS warm builds of each with the server's
# program changed (a different string in its println!), then NOOP no-op
# builds of each (hydro's from the Python config, its last evaluation
# reused and evaluated again, and from the same
# deployment as JSON), and prints the medians; cargo calls made by the no-op
# `hydro build` runs are counted through $CARGO.  HF_BUILD_COLD=1 also times
# one cold build of each, each into a target directory of its own (minutes).
: "${HYDRO:?run through make bench}"
: "${TOP:?run through make bench}"
RUNS=${RUNS:-5}
NOOP=${NOOP:-21}

command -v cargo >/dev/null 2>&1 || { echo "cargo is not installed"; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "python3 is needed to time the runs"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hydro-bench-hf-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
target=${HF_BUILD_TARGET:-$TOP/build/cargo-target}

# hydro's side: a copy of the example, its own cache (the target is shared)
cp -r "$TOP/examples/echo" "$work/echo"
rm -rf "$work/echo/.hydro"

# cargo's side: the same programs by hand, one workspace, hydro's lock as
# its starting resolution so that both build the same versions
h=$work/hand
mkdir -p "$h/echo_server/src" "$h/echo_client/src"
cp -r "$TOP/examples/echo/data_types" "$h/data_types"
cp "$TOP/lang/rust/Cargo.lock" "$h/Cargo.lock"
cat >"$h/Cargo.toml" <<'TOML'
[workspace]
members = ["echo_server", "echo_client"]
resolver = "2"
TOML
for p in echo_server echo_client; do
	cat >"$h/$p/Cargo.toml" <<TOML
[package]
name = "$p"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
hydroflow = { version = "0.10", default-features = false, features = ["macros", "deploy_integration"] }
tokio = { version = "1", features = ["full"] }
tokio-util = { version = "=0.7.11", features = ["codec"] }
serde = { version = "1", features = ["derive"] }
bincode = "1.3"
chrono = { version = "0.4", default-features = false, features = ["serde", "clock", "std"] }
data_types = { path = "../data_types" }
TOML
done
cat >"$h/echo_server/src/main.rs" <<'RS'
// The echo server, as a Hydro Deploy v0.10 user writes it.
use chrono::prelude::*;
use data_types::EchoMsg;
use hydroflow::util::deploy::{ConnectedDirect, ConnectedSink, ConnectedSource};
use hydroflow::util::{deserialize_from_bytes, serialize_to_bytes};

#[hydroflow::main]
async fn main() {
    let ports = hydroflow::util::deploy::init::<()>().await;
    let inbound = ports.port("inbound").connect::<ConnectedDirect>().await.into_source();
    let outbound = ports.port("outbound").connect::<ConnectedDirect>().await.into_sink();
    let flow = hydroflow::hydroflow_syntax! {
        inbound_chan = source_stream(inbound)
            -> map(|b| deserialize_from_bytes::<EchoMsg>(b.unwrap()).unwrap())
            -> tee();
        inbound_chan[0]
            -> for_each(|msg: EchoMsg| println!("{}: Got {:?}", Utc::now(), msg));
        inbound_chan[1]
            -> map(|EchoMsg { payload, .. }| serialize_to_bytes(EchoMsg { payload, ts: Utc::now() }))
            -> dest_sink(outbound);
    };
    hydroflow::util::deploy::launch_flow(flow).await;
}
RS
cat >"$h/echo_client/src/main.rs" <<'RS'
// The echo client, as a Hydro Deploy v0.10 user writes it.
use std::time::Duration;

use chrono::prelude::*;
use data_types::EchoMsg;
use hydroflow::util::deploy::{ConnectedDirect, ConnectedSink, ConnectedSource};
use hydroflow::util::{deserialize_from_bytes, serialize_to_bytes};

#[hydroflow::main]
async fn main() {
    let ports = hydroflow::util::deploy::init::<()>().await;
    let inbound = ports.port("inbound").connect::<ConnectedDirect>().await.into_source();
    let outbound = ports.port("outbound").connect::<ConnectedDirect>().await.into_sink();
    let flow = hydroflow::hydroflow_syntax! {
        source_interval(Duration::from_secs(1))
            -> enumerate::<'static>()
            -> map(|(n, _instant)| serialize_to_bytes(EchoMsg { payload: format!("ping {}", n), ts: Utc::now() }))
            -> dest_sink(outbound);
        source_stream(inbound)
            -> map(|b| deserialize_from_bytes::<EchoMsg>(b.unwrap()).unwrap())
            -> for_each(|msg: EchoMsg| println!("{}: Got {:?}", Utc::now(), msg));
    };
    hydroflow::util::deploy::launch_flow(flow).await;
}
RS

# hydro calls cargo through this, which counts the calls
real_cargo=$(command -v cargo)
cat >"$work/cargo" <<SH
#!/bin/sh
echo "\$*" >>"$work/cargo-calls"
exec "$real_cargo" "\$@"
SH
chmod +x "$work/cargo"
: >"$work/cargo-calls"

python3 - "$HYDRO" "$work" "$target" "$RUNS" "$NOOP" "${HF_BUILD_COLD:-}" <<'PY' || exit 1
import json, os, statistics, subprocess, sys, time
hydro, work, target, runs, noop, cold = sys.argv[1:7]
runs, noop = int(runs), int(noop)
hand = os.path.join(work, "hand")
hf = os.path.join(work, "echo", "src", "echo_server.hf")
rs = os.path.join(hand, "echo_server", "src", "main.rs")
calls = os.path.join(work, "cargo-calls")
pristine = {p: open(p).read() for p in (hf, rs)}

def env(td):
    e = dict(os.environ, CARGO=os.path.join(work, "cargo"), CARGO_TARGET_DIR=td,
             HYDRO_CACHE_DIR=os.path.join(work, "cache"))
    return e

def hydro_build(td):
    return ([hydro, "-q", "--color=never", "build", "echo.hydro.py"], os.path.join(work, "echo"), env(td))

def cargo_build(td):
    return (["cargo", "build", "--release", "-q"], hand, dict(os.environ, CARGO_TARGET_DIR=td))

def timed(job):
    argv, cwd, e = job
    t = time.perf_counter()
    r = subprocess.run(argv, cwd=cwd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed: {r.stderr.decode()[-2000:]}")
    return dt

def change(i):
    # the same edit on both sides: the server prints another word
    for p in (hf, rs):
        s = pristine[p].replace(": Got {:?}", f": Got#{i} {{:?}}", 1)
        assert s != pristine[p], p
        open(p, "w").write(s)

rows = []
if cold:
    c = {}
    for k, job in (("hydro", hydro_build(os.path.join(work, "cold-hydro"))),
                   ("cargo", cargo_build(os.path.join(work, "cold-cargo")))):
        c[k] = timed(job)
    rows.append(("cold (own empty target dir)", c["hydro"], c["cargo"], "s"))

# settle: both built once, the programs as they are
timed(hydro_build(target)); timed(cargo_build(target))
time.sleep(1.1)   # past the racy second of the files just written
timed(hydro_build(target)); timed(cargo_build(target))

w = {"hydro": [], "cargo": []}
for i in range(runs):
    change(i)
    w["hydro"].append(timed(hydro_build(target)))
    w["cargo"].append(timed(cargo_build(target)))
rows.append(("warm, echo_server changed", statistics.median(w["hydro"]),
             statistics.median(w["cargo"]), "s"))

# the same deployment as JSON, as `hydro plan --json` gives it: the no-op
# without the Python interpreter that reads the config
r = subprocess.run([hydro, "plan", "--json", "echo.hydro.py"], cwd=os.path.join(work, "echo"),
                   env=env(target), stdout=subprocess.PIPE, check=True)
with open(os.path.join(work, "echo", "echo.json"), "w") as f:
    json.dump(json.loads(r.stdout)["deployment"], f)
def hydro_json(td):
    return ([hydro, "-q", "--color=never", "build", "echo.json"], os.path.join(work, "echo"), env(td))

def hydro_evaluated(td):
    # the script evaluated every time, as when something it read changed
    argv, cwd, e = hydro_build(td)
    return (argv, cwd, dict(e, HYDRO_NO_EVAL_CACHE="1"))

timed(hydro_build(target)); timed(cargo_build(target)); timed(hydro_json(target))
open(calls, "w").close()
n = {"hydro": [], "cargo": [], "json": [], "eval": []}
for _ in range(noop):
    n["hydro"].append(timed(hydro_build(target)))
    n["json"].append(timed(hydro_json(target)))
    n["eval"].append(timed(hydro_evaluated(target)))
    n["cargo"].append(timed(cargo_build(target)))
ncalls = sum(1 for _ in open(calls))
rows.append(("no-op (echo.hydro.py, its last evaluation reused)",
             statistics.median(n["hydro"]) * 1000, statistics.median(n["cargo"]) * 1000, "ms"))
rows.append(("no-op (echo.hydro.py evaluated, HYDRO_NO_EVAL_CACHE=1)",
             statistics.median(n["eval"]) * 1000, statistics.median(n["cargo"]) * 1000, "ms"))
rows.append(("no-op (the same deployment as JSON)", statistics.median(n["json"]) * 1000,
             statistics.median(n["cargo"]) * 1000, "ms"))

print("| echo example, 2 programs | hydro build | cargo build (by hand, one workspace) | hydro / cargo |")
print("|---|---:|---:|---:|")
for name, a, b, unit in rows:
    print(f"| {name} | {a:.2f} {unit} | {b:.2f} {unit} | {a / b:.2f}x |")
print()
print(f"warm: medians of {runs}, each side's range {min(w['hydro']):.2f}-{max(w['hydro']):.2f} s "
      f"and {min(w['cargo']):.2f}-{max(w['cargo']):.2f} s; no-op: medians of {noop}, ranges "
      f"{min(n['hydro']) * 1000:.1f}-{max(n['hydro']) * 1000:.1f} ms (evaluated "
      f"{min(n['eval']) * 1000:.1f}-{max(n['eval']) * 1000:.1f} ms, JSON "
      f"{min(n['json']) * 1000:.1f}-{max(n['json']) * 1000:.1f} ms) and "
      f"{min(n['cargo']) * 1000:.1f}-{max(n['cargo']) * 1000:.1f} ms; "
      f"cargo calls in hydro's no-op runs: {ncalls}")
PY
