#!/bin/sh
# bench/package: packaging and unpacking a 20 MB artifact (a program and two
# small files it declares) with hydro's packages (src/archive.c: tar, zstd
# or gzip, sha256 of every file and of the package) beside GNU tar on the
# same files: `tar -czf`/`tar -xzf`, and `tar --zstd` where zstd is
# installed.  The artifact is made of this machine's shared libraries, so
# it compresses as programs do.  Each round runs every row once, in turn;
# times are medians of RUNS rounds, and each ratio is the median of the
# round-by-round ratios (a shared machine's speed drifts between rounds).
# Beside the wall-clock times, the CPU time (user + system) of all the
# processes each side ran: tar's includes its zstd or gzip child.
: "${BUILD:?run through make bench}"
: "${TOP:?}"
RUNS=${RUNS:-11}
SIZE_MB=${SIZE_MB:-20}
CC=${CC:-cc}

work=$(mktemp -d "${TMPDIR:-/tmp}/hydro-bench-package.XXXXXX")
trap 'rm -rf "$work"' EXIT

# shellcheck disable=SC2046
$CC -O2 -iquote "$TOP/src" -iquote "$TOP/src/util" -o "$work/pkg" \
	"$TOP/bench/package/pkg.c" "$BUILD/libhydro.a" \
	$(pkg-config --libs libarchive libcjson openssl) -pthread -lm ||
	{ echo "cannot build the benchmark's program"; exit 1; }

mkdir -p "$work/art/bin" "$work/art/etc"
cat /usr/lib/x86_64-linux-gnu/*.so* 2>/dev/null | head -c $((SIZE_MB * 1024 * 1024)) >"$work/art/bin/server"
chmod 755 "$work/art/bin/server"
printf 'port = 4000\n' >"$work/art/etc/server.toml"
head -c 65536 /usr/share/common-licenses/GPL-3 >"$work/art/etc/LICENSE"

zstd=no
command -v zstd >/dev/null 2>&1 && zstd=yes
python3 - "$work" "$RUNS" "$zstd" <<'PY' || exit 1
import os, resource, shutil, statistics, subprocess, sys, time
work, runs, zstd = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "yes"
art = os.path.join(work, "art")
files = ["bin/server", "etc/LICENSE", "etc/server.toml"]
pkg = os.path.join(work, "pkg")

def run(argv, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if r.returncode != 0:
        sys.exit(f"{argv[0]} failed: {r.stderr.decode()}")
    return r.stdout.decode().strip()

def hydro_pack():
    shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
    return run([pkg, "pack", os.path.join(work, "out")] +
               [f"{f}={os.path.join(art, f)}" for f in files])

def tar_pack(flag, out):
    run(["tar", flag, "-cf", out, "-C", art] + files)
    return out

def unpack_hydro(p, dest): run([pkg, "unpack", p, dest])
def unpack_tar(flag):
    def f(p, dest):
        os.mkdir(dest)
        run(["tar", flag, "-xf", p, "-C", dest])
    return f
variants = [("hydro", hydro_pack, unpack_hydro),
            ("tar -z", lambda: tar_pack("-z", os.path.join(work, "t.tar.gz")), unpack_tar("-z"))]
if zstd:
    variants.append(("tar --zstd", lambda: tar_pack("--zstd", os.path.join(work, "t.tar.zst")),
                     unpack_tar("--zstd")))
times = {(v[0], w): [] for v in variants for w in ("pack", "unpack")}
cpus = {k: [] for k in times}
def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
sizes = {}
for _ in range(runs):
    for name, pack, unpack in variants:
        t, c = time.perf_counter(), cpu()
        p = pack()
        times[(name, "pack")].append(time.perf_counter() - t)
        cpus[(name, "pack")].append(cpu() - c)
        sizes[name] = os.path.getsize(p)
        dest = os.path.join(work, "x")
        shutil.rmtree(dest, ignore_errors=True)
        t, c = time.perf_counter(), cpu()
        unpack(p, dest)
        times[(name, "unpack")].append(time.perf_counter() - t)
        cpus[(name, "unpack")].append(cpu() - c)
        if os.path.getsize(os.path.join(dest, "bin/server")) != os.path.getsize(os.path.join(art, "bin/server")):
            sys.exit(f"{name} unpacked the wrong size")
        shutil.rmtree(dest)
med = {k: statistics.median(v) * 1000 for k, v in times.items()}
mcpu = {k: statistics.median(v) * 1000 for k, v in cpus.items()}
def ratio(name, what):
    return statistics.median(h / t for h, t in zip(times[("hydro", what)], times[(name, what)]))
print("| | package (MB) | pack (ms) | pack CPU (ms) | unpack (ms) | unpack CPU (ms) | hydro / this, pack | hydro / this, unpack |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for name, _, _ in variants:
    print(f"| {name} | {sizes[name] / 1e6:.1f} | {med[(name, 'pack')]:.0f} | {mcpu[(name, 'pack')]:.0f} | "
          f"{med[(name, 'unpack')]:.0f} | {mcpu[(name, 'unpack')]:.0f} | "
          f"{ratio(name, 'pack'):.2f}x | {ratio(name, 'unpack'):.2f}x |")
PY
