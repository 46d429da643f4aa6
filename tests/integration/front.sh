# hydro is a front end that links only libc: it answers --help, --version
# and usage errors itself and becomes hydro-python for a Python config, or
# loads hydro-core.so for every other command, with the command line as typed.
. "$TOP/tests/lib.sh"

W=$T_TMP/w
mkdir -p "$W/src"
echo hello >"$W/src/a.txt"
cat >"$W/copy.json" <<'EOF2'
{"version": 1, "targets": [
  {"name": "a", "cmd": ["cp", "src/a.txt", "out.txt"], "inputs": ["src/a.txt"], "outputs": ["out.txt"]}
]}
EOF2
cat >"$W/conf.py" <<'EOF2'
import hydro

async def main(args):
    await hydro.Deployment().deploy()
    print("main", args)
EOF2

t_case "hydro needs no shared library but libc"
command -v readelf >/dev/null 2>&1 || { echo "ok - $T_FILE: $T_NAME # SKIP no readelf"; t_done; }
readelf -d "$HYDRO" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
	grep -v -e '^libc\.so' -e '^libasan' -e '^libubsan' -e '^ld-linux' >"$T_TMP/needed"
[ -s "$T_TMP/needed" ] && t_fail "hydro needs $(tr '\n' ' ' <"$T_TMP/needed")"
t_end

# which of hydro's programs a command ran, and whether it loaded hydro-core.so
execs() {
	# (LeakSanitizer cannot run under ptrace)
	ASAN_OPTIONS=detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS} \
		strace -f -s 4096 -e trace=execve,openat -o "$T_TMP/trace" "$@" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	sed -n 's/.*execve("\([^"]*\)".*= 0$/\1/p' "$T_TMP/trace" | sed 's|.*/||' |
		grep '^hydro' | tr '\n' ' ' >"$T_TMP/ran"
	grep -q 'openat(.*/hydro-core\.so".*= [0-9]' "$T_TMP/trace" && echo "+core" >>"$T_TMP/ran"
}

if ! command -v strace >/dev/null 2>&1 || ! strace -f -o /dev/null true 2>/dev/null; then
	echo "ok - $T_FILE: which binary runs what # SKIP strace cannot run here"
	t_done
fi

t_case "--version and usage errors are answered by hydro alone"
execs "$HYDRO" --version
t_expect_rc 0
t_expect_out "hydro "
[ "$(cat "$T_TMP/ran")" = "hydro " ] || t_fail "ran: $(cat "$T_TMP/ran")"
execs "$HYDRO" run
t_expect_rc 2
t_expect_err "needs a file"
[ "$(cat "$T_TMP/ran")" = "hydro " ] || t_fail "ran: $(cat "$T_TMP/ran")"
t_end

t_case "a JSON config runs in hydro-core.so"
execs "$HYDRO" -C "$W" build copy.json
t_expect_rc 0
[ "$(cat "$W/out.txt")" = hello ] || t_fail "the target did not run"
[ "$(cat "$T_TMP/ran")" = "hydro +core" ] || t_fail "ran: $(cat "$T_TMP/ran")"
t_end

t_case "a Python config goes straight to hydro-python, as typed"
execs "$HYDRO" -C "$W" run conf.py -- x
t_expect_rc 0
t_expect_out "main ['x']"
grep -qF "hydro-python\", [\"$HYDRO\", \"-C\", \"$W\", \"run\", \"conf.py\", \"--\", \"x\"]" "$T_TMP/trace" ||
	t_fail "not handed over as typed: $(grep hydro-python "$T_TMP/trace")"
[ "$(cat "$T_TMP/ran")" = "hydro hydro-python " ] || t_fail "ran: $(cat "$T_TMP/ran")"
t_end

t_case "the build of a Python config goes through hydro-core.so, which reuses its evaluation"
execs env -C "$W" "$HYDRO" build conf.py
t_expect_rc 0
[ "$(cat "$T_TMP/ran")" = "hydro hydro-python +core" ] || t_fail "ran: $(cat "$T_TMP/ran")"
execs env -C "$W" "$HYDRO" build conf.py
t_expect_rc 0
[ "$(cat "$T_TMP/ran")" = "hydro +core" ] || t_fail "ran: $(cat "$T_TMP/ran")"
t_end

t_done
