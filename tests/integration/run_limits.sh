# What a config or a service can make hydro do, bounded: a control channel
# flooded without a newline, a NUL inside a command, a stop_timeout past
# any run, a name too long for a file; an error said during a run is never
# followed by a status of 0 (fault_disk.sh: a log the full disk refuses);
# SIGTERM gives 143 whatever the config.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

SLEEP=$T_TMP/sleep
cp "$(command -v sleep)" "$SLEEP"

t_case "a service flooding its control channel is stopped, named"
# a stand-in speaks on fd 3: 200 KiB there without a newline, then waits
cat >"$W/flood.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "flood", "kind": "hydroflow", "on": "box", "src": "x.hf",
   "standin": ["sh", "-c", "head -c 204800 /dev/zero | tr '\\\\\\\\0' x >&3; exec $SLEEP 76"],
   "stop_timeout": 0.2}]}
JSON
t_run "$HYDRO" run "$W/flood.json"
t_expect_rc 1
t_expect_err "service 'flood' wrote more than 64 KiB without a newline on its control channel (fd 3)"
l_wait "[ -z \"\$(l_live)\" ]" 30
l_expect_clean flood
t_end

t_case "a NUL inside a command is refused, not cut"
printf '{"version": 1, "hosts": [{"name": "box"}], "services": [{"name": "a", "kind": "process", "on": "box", "cmd": ["%s\\u0000x", "77"]}]}' \
	"$SLEEP" >"$W/nul.json"
t_run "$HYDRO" run "$W/nul.json"
t_expect_rc 1
t_expect_err "a string holds \\u0000, a NUL character"
pgrep -f "^$SLEEP 77" >/dev/null && t_fail "the cut command ran"
t_end

t_case "a stop_timeout past a day is refused"
cat >"$W/slow.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "a", "kind": "process", "on": "box", "cmd": ["true"], "stop_timeout": 1e308}]}
JSON
t_run "$HYDRO" run "$W/slow.json"
t_expect_rc 1
t_expect_err "a stop_timeout of 1e+308 s is more than a day"
t_end

t_case "a name too long for a log file is refused before anything runs"
long=$(printf '%05000d' 0 | tr 0 a)
cat >"$W/long.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "$long", "kind": "process", "on": "box", "cmd": ["echo", "hi"]}]}
JSON
t_run "$HYDRO" run "$W/long.json"
t_expect_rc 1
t_expect_err "is 5000 characters long; give one of at most 200"
t_end

t_case "a process that escapes its group (setsid, a double fork) ends with the run"
cat >"$W/escape.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "a", "kind": "process", "on": "box",
   "cmd": ["sh", "-c", "setsid $SLEEP 79 & exec $SLEEP 80"], "stop_timeout": 0.2}]}
JSON
"$HYDRO" run "$W/escape.json" >"$T_TMP/out" 2>"$T_TMP/err" &
HPID=$!
l_wait "pgrep -f '^$SLEEP 79' && pgrep -f '^$SLEEP 80'" 100 || t_fail "the service never started"
# the escaped one leads a session of its own; its parent is hydro once sh
# is gone (exec'd into the sleep, whose child it stays: the run ends it)
kill -TERM $HPID
l_wait "! kill -0 $HPID" 100 || t_fail "hydro did not end"
wait $HPID
l_wait "[ -z \"\$(l_live)\" ]" 30 || t_fail "the escaped process outlived the run"
l_expect_clean escape
t_end

t_case "an escaped process whose parent is gone comes back to hydro, and ends with the run"
cat >"$W/orphan.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "a", "kind": "process", "on": "box",
   "cmd": ["sh", "-c", "sh -c 'setsid $SLEEP 81 &' ; exec $SLEEP 82"], "stop_timeout": 0.2}]}
JSON
"$HYDRO" run "$W/orphan.json" >"$T_TMP/out" 2>"$T_TMP/err" &
HPID=$!
l_wait "pgrep -f '^$SLEEP 81' && pgrep -f '^$SLEEP 82'" 100 || t_fail "the service never started"
[ "$(ps -o ppid= -p "$(pgrep -f "^$SLEEP 81")" | tr -d ' ')" = $HPID ] ||
	t_fail "the orphan's parent is not hydro"
kill -TERM $HPID
l_wait "! kill -0 $HPID" 100 || t_fail "hydro did not end"
wait $HPID
t_expect_err "stopped 1 process the services left outside their process groups"
l_wait "[ -z \"\$(l_live)\" ]" 30 || t_fail "the orphan outlived the run"
l_expect_clean orphan
t_end

t_case "SIGTERM ends a run with 143"
cat >"$W/idle.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "a", "kind": "process", "on": "box", "cmd": ["$SLEEP", "78"]}]}
JSON
"$HYDRO" run "$W/idle.json" >"$T_TMP/out" 2>"$T_TMP/err" &
HPID=$!
l_wait "pgrep -f '^$SLEEP 78'" 100 || t_fail "the service never started"
kill -TERM $HPID
l_wait "! kill -0 $HPID" 100 || t_fail "hydro did not end"
wait $HPID
rc=$?
t_expect_rc 143
l_expect_clean sigterm
t_end

t_done
