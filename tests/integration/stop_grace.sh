# stop_timeout is a number of seconds, 0 included: "stop_timeout": 0 means
# no grace (SIGTERM, then SIGKILL, at once), not the 10 s default.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

t_case "stop_timeout 0: a service that ignores stop and SIGTERM is killed at once on Ctrl-C"
cat >"$W/zero.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "a", "kind": "hydroflow", "on": "box", "src": "x.hf",
               "standin": ["$NODE", "--ignore-stop", "idle"], "stop_timeout": 0}]}
JSON
"$HYDRO" run "$W/zero.json" >"$T_TMP/out" 2>"$T_TMP/err" &
HPID=$!
l_wait "[ \$(l_recorded '$W') -ge 1 ] && grep -q 'node idle' '$T_TMP/err'" 100 || t_fail "a never came up"
kill -INT $HPID
if l_wait "! kill -0 $HPID" 20; then
	wait $HPID
	rc=$?
	t_expect_rc 130
else
	t_fail "hydro still stops a 2 s after Ctrl-C, with stop_timeout 0"
	kill -INT $HPID	# the second Ctrl-C forces it
	wait $HPID
fi
l_wait "[ -z \"\$(l_live)\" ]" 20
l_expect_clean zero
t_end

t_done
