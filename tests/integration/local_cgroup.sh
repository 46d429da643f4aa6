# A service is in its run's cgroup from its first instruction: born there
# (clone3 with CLONE_INTO_CGROUP) or, where that is refused or hydro starts
# it another way (--keep), moved there before it execs.  Either way what it
# starts stays there too.  Skipped where the system gives no writable
# cgroup v2.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

t_on_exit l_kill_all

cat >"$W/cg.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "a", "kind": "process", "on": "box",
   "cmd": ["sh", "-c", "grep '^0::' /proc/self/cgroup; sh -c \"grep '^0::' /proc/self/cgroup\""]}]}
JSON

# what hydro would make a run's cgroup in: none, no test
writable=
if grep -q ' cgroup2 ' /proc/mounts 2>/dev/null; then
	mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	[ -w "$mnt" ] && writable=1
fi

for how in "" --keep; do
	t_case "a service and its child are in the run's cgroup ${how:-(born there)}"
	if [ -z "$writable" ]; then
		echo "ok - $T_FILE: $T_NAME # SKIP no writable cgroup v2"
		continue
	fi
	t_run "$HYDRO" --color=never run $how "$W/cg.json"
	t_expect_rc 0
	n=$(grep -c '0::/.*hydro-' "$T_TMP/out")
	[ "$n" = 2 ] || t_fail "not both in a hydro cgroup: $(cat "$T_TMP/out")"
	[ -n "$how" ] && { "$HYDRO" down "$W" >/dev/null 2>&1; l_kill_all; }
	t_end
done

t_done
