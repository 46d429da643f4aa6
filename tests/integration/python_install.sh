# The hydro package under the system python3 after make install: scripts
# that end with hydro.run(main) run with plain python3 as with hydro run.
. "$TOP/tests/lib.sh"
. "$TOP/tests/python/lib.sh"

W=$T_TMP/echo
py_echo_dir "$W"
kill_left() { for p in $(py_running "$W/standin.py"); do kill -9 "$p"; done; }
t_on_exit kill_left

# the seed's script, made runnable with plain python3
{ cat "$W/echo.hydro.py"; printf '\nimport hydro\nif __name__ == "__main__":\n    hydro.run(main)\n'; } \
	>"$W/standalone.py"
cat >"$W/params.py" <<'EOF2'
import hydro

async def main(args):
    print("main", hydro.param("n", 1) + 1, args)

if __name__ == "__main__":
    hydro.run(main)
EOF2

t_case "hydro run runs a script that ends in hydro.run(main) once"
t_run "$HYDRO" -C "$W" run -D n=41 params.py -- a
t_expect_rc 0
[ "$(grep -c '^main 42 \[.a.\]$' "$T_TMP/out")" -eq 1 ] || t_fail "main did not run once: $(cat "$T_TMP/out")"
t_end

case $BUILD in
*/san)
	# an ASan-built _hydro.so cannot be loaded by the system python3
	echo "ok - $T_FILE: python3 after make install # SKIP under SANITIZE=1"
	t_done ;;
esac

t_case "make install puts the package and _hydro.so where python3 finds them"
make -s -C "$TOP" install DESTDIR="$T_TMP/root" PREFIX=/usr/local HYDRO="$HYDRO" \
	>"$T_TMP/out" 2>"$T_TMP/err" || t_fail "make install failed: $(tail -5 "$T_TMP/err")"
SITE=$(ls -d "$T_TMP"/root/usr/local/lib/python3*/*-packages 2>/dev/null | head -1)
for f in __init__.py _runner.py gcp.py ssh.py _hydro.pyi py.typed _hydro.so; do
	[ -f "$SITE/hydro/$f" ] || t_fail "not installed: hydro/$f"
done
t_end

t_case "the installed hydro runs Python configs with libexec/hydro/hydro-python"
ROOT=$T_TMP/root/usr/local
[ -x "$ROOT/libexec/hydro/hydro-python" ] || t_fail "not installed: libexec/hydro/hydro-python"
t_run "$ROOT/bin/hydro" -C "$W" run -D n=41 params.py -- b
t_expect_rc 0
[ "$(grep -c '^main 42 \[.b.\]$' "$T_TMP/out")" -eq 1 ] || t_fail "main did not run once: $(cat "$T_TMP/out")"
t_end

t_case "the installed hydro runs the other commands with libexec/hydro/hydro-core.so"
[ -f "$ROOT/libexec/hydro/hydro-core.so" ] || t_fail "not installed: libexec/hydro/hydro-core.so"
printf '{"version": 1, "targets": [{"name": "t", "cmd": ["touch", "made"], "outputs": ["made"]}]}\n' \
	>"$W/touch.json"
t_run "$ROOT/bin/hydro" -C "$W" build touch.json
t_expect_rc 0
[ -f "$W/made" ] || t_fail "the target did not run: $(cat "$T_TMP/err")"
t_end

mkdir -p "$T_TMP/lone"
cp "$ROOT/bin/hydro" "$T_TMP/lone/hydro"
if [ -e /usr/local/libexec/hydro/hydro-python ] || [ -e /usr/local/libexec/hydro/hydro-core.so ]; then
	echo "ok - $T_FILE: a missing helper # SKIP hydro is installed in /usr/local"
else
	t_case "without its helpers, hydro says what is missing; --version still runs"
	t_run "$T_TMP/lone/hydro" -C "$W" run params.py
	t_expect_rc 1
	t_expect_err "cannot run a Python config: hydro-python is not installed"
	t_run "$T_TMP/lone/hydro" -C "$W" build touch.json
	t_expect_rc 1
	t_expect_err "cannot run 'hydro build': hydro-core.so is not installed"
	t_run "$T_TMP/lone/hydro" --version
	t_expect_rc 0
	t_end
fi

t_case "python3 reads -D, -- and warns about unused parameters"
t_run env PYTHONPATH="$SITE" "$PY" "$W/params.py" -D n=1 -D other=2 -- x y
t_expect_rc 0
t_expect_out "main 2 ['x', 'y']"
t_expect_err "parameter 'other' was given with -D but the config never reads it"
t_run env PYTHONPATH="$SITE" "$PY" "$W/params.py" -D n=one
t_expect_rc 1
t_expect_err "parameter 'n' is 'one', which does not read as int"
t_end

t_case "python3 runs the seed's echo script through hydro.run(main)"
t_run timeout 60 env PYTHONPATH="$SITE" "$PY" "$W/standalone.py"
t_expect_rc 0
[ "$(grep -c '^echo: ping' "$T_TMP/out")" -ge 10 ] ||
	t_fail "fewer than ten echoes: $(head -c 600 "$T_TMP/out") $(head -c 600 "$T_TMP/err")"
[ -z "$(py_running "$W/standin.py")" ] || t_fail "stand-ins still running"
t_end

t_done
