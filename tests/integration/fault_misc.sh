# Faults: a service (and its child) that ignore SIGTERM, two hydros in one
# folder, damaged state files of each kind before a run.  Nothing is left
# running and nothing recorded is lost.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

SLEEP=$T_TMP/sleep
cp "$(command -v sleep)" "$SLEEP"

# a service whose leader and child both ignore SIGTERM; $1 extra keys
stubborn() {
	cat >"$W/s.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "s", "kind": "process", "on": "box", "stop_timeout": 0.2 $1,
   "cmd": ["sh", "-c", "trap '' TERM; $SLEEP 74 & $SLEEP 75; wait"]}
 ]}
JSON
}

start_bg() {
	"$HYDRO" run "$W/s.json" >"$T_TMP/out" 2>"$T_TMP/err" &
	HPID=$!
	l_wait "pgrep -f '^$SLEEP 75'" 100 || t_fail "the service never started: $(cat "$T_TMP/err")"
}

t_case "a service that ignores SIGTERM, with its child: SIGKILL ends both"
stubborn ''
start_bg
kill -TERM $HPID
l_wait "! kill -0 $HPID" 100 || t_fail "hydro did not end"
wait $HPID
l_wait "[ -z \"\$(l_live)\" ]" 30
l_expect_clean stubborn
t_end

t_case "two hydros in one folder: the second is refused, the first goes on"
stubborn ''
start_bg
t_run "$HYDRO" run "$W/s.json"
t_expect_rc 1
t_expect_err "is in use by another hydro (pid $HPID)"
t_run "$HYDRO" down "$W"
t_expect_rc 1
t_expect_err "is in use by another hydro (pid $HPID)"
pgrep -f "^$SLEEP 75" >/dev/null || t_fail "the first run's service is gone"
[ "$(l_recorded "$W")" -eq 1 ] || t_fail "the first run's record is gone"
kill -TERM $HPID
l_wait "! kill -0 $HPID" 100 || t_fail "hydro did not end"
wait $HPID
l_wait "[ -z \"\$(l_live)\" ]" 30
l_expect_clean two
t_end

# a state file of each kind of damage, then a run and hydro down
for damage in empty truncated garbage json-of-another-shape torn-journal garbage-journal; do
	t_case "a damaged state ($damage): the run goes on, hydro down after"
	rm -rf "$W/.hydro"
	mkdir -p "$W/.hydro"
	chmod 700 "$W/.hydro"
	case $damage in
	empty) : >"$W/.hydro/state.json" ;;
	truncated) printf '{"version": 1, "records": [{"kind": "pro' >"$W/.hydro/state.json" ;;
	garbage) head -c 300 /dev/urandom >"$W/.hydro/state.json" ;;
	json-of-another-shape) echo '[1, 2, 3]' >"$W/.hydro/state.json" ;;
	torn-journal) printf '{"op":"add","kind":"process","id":"x/y","details":{}}\n{"op":"upd' \
		>"$W/.hydro/state.log" ;;
	garbage-journal) printf 'xx\n\0\0\n{"op":7}\n' >"$W/.hydro/state.log" ;;
	esac
	stubborn ''
	start_bg
	[ "$(l_recorded "$W")" -ge 1 ] || t_fail "the run's process is not recorded"
	kill -9 $HPID
	wait $HPID 2>/dev/null
	t_run "$HYDRO" down "$W"
	t_expect_rc 0
	l_wait "[ -z \"\$(l_live)\" ]" 30
	l_expect_clean "$damage"
	t_end
done

t_done
