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

t_case "a flag that is not true or false is an error naming it"
cat >"$T_TMP/b.json" <<'JSON'
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "p", "kind": "process", "on": "box", "cmd": ["cat"], "can_die": "yes",
               "ports": [{"name": "out", "dir": "output"}]},
              {"name": "q", "kind": "process", "on": "box", "cmd": ["cat"],
               "ports": [{"name": "in", "dir": "input"}]}],
 "connections": [{"from": "p.out", "to": "q.in", "merge": 1}]}
JSON
t_run "$HYDRO" plan "$T_TMP/b.json"
t_expect_rc 1
t_expect_err "b.json: services[0]: 'can_die' must be true or false"
t_expect_err "b.json: connections[0]: 'merge' must be true or false"
t_end

t_case "a version that is not a whole number says what to write"
printf '{"version": "1"}\n' >"$T_TMP/v.json"
t_run "$HYDRO" plan "$T_TMP/v.json"
t_expect_rc 1
t_expect_err "v.json: 'version' must be a whole number; write \"version\": 1"
t_end

t_case "a long chain of targets is checked without recursion"
python3 -c '
import json, sys
n = 200000
t = [{"name": "t%d" % i, "cmd": ["true"], "needs": ["t%d" % (i + 1)] if i < n - 1 else []}
     for i in range(n)]
json.dump({"version": 1, "targets": t}, sys.stdout)' >"$T_TMP/chain.json"
t_run "$HYDRO" graph "$T_TMP/chain.json"
t_expect_rc 0
t_end

t_case "a cycle of targets is named"
cat >"$T_TMP/cycle.json" <<'JSON'
{"version": 1, "targets": [{"name": "a", "cmd": ["true"], "needs": ["b"]},
                           {"name": "b", "cmd": ["true"], "needs": ["c"]},
                           {"name": "c", "cmd": ["true"], "needs": ["b"]}]}
JSON
t_run "$HYDRO" graph "$T_TMP/cycle.json"
t_expect_rc 1
t_expect_err "targets depend on each other in a cycle: b -> c -> b"
t_end

t_done
