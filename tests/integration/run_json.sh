# hydro run --json: what a run shows becomes events, one JSON object a line
# on stdout: a service launched, each log line, an exit (docs/guide.md).
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"
. "$TOP/tests/python/lib.sh"

cat >"$W/t.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "p", "kind": "process", "on": "box",
               "cmd": ["sh", "-c", "echo a; echo 'q\"uote'; echo e >&2; exit 3"]}]}
JSON

t_case "a JSON config: launch, its lines, its exit"
t_run "$HYDRO" run --json "$W/t.json"
t_expect_rc 1
t_expect_err "service 'p' exited with status 3"
"$PY" - "$T_TMP/out" <<'PY' || t_fail "$(cat "$T_TMP/out")"
import json, re, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert [e["event"] for e in ev] == ["launch", "log", "log", "log", "exit"], ev
assert all(e["service"] == "p" for e in ev), ev
assert isinstance(ev[0]["pid"], int) and ev[0]["pid"] > 0, ev[0]
logs = [(e["stream"], e["line"]) for e in ev if e["event"] == "log"]
assert sorted(logs) == [("stderr", "e"), ("stdout", "a"), ("stdout", 'q"uote')], logs
assert [l for s, l in logs if s == "stdout"] == ["a", 'q"uote'], logs
assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", e["time"]) for e in ev if e["event"] == "log"), ev
assert ev[-1]["status"] == 3 and "signal" not in ev[-1], ev[-1]
PY
t_end

t_case "a Python config: its lines before its exit"
cat >"$W/p.hydro.py" <<'PY'
import hydro
async def main():
    d = hydro.Deployment()
    h = d.Localhost()
    p = d.Process(["sh", "-c", "echo hi"], on=h, name="p")
    await d.deploy()
    await d.start()
    await p.wait()
PY
t_run "$HYDRO" run --json "$W/p.hydro.py"
t_expect_rc 0
"$PY" - "$T_TMP/out" <<'PY' || t_fail "$(cat "$T_TMP/out")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert [(e["event"], e.get("line")) for e in ev] == [("launch", None), ("log", "hi"), ("exit", None)], ev
assert ev[-1]["status"] == 0, ev
PY
t_end

t_case "nothing is left running"
l_expect_clean t
t_end

t_done
