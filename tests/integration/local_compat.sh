# Compatibility with Hydro Deploy's own program side: a program built on
# hydroflow 0.10's deploy module (tests/compat/hydroflow_relay), built by
# hydro with cargo from crates.io, wired between hydro's nodes, over Unix
# sockets and over TCP, started, fed and stopped.
#
# The build goes to build/cargo-target (CARGO_TARGET_DIR), shared by the
# plain and the SANITIZE runs, so the compile (about 2 minutes cold on 2
# cores) is paid once.  HYDRO_DEPLOY_RELAY names a program built elsewhere
# instead (run as the service's standin); without cargo or a reachable crate
# registry, the test is skipped.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

CRATE=$TOP/tests/compat/hydroflow_relay
unset HYDRO_CARGO_OFFLINE
CARGO_TARGET_DIR=$TOP/build/cargo-target
export CARGO_TARGET_DIR
if [ -n "$HYDRO_DEPLOY_RELAY" ]; then
	RELAY_SVC="\"src\": \".\", \"standin\": [\"$HYDRO_DEPLOY_RELAY\"]"
elif ! command -v "${CARGO:-cargo}" >/dev/null 2>&1; then
	echo "ok - local_compat: Hydro Deploy's program side # SKIP no cargo (or set HYDRO_DEPLOY_RELAY)"
	t_done
elif ! (cd "$CRATE" && "${CARGO:-cargo}" fetch --quiet) >"$T_TMP/fetch" 2>&1; then
	echo "ok - local_compat: Hydro Deploy's program side # SKIP the crate registry is not reachable: $(tail -1 "$T_TMP/fetch")"
	t_done
else
	RELAY_SVC="\"src\": \"$CRATE\", \"profile\": \"dev\""
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

t_case "hydro builds hydroflow_relay with cargo"
cat >"$W/build.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "relay", "kind": "crate", "on": "box", $RELAY_SVC}]}
JSON
t_run "$HYDRO" build "$W/build.json"
t_expect_rc 0
t_run "$HYDRO" plan "$W/build.json"
t_expect_rc 0
[ -n "$HYDRO_DEPLOY_RELAY" ] || t_expect_out "up to date  crate $CRATE --profile dev"
t_end

t_case "hydroflow 0.10's deploy side: InitConfig, ready:, start:, ack start, frames, stop (Unix sockets)"
cat >"$W/unix.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "src", "kind": "hydroflow", "on": "box", "src": "x.hf", "standin": ["$NODE", "source", "50"],
   "ports": [{"name": "out", "dir": "output"}]},
  {"name": "relay", "kind": "crate", "on": "box", $RELAY_SVC},
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
  {"name": "relay", "kind": "crate", "on": "box", $RELAY_SVC},
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
