# Lifecycle: kill -9 of one service, of hydro itself, Ctrl-C at each phase
# and twice, can_die, stop escalation.  No process is left, and the state
# file agrees.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

# three idle services; $1: options for b's node, $2: extra keys for b
trio() {
	cat >"$W/trio.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "a", "kind": "hydroflow", "on": "box", "src": "x.hf", "standin": ["$NODE", "idle"]},
  {"name": "b", "kind": "hydroflow", "on": "box", "src": "x.hf", "standin": ["$NODE", $1 "idle"] $2},
  {"name": "c", "kind": "process", "on": "box", "cmd": ["$NODE", "--env", "idle"], "stop_timeout": 0.5}
 ]}
JSON
}

# start hydro in the background; wait until n processes are recorded
start_bg() {
	"$HYDRO" run $KEEP "$W/trio.json" >"$T_TMP/out" 2>"$T_TMP/err" &
	HPID=$!
	l_wait "[ \$(l_recorded '$W') -ge $1 ]" 100 ||
		t_fail "the processes were never recorded: $(cat "$T_TMP/err")"
}

# wait for hydro to end; its status in rc
wait_bg() {
	l_wait "! kill -0 $HPID" "${1:-100}" || { t_fail "hydro did not end"; kill -9 $HPID; }
	wait $HPID
	rc=$?
}

pid_of() {
	l_records "$W" | awk -v s="$1" '$1 == "process" && $4 == s { print $3; exit }'
}

t_case "kill -9 of one service: reported, the others stopped, exit 1"
trio '' ''
start_bg 3
kill -9 "$(pid_of b)"
wait_bg
t_expect_rc 1
t_expect_err "service 'b' was killed by SIGKILL (status 137)"
t_expect_err "stopping the other services"
l_expect_clean kill-one
t_end

t_case "can_die: the others run on until Ctrl-C, which exits 130"
trio '' ', "can_die": true'
start_bg 3
kill -9 "$(pid_of b)"
sleep 0.3
kill -0 $HPID 2>/dev/null || t_fail "hydro ended when a can_die service died"
[ -n "$(pid_of a)" ] && kill -0 "$(pid_of a)" 2>/dev/null || t_fail "service a is gone"
kill -INT $HPID
wait_bg
t_expect_rc 130
t_expect_err "interrupted: stopping every service"
l_expect_clean can-die
t_end

t_case "kill -9 of hydro: no service outlives it, the state file records them"
trio '' ''
start_bg 3
pids="$(pid_of a) $(pid_of b) $(pid_of c)"
kill -9 $HPID
wait $HPID 2>/dev/null
l_wait "[ -z \"\$(l_live)\" ]" 30 || t_fail "processes outlived hydro: $(l_live)"
[ "$(l_recorded "$W")" -eq 3 ] || t_fail "the state file lost the records"
for p in $pids; do
	case $(ps -o stat= -p "$p" 2>/dev/null) in ""|Z*) ;; *) t_fail "process $p is alive" ;; esac
done
rm -f "$W/.hydro/state.json" "$W/.hydro/state.log"
l_expect_clean kill-hydro
t_end

t_case "Ctrl-C while a service is in its handshake"
trio '"--silent-handshake",' ''
start_bg 2
sleep 0.2
kill -INT $HPID
wait_bg 50
t_expect_rc 130
l_expect_clean ctrl-c-launch
t_end

t_case "Ctrl-C while waiting for ack start"
trio '"--no-ack",' ''
start_bg 3
sleep 0.3
kill -INT $HPID
wait_bg 50
t_expect_rc 130
l_expect_clean ctrl-c-start
t_end

t_case "a second Ctrl-C forces what ignores stop and SIGTERM"
trio '"--ignore-stop",' ', "stop_timeout": 60'
start_bg 3
sleep 0.3
kill -INT $HPID
sleep 0.5
kill -0 $HPID 2>/dev/null || t_fail "hydro ended before b stopped"
kill -INT $HPID
wait_bg 30
t_expect_rc 130
l_expect_clean ctrl-c-twice
t_end

t_case "stop escalates: stop, SIGTERM, SIGKILL after stop_timeout each"
trio '"--ignore-stop",' ', "stop_timeout": 0.3'
start_bg 3
kill -INT $HPID
wait_bg 30
t_expect_rc 130
l_expect_clean escalate
t_end

t_case "--keep: Ctrl-C once all are up leaves them running for hydro down"
trio '' ''
KEEP=--keep start_bg 3
sleep 0.3
pids="$(pid_of a) $(pid_of b) $(pid_of c)"
kill -INT $HPID
wait_bg
t_expect_rc 0
for s in a b c; do t_expect_err "left '$s' running (pid $(pid_of $s))"; done
t_expect_err "'hydro down' in"
sleep 0.5	# a service that took hydro's end for a stop would be gone by now
for p in $pids; do kill -0 "$p" 2>/dev/null || t_fail "kept service $p is gone"; done
[ "$(l_recorded "$W")" -eq 3 ] || t_fail "the records were not kept"
t_run "$HYDRO" down "$W"
t_expect_rc 0
l_wait "[ -z \"\$(l_live)\" ]" 30
l_expect_clean keep
t_end

t_case "--keep: Ctrl-C before all are up stops them as ever"
trio '"--silent-handshake",' ''
KEEP=--keep start_bg 2
sleep 0.2
kill -INT $HPID
wait_bg 50
t_expect_rc 130
l_expect_clean keep-launch
t_end

t_done
