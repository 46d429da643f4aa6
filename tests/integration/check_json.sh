# hydro check --json: each diagnostic one JSON object a line on stdout, with
# its file, line, col, severity, message and notes; nothing on stderr.
. "$TOP/tests/lib.sh"

PY=/usr/bin/python3
cd "$TOP/tests/hf" || exit 1

t_case "a mismatched delimiter: the error and its note, as JSON"
t_run "$HYDRO" check --json err-syntax-unclosed-paren.hf
t_expect_rc 1
[ -s "$T_TMP/err" ] && t_fail "stderr: $(cat "$T_TMP/err")"
"$PY" - "$T_TMP/out" <<'PY' || t_fail "$(cat "$T_TMP/out")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
d = json.loads(lines[0])
assert d["file"] == "err-syntax-unclosed-paren.hf", d
assert (d["line"], d["col"], d["severity"]) == (3, 1, "error"), d
assert d["message"] == "mismatched closing delimiter: `}`", d
note, help = d["notes"]
assert (note["severity"], note["message"], note["line"], note["col"]) == ("note", "unclosed delimiter", 2, 16), note
assert help["severity"] == "help" and "close the brackets" in help["message"], help
PY
t_end

t_case "a clean program prints nothing"
t_run "$HYDRO" check --json seed-echo-server.hf
t_expect_rc 0
[ -s "$T_TMP/out" ] && t_fail "stdout: $(cat "$T_TMP/out")"
[ -s "$T_TMP/err" ] && t_fail "stderr: $(cat "$T_TMP/err")"
t_end

t_case "a file that cannot be read is a diagnostic without a line"
t_run "$HYDRO" check --json nosuch.hf warn-unused-port.hf
t_expect_rc 1
[ -s "$T_TMP/err" ] && t_fail "stderr: $(cat "$T_TMP/err")"
"$PY" - "$T_TMP/out" <<'PY' || t_fail "$(cat "$T_TMP/out")"
import json, sys
a, b = [json.loads(l) for l in open(sys.argv[1])]
assert a["file"] == "nosuch.hf" and a["severity"] == "error" and "line" not in a, a
assert "cannot open 'nosuch.hf'" in a["message"], a
assert b["file"] == "warn-unused-port.hf" and b["severity"] == "warning", b
PY
t_end

t_case "the whole corpus: as many JSON diagnostics as text ones, per file"
"$HYDRO" check --color=never *.hf >/dev/null 2>"$T_TMP/text"
"$HYDRO" check --json *.hf >"$T_TMP/json" 2>"$T_TMP/err"
[ -s "$T_TMP/err" ] && t_fail "stderr: $(head -3 "$T_TMP/err")"
"$PY" - "$T_TMP/text" "$T_TMP/json" <<'PY' || t_fail "see above"
import collections, json, re, sys
text = open(sys.argv[1]).read().splitlines()
want = collections.Counter()
for i, l in enumerate(text):
    # a diagnostic's header, then its place; the closing summary has none
    if re.match(r"(error|warning): ", l) and i + 1 < len(text):
        m = re.match(r" *--> (.*):\d+:\d+$", text[i + 1])
        if m:
            want[m.group(1)] += 1
got = collections.Counter()
for l in open(sys.argv[2]):
    d = json.loads(l)
    assert {"file", "line", "col", "severity", "message", "notes"} <= d.keys(), l
    got[d["file"]] += 1
for f in set(want) | set(got):
    if want[f] != got[f]:
        print("# %s: %d JSON diagnostics, %d in text" % (f, got[f], want[f]))
        sys.exit(1)
assert sum(got.values()) > 200, sum(got.values())
PY
t_end

t_done
