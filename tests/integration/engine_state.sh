# The state file: a hydro killed with SIGKILL at any instant leaves a record
# from which `hydro down` removes every process its targets started; a
# second hydro on the same directory is refused; SIGINT stops a build.
. "$TOP/tests/lib.sh"

MARK=engine-state-$$
P=$T_TMP/proj
mkdir -p "$P"

# the live processes that carry our mark in their environment
marked() {
	for e in $(grep -lsxzF "ENGINE_MARK=$MARK" /proc/[0-9]*/environ); do
		p=${e#/proc/}; p=${p%/environ}
		s=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)
		[ -n "$s" ] && [ "$s" != Z ] && echo "$p"
	done
}
kill_marked() { for p in $(marked); do kill -9 "$p" 2>/dev/null; done; }
t_on_exit kill_marked

# six targets whose commands start a background process and never end
{
	printf '{"version": 1, "targets": [\n'
	for i in 1 2 3 4 5 6; do
		[ $i -gt 1 ] && printf ',\n'
		printf '{"name": "t%s", "cmd": ["sh", "-c", "sleep 600 & sleep 600"], "env": {"ENGINE_MARK": "%s"}}' "$i" "$MARK"
	done
	printf ']}\n'
} >"$P/d.json"

# wait until the state lists n commands with a pid (or give up after 20 s:
# a loaded machine may take seconds to start hydro and its commands)
wait_recorded() {
	i=0
	while [ $i -lt 400 ]; do
		n=$(/usr/bin/python3 "$TOP/tests/integration/local/records.py" "$P" | awk '$3 != "-"' | wc -l)
		[ "${n:-0}" -ge "$1" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

t_case "kill -9 at any instant, then hydro down leaves nothing running"
for delay in 0 0.01 0.02 0.05 0.1 0.2 0.4 1; do
	"$HYDRO" -j 3 -q build "$P/d.json" >/dev/null 2>&1 &
	pid=$!
	sleep $delay
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	t_run "$HYDRO" down "$P"
	t_expect_rc 0
	left=$(marked)
	[ -z "$left" ] || t_fail "after a kill at ${delay}s, still running: $left"
	# a child forked but never let to exec sees its parent die and exits
	i=0
	while pgrep -f "build $P/d.json" >/dev/null && [ $i -lt 20 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	pgrep -f "build $P/d.json" >/dev/null &&
		t_fail "after a kill at ${delay}s, a forked hydro is stuck: $(pgrep -af "build $P/d.json")"
	[ ! -f "$P/.hydro/state.json" ] || t_fail "state.json left after down: $(cat "$P/.hydro/state.json")"
	[ ! -f "$P/.hydro/state.log" ] || t_fail "state.log left after down: $(cat "$P/.hydro/state.log")"
	kill_marked
done
t_end

t_case "down reports the stale lock and what it removed"
"$HYDRO" -j 2 -q build "$P/d.json" >/dev/null 2>&1 &
pid=$!
wait_recorded 2 || t_fail "the commands were never recorded"
kill -9 $pid
wait $pid 2>/dev/null
[ -n "$(marked)" ] || t_fail "nothing was left running to clean up"
t_run "$HYDRO" down "$P/d.json"
t_expect_rc 0
t_expect_err "taking over the lock"
t_expect_err "no longer running"
t_expect_out "removed 2 of 2 recorded things"
[ -z "$(marked)" ] || t_fail "still running: $(marked)"
t_run "$HYDRO" down "$P"
t_expect_rc 0
t_expect_out "nothing to remove"
t_end

t_case "a second hydro on the same directory is refused"
"$HYDRO" -j 2 -q build "$P/d.json" >/dev/null 2>"$T_TMP/first.err" &
pid=$!
wait_recorded 2 || t_fail "the commands were never recorded"
t_run "$HYDRO" build "$P/d.json"
t_expect_rc 1
t_expect_err "is in use by another hydro (pid $pid)"
t_end

t_case "SIGINT stops the commands and leaves no record"
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 1 ] || t_fail "exit status $rc after SIGINT, expected 1"
grep -q "cancelled" "$T_TMP/first.err" || t_fail "no word of the cancel: $(cat "$T_TMP/first.err")"
[ -z "$(marked)" ] || t_fail "still running: $(marked)"
[ ! -f "$P/.hydro/state.json" ] || t_fail "state.json left: $(cat "$P/.hydro/state.json")"
[ ! -f "$P/.hydro/state.log" ] || t_fail "state.log left: $(cat "$P/.hydro/state.log")"
t_end

t_case "down in a directory that never ran"
mkdir -p "$T_TMP/empty"
t_run "$HYDRO" down "$T_TMP/empty"
t_expect_rc 0
t_expect_out "nothing to remove"
[ ! -d "$T_TMP/empty/.hydro" ] || t_fail "down created .hydro"
t_end

t_case "down of a path that does not exist says so"
t_run "$HYDRO" down "$T_TMP/nowhere"
t_expect_rc 1
t_expect_err "cannot find '$T_TMP/nowhere'"
t_end

t_done
