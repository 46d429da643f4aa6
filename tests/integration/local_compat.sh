# Compatibility with Hydro Deploy's own program side: a program built on
# hydroflow 0.10's deploy module (tests/compat/hydroflow_relay) wired between
# hydro's nodes, over Unix sockets and over TCP, started, fed and stopped.
# Needs the program built (cargo build in tests/compat/hydroflow_relay, or
# HYDRO_DEPLOY_RELAY naming it); skipped without it.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

RELAY=${HYDRO_DEPLOY_RELAY:-$TOP/tests/compat/hydroflow_relay/target/debug/hydroflow_relay}
if [ ! -x "$RELAY" ]; then
	echo "ok - local_compat: Hydro Deploy's program side # SKIP build tests/compat/hydroflow_relay or set HYDRO_DEPLOY_RELAY"
	t_done
fi

# run $1 in the background until its stdout has $2, then Ctrl-C it
run_until() {
	"$HYDRO" -v run "$1" >"$T_TMP/out" 2>"$T_TMP/err" &
	hp=$!
	l_wait "grep -q '$2' '$T_TMP/out'" 300 || t_fail "never saw '$2': $(tail -5 "$T_TMP/err")"
	kill -INT $hp
	l_wait "! kill -0 $hp" 100 || { t_fail "hydro did not end"; kill -9 $hp; }
	wait $hp
	rc=$?
}

t_case "hydroflow 0.10's deploy side: InitConfig, ready:, start:, ack start, frames, stop (Unix sockets)"
cat >"$W/unix.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "src", "kind": "hydroflow", "on": "box", "src": "x.hf", "standin": ["$NODE", "source", "50"],
   "ports": [{"name": "out", "dir": "output"}]},
  {"name": "relay", "kind": "crate", "on": "box", "src": ".", "standin": ["$RELAY"]},
  {"name": "sink", "kind": "crate", "on": "box", "src": ".", "standin": ["$NODE", "--until-complete", "sink", "50"]}
 ],
 "connections": [{"from": "src.out", "to": "relay.input"}, {"from": "relay.output", "to": "sink.in"}]}
JSON
run_until "$W/unix.json" "sink  | ok 50"
t_expect_rc 130
t_expect_err "service 'relay' exited with status 0"
l_expect_clean unix
t_end

t_case "hydroflow 0.10's deploy side over TCP (v0.10's TcpPort encoding), between processes"
cat >"$W/tcp.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "sink", "kind": "process", "on": "box", "cmd": ["$NODE", "--env", "--until-complete", "sink", "40"],
   "env": {"HYDRO_PORT_SENDERS": "1"}, "ports": [{"name": "in", "dir": "input"}], "ready": {"port": "in"}},
  {"name": "relay", "kind": "crate", "on": "box", "src": ".", "standin": ["$RELAY"]},
  {"name": "src", "kind": "process", "on": "box", "cmd": ["$NODE", "--env", "source", "40"],
   "ports": [{"name": "out", "dir": "output"}]}
 ],
 "connections": [{"from": "src.out", "to": "relay.input"}, {"from": "relay.output", "to": "sink.in"}]}
JSON
run_until "$W/tcp.json" "sink  | ok 40"
t_expect_rc 130
t_expect_err "service 'relay' exited with status 0"
l_expect_clean tcp
t_end

t_done
