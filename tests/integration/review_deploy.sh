# The deployment's JSON form: values of unexpected types and sizes.
. "$TOP/tests/lib.sh"

t_case "a numeric host setting keeps every digit"
cat >"$T_TMP/s.json" <<'JSON'
{"version": 1, "hosts": [{"name": "box", "settings": {"disk": 1000000, "ratio": 0.1, "big": 12345678901}}]}
JSON
t_run "$HYDRO" plan --json "$T_TMP/s.json"
t_expect_rc 0
t_expect_out '"disk":	"1000000"'
t_expect_out '"ratio":	"0.1"'
t_expect_out '"big":	"12345678901"'
t_end

t_done
