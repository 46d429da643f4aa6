# hydro build and hydro plan over make-style targets: what runs, what is
# skipped as up to date, and why.
. "$TOP/tests/lib.sh"

P=$T_TMP/proj
mkdir -p "$P/src"
printf 'one\n' >"$P/src/a.txt"
printf 'two\n' >"$P/src/b.txt"
# each command appends its name to runs.log, so a test sees what ran
cat >"$P/d.json" <<'JSON'
{"version": 1,
 "targets": [
  {"name": "upper", "cmd": ["sh", "-c", "echo upper >>runs.log; tr a-z A-Z <src/a.txt >A.txt"],
   "inputs": ["src/a.txt"], "outputs": ["A.txt"]},
  {"name": "all", "cmd": ["sh", "-c", "echo all >>runs.log; cat A.txt src/*.txt >all.txt"],
   "inputs": ["A.txt", "src/*.txt"], "outputs": ["all.txt"], "needs": ["upper"]},
  {"name": "alone", "cmd": ["sh", "-c", "echo alone >>runs.log; echo \"$GREETING\" >alone.txt"],
   "env": {"GREETING": "hi"}, "outputs": ["alone.txt"]}
 ]}
JSON

runs() { if [ -f "$P/runs.log" ]; then sort "$P/runs.log" | tr '\n' ' '; fi; rm -f "$P/runs.log"; }
# backdate every file, so that none is within the racy second of its hash
age() { find "$P" -path "$P/.hydro" -prune -o -type f -exec touch -d '-5 seconds' {} +; }

t_case "a first build makes every target in order"
t_run "$HYDRO" build "$P/d.json"
t_expect_rc 0
[ "$(runs)" = "all alone upper " ] || t_fail "ran: $(cat "$P/runs.log" 2>/dev/null)"
[ "$(cat "$P/all.txt")" = "$(printf 'ONE\none\ntwo')" ] || t_fail "all.txt: $(cat "$P/all.txt")"
[ "$(cat "$P/alone.txt")" = hi ] || t_fail "env not passed"
t_expect_err "ran 3 tasks"
t_end

t_case "a second build does nothing, in a new process"
t_run "$HYDRO" build "$P/d.json"
t_expect_rc 0
[ -z "$(runs)" ] || t_fail "something ran again"
t_expect_err "nothing to do: 3 tasks up to date"
age
t_run "$HYDRO" build "$P/d.json"
[ -z "$(runs)" ] || t_fail "something ran again after aging"
t_end

t_case "a touched but unchanged input does not rebuild"
touch "$P/src/a.txt" "$P/src/b.txt"
t_run "$HYDRO" build "$P/d.json"
t_expect_rc 0
[ -z "$(runs)" ] || t_fail "a touch rebuilt something"
t_end

t_case "a changed byte rebuilds what depends on it, and only that"
age
printf 'twp\n' >"$P/src/b.txt"
t_run "$HYDRO" plan "$P/d.json"
t_expect_rc 0
t_expect_out "make        target all: input 'src/b.txt' changed"
t_expect_out "up to date  target upper"
t_run "$HYDRO" build "$P/d.json"
t_expect_rc 0
[ "$(runs)" = "all " ] || t_fail "ran: wrong set"
grep -q twp "$P/all.txt" || t_fail "all.txt not remade"
t_end

t_case "a changed byte at the bottom rebuilds the chain"
age
printf 'onf\n' >"$P/src/a.txt"
t_run "$HYDRO" build "$P/d.json"
t_expect_rc 0
[ "$(runs)" = "all upper " ] || t_fail "ran: wrong set"
t_end

t_case "a missing or edited output is made again"
rm "$P/alone.txt"
t_run "$HYDRO" plan "$P/d.json"
t_expect_out "make        target alone: output 'alone.txt' is missing"
t_run "$HYDRO" build "$P/d.json"
[ "$(runs)" = "alone " ] || t_fail "alone not remade"
age
echo edited >"$P/A.txt"
t_run "$HYDRO" plan "$P/d.json"
t_expect_out "make        target upper: output 'A.txt' was changed"
t_run "$HYDRO" build "$P/d.json"
[ "$(runs)" = "upper " ] || t_fail "upper not remade"
t_end

t_case "a changed command rebuilds"
sed 's/echo \\"\$GREETING\\"/echo \\"$GREETING!\\"/' "$P/d.json" >"$P/d2.json"
t_run "$HYDRO" plan "$P/d2.json"
t_expect_out "make        target alone: its command, environment or outputs changed"
t_expect_out "1 of 3 targets to make"
t_end

t_case "a truncated cache index is ignored, and the build goes on"
age
head -c 300 "$P/.hydro/cache/index" >"$P/idx" && mv "$P/idx" "$P/.hydro/cache/index"
t_run "$HYDRO" build "$P/d.json"
t_expect_rc 0
t_expect_err "warning: ignoring the damaged part of"
[ -n "$(runs)" ] || t_fail "nothing was rebuilt"
t_run "$HYDRO" build "$P/d.json"
[ -z "$(runs)" ] || t_fail "not up to date after the rebuild"
t_end

