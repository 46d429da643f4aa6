# A .hf program's diagnostics name the file as the user wrote it, whether
# hydro check reads it or a config that uses it: relative to where hydro ran.
. "$TOP/tests/lib.sh"
. "$TOP/tests/python/lib.sh"

W=$T_TMP/proj
mkdir -p "$W/src"
printf 'module main() {\n    source_iter(0..3 -> for_each(drop);\n}\n' >"$W/src/bad.hf"
cat >"$W/bad.hydro.py" <<'PY'
import hydro
d = hydro.Deployment()
h = d.Localhost()
s = d.Hydroflow(src="src/bad.hf", on=h, standin=["true"])
d.deploy()
PY

t_case "check names the file as given"
t_run sh -c "cd '$T_TMP' && '$HYDRO' check --color=never proj/src/bad.hf"
t_expect_rc 1
t_expect_err " --> proj/src/bad.hf:3:1"
t_expect_err " --> proj/src/bad.hf:2:16"
t_end

t_case "run of a config names it relative to where hydro ran"
t_run sh -c "cd '$T_TMP' && '$HYDRO' run proj/bad.hydro.py"
t_expect_rc 1
t_expect_err " --> proj/src/bad.hf:3:1"
t_expect_err " --> proj/src/bad.hf:2:16"
t_expect_err "'proj/src/bad.hf' does not check"
grep -qF -- "$T_TMP/proj" "$T_TMP/err" && t_fail "an absolute path: $(cat "$T_TMP/err")"
t_end

t_case "run -C names it relative to the directory it changed to"
t_run "$HYDRO" -C "$W" run bad.hydro.py
t_expect_rc 1
t_expect_err " --> src/bad.hf:3:1"
t_end

t_done
