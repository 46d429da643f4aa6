# Signals, to hydro and from services: a hang-up (the terminal closed, the
# ssh session dropped) stops the run as cleanly as Ctrl-C; a service killed
# by any signal is reported as killed by it; a can_die service's death is
# still reported.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

SLEEP=$T_TMP/sleep
cp "$(command -v sleep)" "$SLEEP"

t_case "SIGHUP to hydro stops every service and its children, and leaves no record"
cat >"$W/hup.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "a", "kind": "process", "on": "box", "cmd": ["sh", "-c", "'$SLEEP' 40 & wait"], "stop_timeout": 0.5},
  {"name": "b", "kind": "hydroflow", "on": "box", "src": "x.hf", "standin": ["$NODE", "idle"]}
 ]}
JSON
"$HYDRO" run "$W/hup.json" >"$T_TMP/out" 2>"$T_TMP/err" &
HPID=$!
l_wait "[ \$(l_recorded '$W') -ge 2 ] && pgrep -f '$SLEEP 40'" 100 || t_fail "the services never came up"
kill -HUP $HPID
l_wait "! kill -0 $HPID" 50 || { t_fail "hydro ignored SIGHUP"; kill -9 $HPID; }
wait $HPID
l_wait "[ -z \"\$(l_live)\" ]" 20
l_expect_clean hup
t_end

t_case "a service killed by SIGPROF (or any signal) is reported as killed by it"
cat >"$W/sig.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "a", "kind": "process", "on": "box", "cmd": ["sh", "-c", "kill -PROF \$\$"]}]}
JSON
t_run "$HYDRO" run "$W/sig.json"
t_expect_rc 1
t_expect_err "service 'a' was killed by SIGPROF"
l_expect_clean sig
t_end

t_case "a can_die service that dies is still reported, with its status"
cat >"$W/candie.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "a", "kind": "process", "on": "box", "cmd": ["sh", "-c", "echo 'a: out of memory' >&2; exit 4"], "can_die": true},
  {"name": "b", "kind": "process", "on": "box", "cmd": ["sh", "-c", "echo fine"]}
 ]}
JSON
t_run "$HYDRO" run "$W/candie.json"
t_expect_out "b | fine"
t_expect_err "service 'a' exited with status 4"
l_expect_clean candie
t_end

t_done
