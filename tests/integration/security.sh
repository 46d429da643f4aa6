# What hydro trusts on disk: a state file or a .hydro/ planted by someone
# else, or damaged, never makes hydro signal a process it did not start,
# follow a symbolic link, or block every run; what it writes is the user's
# alone.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

SLEEP=$T_TMP/sleep
cp "$(command -v sleep)" "$SLEEP"

# a state file recording one process: $1 the details of the update
record() {
	rm -rf "$W/.hydro"
	mkdir -p "$W/.hydro"
	cat >"$W/.hydro/state.log" <<JSON
{"op":"add","kind":"process","id":"r/a","details":{"run":"r","service":"a","host":"box","backend":"local","command":"x"}}
{"op":"update","kind":"process","id":"r/a","details":$1}
JSON
}

# hydro down in a PID namespace of its own, beside a process it never
# started: whatever the record says, that process lives; $1 the details
contained_down() {
	record "$1"
	unshare -pf --mount-proc sh -c '
		"$1" 60 & s=$!
		"$2" down "$3" >"$4/out" 2>"$4/err"; echo $? >"$4/rc"
		kill -0 $s 2>/dev/null && echo alive >"$4/sentinel"
		kill -9 $s' sh "$SLEEP" "$HYDRO" "$W" "$T_TMP"
	rc=$(cat "$T_TMP/rc")
}

if unshare -pf --mount-proc true 2>/dev/null; then
	for bad in '{"pid":1,"pgid":1,"ident":5}' \
	           '{"pid":4294967295,"pgid":4294967295,"ident":5}' \
	           '{"pid":2,"pgid":-1,"ident":5}' \
	           '{"pid":2.5,"ident":5}' \
	           '{"pid":"2","ident":5}' \
	           '{"pid":2,"pgid":0,"ident":5}' \
	           '{"pid":2,"ident":-1}'; do
		t_case "hydro down refuses a record naming $bad"
		rm -f "$T_TMP/sentinel"
		contained_down "$bad"
		[ -f "$T_TMP/sentinel" ] || t_fail "hydro down killed a process it never started"
		t_expect_rc 1
		t_expect_err "nothing is signalled"
		t_expect_err "it stays in"
		t_end
	done
fi

t_case "hydro down refuses a record without a start time"
"$SLEEP" 61 &
OTHER=$!
record "{\"pid\":$OTHER,\"pgid\":$OTHER}"
t_run "$HYDRO" down "$W"
t_expect_rc 1
t_expect_err "has no start time to prove it is the process hydro started"
kill -0 $OTHER 2>/dev/null || t_fail "hydro down killed process $OTHER, which it never started"
t_end

t_case "hydro down refuses a group that is not the process's own"
record "{\"pid\":$OTHER,\"pgid\":$$,\"ident\":1}"
t_run "$HYDRO" down "$W"
t_expect_rc 1
t_expect_err "names process group $$, not one of its own"
kill -0 $OTHER 2>/dev/null || t_fail "hydro down killed process $OTHER"
kill -9 $OTHER
wait $OTHER 2>/dev/null
t_end

t_case "hydro down refuses a command record naming a group no process can lead"
rm -rf "$W/.hydro"
mkdir -p "$W/.hydro"
echo '{"op":"add","kind":"command","id":"t","details":{"pgid":4294967297,"token":"x","what":"target t"}}' \
	>"$W/.hydro/state.log"
t_run "$HYDRO" down "$W"
t_expect_rc 1
t_expect_err "names process group 4294967297, which no process can lead"
t_end

t_case "hydro down refuses a cgroup record naming a cgroup hydro did not make"
rm -rf "$W/.hydro"
mkdir -p "$W/.hydro"
echo '{"op":"add","kind":"cgroup","id":"r","details":{"path":"/sys/fs/cgroup"}}' >"$W/.hydro/state.log"
t_run "$HYDRO" down "$W"
t_expect_rc 1
t_expect_err "names cgroup '/sys/fs/cgroup', not one hydro makes for run 'r'"
record '{"pid":2,"pgid":2,"ident":5,"cgroup":"/sys/fs/cgroup/unified/hydro-other"}'
t_run "$HYDRO" down "$W"
t_expect_rc 1
t_expect_err "not one hydro makes for its run"
t_end

t_case "a planted lock symlink is refused, its target untouched"
rm -rf "$W/.hydro"
mkdir -p "$W/.hydro"
echo precious >"$T_TMP/victim"
chmod 600 "$T_TMP/victim"
ln -s "$T_TMP/victim" "$W/.hydro/lock"
t_run "$HYDRO" down "$W"
t_expect_rc 1
t_expect_err ".hydro/lock' is a symbolic link"
[ "$(cat "$T_TMP/victim")" = precious ] || t_fail "the lock's target was truncated"
t_end

t_case "a .hydro/ writable by others is refused"
rm -rf "$W/.hydro"
mkdir -p "$W/.hydro"
chmod 777 "$W/.hydro"
t_run "$HYDRO" down "$W"
t_expect_rc 1
t_expect_err "is writable by other users"
t_end

if [ "$(id -u)" = 0 ]; then
	t_case "root's hydro refuses a .hydro/ of another user"
	rm -rf "$W/.hydro"
	mkdir -p "$W/.hydro"
	chown 65534 "$W/.hydro"
	t_run "$HYDRO" down "$W"
	t_expect_rc 1
	t_expect_err "belongs to another user (uid 65534)"
	t_end
fi

t_case "an empty journal and an update that is not an object"
rm -rf "$W/.hydro"
mkdir -p "$W/.hydro"
: >"$W/.hydro/state.log"
t_run "$HYDRO" down "$W"
t_expect_rc 0
t_expect_out "nothing to remove"
record '[1, 2]'
t_run "$HYDRO" down "$W"
t_expect_rc 0
t_end

t_case "a damaged state.json: what can be read is kept, the rest is said lost"
rm -rf "$W/.hydro"
mkdir -p "$W/.hydro"
printf '{"version": 1, "records": [{"kind": "process", "id": "r/a", "details": {"run": "r"}}, {"kind": "pro' \
	>"$W/.hydro/state.json"
t_run "$HYDRO" down --dry-run "$W"
t_expect_rc 0
t_expect_err "state.json' is damaged"
t_expect_err "1 record read back from it"
t_expect_out "would remove process"
[ -f "$W/.hydro/state.json.damaged" ] || t_fail "the damaged file was not kept"
t_run "$HYDRO" down "$W"
t_expect_rc 0
t_expect_out "removed 1 of 1"
t_end

t_case "what a run writes is the user's alone"
rm -rf "$W/.hydro"
cat >"$W/say.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "a", "kind": "process", "on": "box", "cmd": ["sh", "-c", "echo secret"]}]}
JSON
t_run "$HYDRO" run "$W/say.json"
t_expect_rc 0
[ "$(stat -c %a "$W/.hydro")" = 700 ] || t_fail ".hydro is $(stat -c %a "$W/.hydro")"
open=$(find "$W/.hydro" -type f -perm /077 | head -3)
[ -z "$open" ] || t_fail "readable by others: $open"
t_end

t_done