t_case "plan --json has the model and the plan"
rm "$P/all.txt"
t_run "$HYDRO" plan --json "$P/d.json"
t_expect_rc 0
t_expect_out '"deployment":'
t_expect_out '"why":	"output '"'all.txt'"' is missing"'
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["plan"]) == 3' "$T_TMP/out" ||
	t_fail "not JSON with three plan entries"
t_end

t_case "build --json prints one JSON event per line"
t_run "$HYDRO" --json build "$P/d.json"
t_expect_rc 0
python3 - "$T_TMP/out" <<'PY' || t_fail "bad event stream: $(cat "$T_TMP/out")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev[0]["event"] == "begin" and ev[-1]["event"] == "end" and ev[-1]["ok"]
assert any(e["event"] == "finish" and e["task"] == "target all" and e["state"] == "done" for e in ev)
PY
runs >/dev/null
t_end

t_case "a failing command shows its output and fails its dependents only"
F=$T_TMP/fail
mkdir -p "$F"
cat >"$F/d.json" <<'JSON'
{"version": 1,
 "targets": [
  {"name": "bad", "cmd": ["sh", "-c", "echo 'it went wrong' >&2; exit 3"]},
  {"name": "later", "cmd": ["touch", "later"], "outputs": ["later"], "needs": ["bad"]},
  {"name": "fine", "cmd": ["touch", "fine"], "outputs": ["fine"]},
  {"name": "liar", "cmd": ["true"], "outputs": ["never-made"]},
  {"name": "nocmd", "cmd": ["no-such-program-here"]}
 ]}
JSON
t_run "$HYDRO" -j 1 build "$F/d.json"
t_expect_rc 1
t_expect_err "error: target bad: command failed with exit status 3"
t_expect_err "note: it went wrong"
t_expect_err "not run because 'target bad' failed: 'target later'"
t_expect_err "error: target liar: output 'never-made' was not made by the command"
t_expect_err "error: target nocmd: command 'no-such-program-here' not found"
[ -f "$F/fine" ] || t_fail "independent work did not finish"
[ ! -f "$F/later" ] || t_fail "a dependent of a failure ran"
[ "$(grep -c 'target bad: command failed' "$T_TMP/err")" -eq 1 ] || t_fail "reported more than once"
t_end

t_case "a missing input names what to do"
M=$T_TMP/missing
mkdir -p "$M"
echo '{"version": 1, "targets": [{"name": "t", "cmd": ["true"], "inputs": ["nope.c"]}]}' >"$M/d.json"
t_run "$HYDRO" build "$M/d.json"
t_expect_rc 1
t_expect_err "input 'nope.c' does not exist; write it or add the target that makes it to 'needs'"
t_end

t_case "a cycle among targets is refused before anything runs"
C=$T_TMP/cycle
mkdir -p "$C"
echo '{"version": 1, "targets": [{"name": "a", "cmd": ["touch", "ran"], "needs": ["b"]},
 {"name": "b", "cmd": ["touch", "ran"], "needs": ["a"]}]}' >"$C/d.json"
t_run "$HYDRO" build "$C/d.json"
t_expect_rc 1
t_expect_err "cycle"
[ ! -f "$C/ran" ] || t_fail "something ran"
t_end

t_case "a target runs in its cwd, and a config without targets has nothing to do"
W=$T_TMP/cwd
mkdir -p "$W/sub"
echo '{"version": 1, "targets": [{"name": "here", "cmd": ["sh", "-c", "pwd >where"],
 "cwd": "sub", "outputs": ["sub/where"]}]}' >"$W/d.json"
t_run "$HYDRO" build "$W/d.json"
t_expect_rc 0
[ "$(cat "$W/sub/where" 2>/dev/null)" = "$(cd "$W/sub" && pwd -P)" ] || t_fail "ran in $(cat "$W/sub/where" 2>/dev/null)"
echo '{"version": 1}' >"$W/empty.json"
t_run "$HYDRO" build "$W/empty.json"
t_expect_rc 0
t_expect_err "nothing to do"
t_end

t_case "-j 1 and -j 8 make the same"
for j in 1 8; do
	rm -rf "$P/.hydro" "$P"/*.txt
	printf 'one\n' >"$P/src/a.txt"
	t_run "$HYDRO" -j $j -q build "$P/d.json"
	t_expect_rc 0
	[ ! -s "$T_TMP/err" ] || t_fail "-q printed: $(cat "$T_TMP/err")"
	cat "$P/all.txt" "$P/alone.txt" >"$T_TMP/result.$j"
	runs >/dev/null
done
cmp -s "$T_TMP/result.1" "$T_TMP/result.8" || t_fail "results differ"
t_end

t_done
