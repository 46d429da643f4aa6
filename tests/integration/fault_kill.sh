# Faults: kill -9 of hydro at each phase of a run (build, launch, wire,
# run, stop), services kept (--keep, so that they outlive it), then hydro
# down: every process the run started, and what they started in turn, is
# gone, and so is every record; nothing was lost on the way.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

SLEEP=$T_TMP/sleep
cp "$(command -v sleep)" "$SLEEP"

# (a build command dies with hydro: hydro down may find nothing left)
# a target that runs $2, two services: a starts a child of its own that
# ignores SIGTERM and sleeps, b idles with $1 as its options
config() {
	cat >"$W/f.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "targets": [{"name": "t", "cmd": ["sh", "-c", "touch $T_TMP/built; $2 exit 0"], "outputs": []}],
 "services": [
  {"name": "a", "kind": "process", "on": "box", "needs": ["t"],
   "cmd": ["sh", "-c", "(trap '' TERM; exec $SLEEP 71) & exec $SLEEP 72"]},
  {"name": "b", "kind": "hydroflow", "on": "box", "src": "x.hf", "needs": ["t"],
   "standin": ["$NODE", $1 "idle"], "stop_timeout": 30}
 ]}
JSON
}

start() {
	rm -f "$T_TMP/built"
	"$HYDRO" run ${1---keep} "$W/f.json" >"$T_TMP/out" 2>"$T_TMP/err" &
	HPID=$!
}

# kill -9 of hydro once $1 holds; then hydro down leaves nothing
kill_when() {
	l_wait "$1" 150 || t_fail "never reached: $1: $(cat "$T_TMP/err")"
	kill -9 $HPID
	wait $HPID 2>/dev/null
	[ -n "$(l_live)" ] || [ "$2" = none ] || t_fail "nothing was left for hydro down to do"
	t_run "$HYDRO" down "$W"
	t_expect_rc 0
	l_wait "[ -z \"\$(l_live)\" ]" 30
	l_expect_clean "$3"
	rm -f "$W/.hydro/state.json" "$W/.hydro/state.log"
}

t_case "kill -9 in the build: the target's command is stopped by hydro down"
config '' "$SLEEP 70;"
start
kill_when "[ -f '$T_TMP/built' ]" none build
t_end

t_case "kill -9 in the launch: a service that never answers ready:"
config '"--silent-handshake",' ''
start
kill_when "[ \$(l_recorded '$W') -ge 2 ]" some launch
t_end

t_case "kill -9 in the wiring: a service that never acknowledges start"
config '"--no-ack",' ''
start
kill_when "[ \$(l_recorded '$W') -ge 2 ] && pgrep -f '$SLEEP 71'" some wire
t_end

t_case "kill -9 while running"
config '' ''
start
kill_when "grep -q 'b | node idle' '$T_TMP/err'" some run
t_end

# not kept: b dies with hydro (a's group went when a ended)
t_case "kill -9 while stopping: b ignores stop, a grandchild of a lives on"
config '"--ignore-stop",' ''
start ''
l_wait "grep -q 'b | node idle' '$T_TMP/err'" 150 ||
	t_fail "the run never ran: $(cat "$T_TMP/err")"
kill -INT $HPID
# a's sleep ends with the SIGTERM to its group: the stop is under way
kill_when "! pgrep -f '$SLEEP 72'" none stop
t_end

t_case "kill -9 with a descendant that left its group (setsid): hydro down ends it where a cgroup holds it"
cat >"$W/esc.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "a", "kind": "process", "on": "box",
   "cmd": ["sh", "-c", "setsid $SLEEP 83 & exec $SLEEP 84"]}]}
JSON
"$HYDRO" run --keep "$W/esc.json" >"$T_TMP/out" 2>"$T_TMP/err" &
HPID=$!
l_wait "pgrep -f '^$SLEEP 83' && pgrep -f '^$SLEEP 84' && [ \$(l_recorded '$W') -ge 1 ]" 100 ||
	t_fail "the service never started: $(cat "$T_TMP/err")"
kill -9 $HPID
wait $HPID 2>/dev/null
cg=$(cat "$W/.hydro/state.json" "$W/.hydro/state.log" 2>/dev/null |
	grep -o '"cgroup":"[^"]*"' | head -1 | sed 's/^"cgroup":"//; s/"$//')
t_run "$HYDRO" down "$W"
t_expect_rc 0
if [ -n "$cg" ]; then
	l_wait "[ -z \"\$(l_live)\" ]" 30 || t_fail "the escaped process outlived hydro down: $(l_live)"
	[ -d "$cg" ] && t_fail "hydro down left the run's cgroup $cg"
else
	# no writable cgroup v2: process groups alone cannot reach it
	# (docs/security.md says so)
	l_kill_all
fi
l_expect_clean escaped
t_end

t_done
