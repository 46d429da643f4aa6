# hydro down after a crash must remove what the run left, and nothing else:
# a record whose process is gone and whose pid now belongs to an unrelated
# process (pid reuse, a reboot) must not get that process's group killed.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

SLEEP=$T_TMP/sleep
cp "$(command -v sleep)" "$SLEEP"

# a journal that records a process of a crashed run: pid, pgid, and the
# start time (ident) the process had then
journal() {
	mkdir -p "$W/.hydro"
	cat >"$W/.hydro/state.log" <<JSON
{"op":"add","kind":"process","id":"old-run/a","details":{"run":"old-run","service":"a","host":"box","backend":"local","command":"node"}}
{"op":"update","kind":"process","id":"old-run/a","details":{"pid":$1,"pgid":$2,"ident":$3}}
JSON
}

t_case "hydro down spares a group leader that reused a recorded pid"
# an unrelated process that leads a process group (and session) of its own,
# as daemons and every shell job do; it started after the recorded one did
setsid "$SLEEP" 60 &
OTHER=$!
l_wait "[ \"\$(ps -o pgid= -p $OTHER | tr -d ' ')\" = $OTHER ]" 50 ||
	t_fail "setsid did not make $OTHER a group leader"
# the record says pid = pgid = OTHER, but with another start time: the
# recorded process is long gone and OTHER only has its number
journal "$OTHER" "$OTHER" 1
t_run "$HYDRO" down "$W"
t_expect_rc 0
sleep 0.2
kill -0 "$OTHER" 2>/dev/null || t_fail "hydro down killed process $OTHER, which the run never started"
l_records "$W" | grep -q '^process ' && t_fail "the stale record was kept"
kill -9 "$OTHER" 2>/dev/null
wait "$OTHER" 2>/dev/null
t_end

t_case "hydro down still removes what is left of a recorded group whose leader is gone"
# the leader died (PDEATHSIG) but a grandchild lives on in its group: the
# pid is free, so the group can only be the run's
# (every service carries its run's HYDRO_RUN_DIR: what proves it is the run's)
HYDRO_RUN_DIR=$W/.hydro/runs/old-run \
	sh -c "setsid sh -c '\"$SLEEP\" 61 & echo \$\$ >\"$T_TMP/leader\"; wait' &"
l_wait "[ -s '$T_TMP/leader' ]" 50 || t_fail "no leader"
LEADER=$(cat "$T_TMP/leader")
GRAND=$(pgrep -f "$SLEEP 61")
kill -9 "$LEADER"
l_wait "! kill -0 $LEADER" 50
journal "$LEADER" "$LEADER" 1
t_run "$HYDRO" down "$W"
t_expect_rc 0
l_wait "[ -z \"\$(pgrep -f '$SLEEP 61')\" ]" 30 || t_fail "the grandchild $GRAND of the crashed run is alive"
t_end

t_done
