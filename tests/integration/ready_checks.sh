# A process's readiness command ({"ready": {"command": [...]}}) is part of
# the run: bounded by HYDRO_READY_TIMEOUT, cut by Ctrl-C, never outliving
# hydro, and able to find the service it checks (its HYDRO_PORT_* and env).
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

SLEEP=$T_TMP/sleep
cp "$(command -v sleep)" "$SLEEP"

# a process whose readiness check hangs (a health check on a port that
# accepts and never answers does this)
# after a failed case: end hydro and whatever it left, for the next case
force_end() {
	kill -9 $HPID 2>/dev/null
	wait $HPID
	rc=$?
	l_kill_all
	"$HYDRO" down "$W" >/dev/null 2>&1
	rm -f "$W/.hydro/state.json" "$W/.hydro/state.log"
}

hang() {
	cat >"$W/hang.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "a", "kind": "process", "on": "box", "cmd": ["$SLEEP", "30"],
               "ready": {"command": ["$SLEEP", "$1"]}}]}
JSON
}

t_case "a readiness command that hangs is cut at HYDRO_READY_TIMEOUT"
hang 20
HYDRO_READY_TIMEOUT=0.5 "$HYDRO" run "$W/hang.json" >"$T_TMP/out" 2>"$T_TMP/err" &
HPID=$!
if l_wait "! kill -0 $HPID" 25; then
	wait $HPID
	rc=$?
	t_expect_rc 1
	t_expect_err "service 'a' was not ready within 0.5 s"
	l_wait "[ -z \"\$(l_live)\" ]" 30
	l_expect_clean timeout
else
	t_fail "hydro still waits 2.5 s into a 0.5 s ready timeout"
	force_end
fi
t_end

t_case "SIGTERM to hydro cuts a readiness command that hangs"
hang 21
"$HYDRO" run "$W/hang.json" >"$T_TMP/out" 2>"$T_TMP/err" &
HPID=$!
l_wait "pgrep -f '$SLEEP 21'" 50 || t_fail "the readiness command never ran"
kill -TERM $HPID
if l_wait "! kill -0 $HPID" 20; then
	wait $HPID
	rc=$?
	t_expect_rc 143
	l_wait "[ -z \"\$(l_live)\" ]" 30
	l_expect_clean sigterm
else
	t_fail "hydro still runs 2 s after SIGTERM"
	force_end
fi
t_end

t_case "kill -9 of hydro: the readiness command does not outlive it, or hydro down"
hang 22
"$HYDRO" run "$W/hang.json" >"$T_TMP/out" 2>"$T_TMP/err" &
HPID=$!
l_wait "pgrep -f '$SLEEP 22'" 50 || t_fail "the readiness command never ran"
kill -9 $HPID
wait $HPID 2>/dev/null
"$HYDRO" down "$W" >/dev/null 2>&1
l_wait "[ -z \"\$(pgrep -f '$SLEEP 22')\" ]" 10 ||
	t_fail "the readiness command outlived hydro and hydro down: $(pgrep -af "$SLEEP 22")"
l_kill_all
rm -f "$W/.hydro/state.json" "$W/.hydro/state.log"
t_end

t_case "the readiness command sees the service's ports and env"
cat >"$W/env.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "a", "kind": "process", "on": "box",
               "cmd": ["$NODE", "--env", "sink", "1"], "env": {"GREETING": "hi"},
               "ports": [{"name": "in", "dir": "input"}],
               "ready": {"command": ["sh", "-c", "[ -n \"\$HYDRO_PORT_IN\" ] && [ \"\$GREETING\" = hi ]"]}},
              {"name": "s", "kind": "process", "on": "box", "cmd": ["$NODE", "--env", "source", "1"],
               "ports": [{"name": "out", "dir": "output"}]}],
 "connections": [{"from": "s.out", "to": "a.in"}]}
JSON
HYDRO_READY_TIMEOUT=1 t_run "$HYDRO" run "$W/env.json"
t_expect_rc 0
t_expect_out "ok 1"
l_expect_clean env
t_end

t_done
