#!/bin/sh
# tests/run.sh: run the unit tests (build/.../tests/unit/test_*) and the
# integration tests (tests/integration/*.sh), count their TAP lines and end
# with "N passed, N failed".  Arguments filter by name: sh tests/run.sh buf
#
# Every test prints "ok - NAME" or "not ok - NAME" per case; a test program
# that exits non-zero without reporting a failure counts as one failure.  A
# case skipped prints "ok - NAME # SKIP why", and the why is shown.

: "${HYDRO:=$(pwd)/hydro}"
: "${BUILD:=$(pwd)/build/obj}"
export HYDRO BUILD
TOP=$(pwd)
export TOP
log=$(mktemp -d "${TMPDIR:-/tmp}/hydro-tests.XXXXXX")
trap 'rm -rf "$log"' EXIT
passed=0 failed=0 failures=

selected() {
	[ $# -eq 0 ] && return 0
	for f; do
		case $name in *"$f"*) return 0 ;; esac
	done
	return 1
}

run_one() {
	name=$1; shift
	out="$log/out"
	"$@" >"$out" 2>"$log/err"
	rc=$?
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name: exited with status $rc" >>"$out"
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name: reported no test" >>"$out"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		grep '^not ok ' "$out"
		echo "--- $name: output" ; sed 's/^/    /' "$out" "$log/err" | tail -40
		failures="$failures $name"
	else
		printf 'ok   %s (%s)\n' "$name" "$p"
		# a case skipped says why, here too
		grep '^ok .* # SKIP' "$out" | sed 's/^ok - /     /'
	fi
}

for t in "$BUILD"/tests/unit/test_*; do
	[ -x "$t" ] || continue
	# only tests of this tree: a binary left by another checkout is not run
	[ -f "$TOP/tests/unit/$(basename "$t").c" ] || continue
	name=unit/$(basename "$t")
	selected "$@" || continue
	run_one "$name" "$t"
done

for t in "$TOP"/tests/integration/*.sh; do
	[ -f "$t" ] || continue
	name=integration/$(basename "$t" .sh)
	selected "$@" || continue
	run_one "$name" sh "$t"
done

[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
