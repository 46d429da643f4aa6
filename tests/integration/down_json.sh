# hydro down --json: each record of .hydro/state.json, newest first, one
# JSON object a line on stdout, with what became of it.
. "$TOP/tests/lib.sh"

PY=/usr/bin/python3
W=$T_TMP/w
mkdir -p "$W/.hydro"
# a process that was being created when its run died (it never got a pid),
# then a thing of a kind this hydro does not know
cat >"$W/.hydro/state.log" <<'JSON'
{"op":"add","kind":"process","id":"old-run/a","details":{"run":"old-run","service":"a","host":"box","backend":"local","command":"node"}}
{"op":"add","kind":"vm","id":"old-run/vm1","details":{"zone":"us-west1-a"}}
JSON

# check_json FILE ACTION...: FILE holds one record a line with these actions
check_json() {
	"$PY" - "$@" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
want = sys.argv[2:]
recs = [json.loads(l) for l in lines]
assert [r["action"] for r in recs] == want, recs
assert [r["id"] for r in recs] == ["old-run/vm1", "old-run/a"], recs
assert recs[1]["kind"] == "process" and recs[1]["status"] == "creating", recs[1]
assert recs[1]["details"]["service"] == "a" and recs[1]["what"], recs[1]
PY
}

t_case "--dry-run --json lists the records and removes nothing"
t_run "$HYDRO" down --json --dry-run "$W"
t_expect_rc 0
check_json "$T_TMP/out" "would remove" "would remove" || t_fail "$(cat "$T_TMP/out")"
[ -s "$T_TMP/err" ] && t_fail "stderr: $(cat "$T_TMP/err")"
t_end

t_case "--json says which records went and which are left"
t_run "$HYDRO" down --json "$W"
t_expect_rc 1
check_json "$T_TMP/out" "left" "removed" || t_fail "$(cat "$T_TMP/out")"
t_expect_err "no kind 'vm'"
t_run "$HYDRO" down --json --dry-run "$W"
[ "$(wc -l <"$T_TMP/out" | tr -d ' ')" = 1 ] || t_fail "left: $(cat "$T_TMP/out")"
t_end

t_case "--json with nothing recorded prints nothing"
t_run "$HYDRO" down --json "$T_TMP"
t_expect_rc 0
[ -s "$T_TMP/out" ] && t_fail "stdout: $(cat "$T_TMP/out")"
t_end

t_done
