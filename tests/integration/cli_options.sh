# Edge cases of the command line and of the files it is given.
. "$TOP/tests/lib.sh"
. "$TOP/tests/python/lib.sh"

lines() { [ "$(wc -l <"$T_TMP/err")" -eq "$1" ] || t_fail "expected $1 line(s) on stderr: $(cat "$T_TMP/err")"; }

t_case "an option without its value says so"
t_run "$HYDRO" check -j
t_expect_rc 2
t_expect_err "option '-j' needs a value"
t_run "$HYDRO" check --jobs
t_expect_rc 2
t_expect_err "option '--jobs' needs a value"
t_run "$HYDRO" check a.hf -C
t_expect_rc 2
t_expect_err "option '-C' needs a value"
t_end

t_case "an unknown short option in a cluster is named alone"
t_run "$HYDRO" -vx check a.hf
t_expect_rc 2
t_expect_err "unknown option '-x'"
t_end

t_case "a command's option before the command is named, not its value"
t_run "$HYDRO" --format dot graph a.hf
t_expect_rc 2
t_expect_err "option '--format' is not known to hydro without a command"
t_run "$HYDRO" -D n=1 plan a.json
t_expect_rc 2
t_expect_err "option '-D' is not known to hydro without a command"
t_end

t_case "a parameter given twice is the last one, and is read"
cat >"$T_TMP/p.hydro.py" <<'PY'
import hydro
async def main():
    print("n =", hydro.param("n", 1))
    await hydro.Deployment().deploy()
PY
t_run "$HYDRO" plan -D n=2 -D n=3 "$T_TMP/p.hydro.py"
t_expect_rc 0
t_expect_out "n = 3"
grep -q "never reads" "$T_TMP/err" && t_fail "warned about a parameter it read: $(cat "$T_TMP/err")"
t_end

t_case "graph of a .hf that cannot be read says it once"
mkdir "$T_TMP/dir.hf"
t_run "$HYDRO" graph "$T_TMP/dir.hf"
t_expect_rc 1
t_expect_err "cannot read '$T_TMP/dir.hf'"
lines 1
t_end

case $BUILD in
*/san)
	# an ASan-built _hydro.so cannot be loaded by the system python3
	echo "ok - $T_FILE: -D under plain python3 # SKIP under SANITIZE=1"
	t_done ;;
esac

t_case "plain python3 checks -D as hydro does, and the last value counts"
mkdir -p "$T_TMP/site/hydro"
cp "$TOP"/lang/python/hydro/*.py "$T_TMP/site/hydro/"
cp "$BUILD/lang/python/_hydro.so" "$T_TMP/site/hydro/"
cat >"$T_TMP/s.py" <<'PY'
import hydro
async def main(args):
    print("n =", hydro.param("n", 1))
if __name__ == "__main__":
    hydro.run(main)
PY
t_run env PYTHONPATH="$T_TMP/site" "$PY" "$T_TMP/s.py" -D n=2 -D n=3
t_expect_rc 0
t_expect_out "n = 3"
grep -q "never reads" "$T_TMP/err" && t_fail "warned about a parameter it read: $(cat "$T_TMP/err")"
t_run env PYTHONPATH="$T_TMP/site" "$PY" "$T_TMP/s.py" -D 1n=2
t_expect_rc 2
t_expect_err "bad parameter name in '1n=2'"
t_end

t_done
