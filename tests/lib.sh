# tests/lib.sh: helpers for the shell integration tests.
# Source it; then each case is:   t_case "name"; ...checks...; t_end
# A check that fails calls t_fail with what went wrong; the case reports
# "ok - FILE: name" or "not ok - FILE: name" when t_end runs.

: "${HYDRO:?HYDRO must name the hydro binary (run through make check)}"
: "${BUILD:?}"
: "${TOP:?}"
T_FILE=$(basename "$0" .sh)
T_NAME=
T_FAILED=0
T_ANY_FAILED=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/hydro-$T_FILE.XXXXXX")
# what the test's programs make in TMPDIR (socket directories, say) goes
# with the test, even from a program killed before it could clean up
mkdir "$T_TMP/tmp"
TMPDIR=$T_TMP/tmp
export TMPDIR
T_CLEANUP=
trap 't_cleanup' EXIT
trap 'exit 130' INT TERM

t_cleanup() {
	for c in $T_CLEANUP; do "$c" 2>/dev/null; done
	rm -rf "$T_TMP"
}

# register a function to run at exit, even on failure
t_on_exit() { T_CLEANUP="$T_CLEANUP $1"; }

t_case() { T_NAME=$1; T_FAILED=0; }

t_fail() {
	echo "# $T_FILE: $T_NAME: $*"
	T_FAILED=1
}

t_end() {
	if [ "$T_FAILED" -eq 0 ]; then
		echo "ok - $T_FILE: $T_NAME"
	else
		echo "not ok - $T_FILE: $T_NAME"
		T_ANY_FAILED=1
	fi
}

# run a command, keeping its status, stdout and stderr in $rc, $T_TMP/out, $T_TMP/err
t_run() {
	"$@" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
}

t_expect_rc() {
	[ "$rc" -eq "$1" ] || t_fail "exit status $rc, expected $1; stderr: $(head -c 600 "$T_TMP/err")"
}

# the stdout/stderr of the last t_run contains a fixed string
t_expect_out() { grep -qF -- "$1" "$T_TMP/out" || t_fail "stdout lacks '$1': $(head -c 600 "$T_TMP/out")"; }
t_expect_err() { grep -qF -- "$1" "$T_TMP/err" || t_fail "stderr lacks '$1': $(head -c 600 "$T_TMP/err")"; }

t_done() { exit "$T_ANY_FAILED"; }
