# The deployment model's JSON form, through the real binary.
. "$TOP/tests/lib.sh"

t_case "graph of a JSON deployment, mermaid and dot"
t_run "$HYDRO" graph "$TOP/tests/data/ring3.json"
t_expect_rc 0
t_expect_out "flowchart LR"
t_expect_out 'subgraph h0["box (local)"]'
t_expect_out 's2 -->|"out → in"| s0'
t_run "$HYDRO" graph --format=dot "$TOP/tests/data/ring3.json"
t_expect_rc 0
t_expect_out "digraph deployment {"
t_expect_out "s0 -> s1"
t_end

t_case "a malformed file names its line and column"
printf '{\n  "version": 1,\n  "hosts": [,]\n}\n' >"$T_TMP/bad.json"
t_run "$HYDRO" graph "$T_TMP/bad.json"
t_expect_rc 1
t_expect_err "bad.json:3:"
t_end

t_case "a connection between two inputs names both ends"
sed 's/"from": "c.out", "to": "a.in"/"from": "c.in", "to": "a.in"/' \
	"$TOP/tests/data/ring3.json" >"$T_TMP/two-inputs.json"
t_run "$HYDRO" graph "$T_TMP/two-inputs.json"
t_expect_rc 1
t_expect_err "cannot connect 'c.in' to 'a.in': both are inputs"
t_end

t_case "an unknown port suggests the right one"
sed 's/"to": "b.in"/"to": "b.inn"/' "$TOP/tests/data/ring3.json" >"$T_TMP/typo.json"
t_run "$HYDRO" graph "$T_TMP/typo.json"
t_expect_rc 1
t_expect_err "service 'b' has no port 'inn'; did you mean 'in'?"
t_end

t_case "a missing file"
t_run "$HYDRO" graph "$T_TMP/nope.json"
t_expect_rc 1
t_expect_err "cannot open '$T_TMP/nope.json'"
t_end

t_done
