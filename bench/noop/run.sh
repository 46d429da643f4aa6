#!/bin/sh
# bench/noop: a no-op `hydro build` beside a no-op `ninja` on the same graph.
#
# For 200 and 2000 targets, each copying one source file, it writes a
# deployment JSON and the equivalent build.ninja, builds both once, waits out
# the racy second (files written less than a second before they were hashed
# are hashed again once, as git does), runs each once more to settle, then
# times RUNS no-op runs of each, alternating, and prints the medians.
: "${HYDRO:?run through make bench}"
RUNS=${RUNS:-21}
SIZES=${SIZES:-200 2000}

command -v ninja >/dev/null 2>&1 || { echo "ninja is not installed (apt-get install ninja-build)"; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "python3 is needed to time the runs"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hydro-bench-noop.XXXXXX")
trap 'rm -rf "$work"' EXIT

setup() {
	n=$1 d=$work/$1
	mkdir -p "$d/src" "$d/out"
	i=0
	{
		printf '{"version": 1, "targets": [\n'
		while [ $i -lt "$n" ]; do
			[ $i -gt 0 ] && printf ',\n'
			printf '{"name": "f%d", "cmd": ["cp", "src/f%d.c", "out/f%d.c"], "inputs": ["src/f%d.c"], "outputs": ["out/f%d.c"]}' $i $i $i $i $i
			i=$((i + 1))
		done
		printf '\n]}\n'
	} >"$d/deploy.json"
	{
		printf 'rule cp\n  command = cp $in $out\n\n'
		i=0
		while [ $i -lt "$n" ]; do
			printf 'build out/f%d.c: cp src/f%d.c\n' $i $i
			i=$((i + 1))
		done
	} >"$d/build.ninja"
	i=0
	while [ $i -lt "$n" ]; do
		printf 'int f%d(void) { return %d; }\n' $i $i >"$d/src/f$i.c"
		i=$((i + 1))
	done
}

echo "| targets | hydro build (ms) | ninja (ms) | hydro / ninja |"
echo "|---:|---:|---:|---:|"
for n in $SIZES; do
	setup "$n"
	d=$work/$n
	(cd "$d" && "$HYDRO" -q build deploy.json && ninja -C "$d" >/dev/null) || exit 1
	sleep 1.1
	(cd "$d" && "$HYDRO" -q build deploy.json && ninja -C "$d" >/dev/null) || exit 1
	python3 - "$HYDRO" "$d" "$RUNS" "$n" <<'PY' || exit 1
import statistics, subprocess, sys, time
hydro, d, runs, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
cmds = {
    "hydro": [hydro, "-q", "build", "deploy.json"],
    "ninja": ["ninja", "-C", d],
}
times = {k: [] for k in cmds}
for _ in range(runs):
    for k, argv in cmds.items():
        t = time.perf_counter()
        r = subprocess.run(argv, cwd=d, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        times[k].append(time.perf_counter() - t)
        if r.returncode != 0:
            sys.exit(f"{k} failed: {r.stderr.decode()}")
        if k == "ninja" and b"no work to do" not in r.stdout:
            sys.exit("ninja did work on a no-op run")
h = statistics.median(times["hydro"]) * 1000
j = statistics.median(times["ninja"]) * 1000
print(f"| {n} | {h:.2f} | {j:.2f} | {h / j:.2f}x |")
PY
	# the no-op must really be one: nothing ran
	(cd "$d" && "$HYDRO" build deploy.json 2>&1 | grep -q "nothing to do") ||
		{ echo "hydro did work on a no-op run"; exit 1; }
done
