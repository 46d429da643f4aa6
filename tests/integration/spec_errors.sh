# Mistakes in connections are errors that name the file and the entry
# (docs/spec.md: "Every error names the file and the path of the offending
# entry") and both ends; a failed run says what is left.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

# a and b with ports in and out; $1: the connections
conns() {
	cat >"$W/c.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "a", "kind": "hydroflow", "on": "box", "src": "x.hf", "standin": ["$NODE", "relay"], "ports": $PORTS_IO},
  {"name": "b", "kind": "hydroflow", "on": "box", "src": "x.hf", "standin": ["$NODE", "relay"], "ports": $PORTS_IO}
 ],
 "connections": [$1]}
JSON
}

t_case "a connection made twice: the error names the file and the entry"
conns '{"from": "a.out", "to": "b.in"}, {"from": "a.out", "to": "b.in"}'
t_run "$HYDRO" plan "$W/c.json"
t_expect_rc 1
t_expect_err "c.json: connections[1]"
t_expect_err "'a.out' is already connected to 'b.in'"
t_end

t_case "two inputs: the error names the file and the entry"
conns '{"from": "a.out", "to": "b.in"}, {"from": "a.in", "to": "b.in"}'
t_run "$HYDRO" plan "$W/c.json"
t_expect_rc 1
t_expect_err "c.json: connections[1]"
t_end

t_case "a port to itself: the error names the file and the entry"
conns '{"from": "a.out", "to": "a.out"}'
t_run "$HYDRO" plan "$W/c.json"
t_expect_rc 1
t_expect_err "c.json: connections[0]"
t_end

t_case "a port of an unknown name: the error names the file, the entry and both ends"
conns '{"from": "a.nope", "to": "b.in"}'
t_run "$HYDRO" plan "$W/c.json"
t_expect_rc 1
t_expect_err "c.json: connections[0]"
t_expect_err "b.in"
t_end

t_case "a run that fails says what is left (here: nothing)"
cat >"$W/fail.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "a", "kind": "process", "on": "box", "cmd": ["sh", "-c", "exit 3"]},
              {"name": "b", "kind": "hydroflow", "on": "box", "src": "x.hf", "standin": ["$NODE", "--silent-handshake", "idle"]}]}
JSON
t_run "$HYDRO" run "$W/fail.json"
t_expect_rc 1
tail -n 2 "$T_TMP/err" | grep -qi "left" ||
	t_fail "the run ends without saying what is left: $(tail -n 3 "$T_TMP/err")"
# nobody pressed Ctrl-C: b, in its handshake, was stopped because a died
grep -q "interrupted" "$T_TMP/err" && t_fail "a's death is told as an interruption: $(grep interrupted "$T_TMP/err")"
l_expect_clean fail
t_end

t_done
