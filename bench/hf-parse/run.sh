#!/bin/sh
# bench/hf-parse: `hydro check` on generated programs of 1k, 10k and 100k
# operators.  Each program is groups of five operators that use names before
# they are assigned, tees, joins and a fold, so that name lookup, the checks
# and the strata all do real work.  Cost should grow linearly: the last two
# columns stay flat.
: "${HYDRO:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hydro-bench-hf.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

gen() {
	awk -v n="$1" 'BEGIN {
		print "use std::collections::HashMap;"
		print "module main(input inbound: (u64, u64), output outbound: u64) {"
		print "    inbound -> [0]j0;"
		groups = int(n / 5)
		for (i = 0; i < groups; i++) {
			# j(i) is used (as j(i+1)s input) before it is assigned
			printf "    t%d = j%d -> map(|(k, (a, b))| (k, a + b)) -> tee();\n", i, i
			printf "    j%d = join::<\x27tick, \x27static>();\n", i
			printf "    t%d -> [0]j%d;\n", i, i + 1
			printf "    t%d -> fold::<\x27static>(|| 0, |acc: &mut u64, (_k, v)| *acc += v) -> for_each(|s| println!(\"{}\", s));\n", i
			printf "    source_iter([(%d, %d)]) -> [1]j%d;\n", i, i, i
		}
		printf "    j%d = join() -> map(|(k, _)| k) -> outbound;\n", groups
		printf "    source_iter([(0, 0)]) -> [1]j%d;\n", groups
		print "}"
	}'
}

echo "| operators | file size | check time (s) | peak memory (MB) | µs per operator | KB per operator |"
echo "|---:|---:|---:|---:|---:|---:|"
for n in 1000 10000 100000; do
	f="$tmp/p$n.hf"
	gen "$n" >"$f"
	# the best of three runs
	best=
	for run in 1 2 3; do
		start=$(date +%s%N)
		/usr/bin/time -f '%M' -o "$tmp/time" "$HYDRO" check --color=never "$f" 2>"$tmp/err" >/dev/null ||
			{ echo "hydro check failed on $n operators:"; head -20 "$tmp/err"; exit 1; }
		end=$(date +%s%N)
		t=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
		m=$(cat "$tmp/time")
		if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then
			best=$t
			mem=$m
		fi
	done
	size=$(wc -c <"$f")
	awk -v n="$n" -v t="$best" -v m="$mem" -v s="$size" 'BEGIN {
		printf "| %d | %.1f KB | %.3f | %.1f | %.2f | %.2f |\n", n, s / 1024, t, m / 1024, t * 1e6 / n, m / n
	}'
done
