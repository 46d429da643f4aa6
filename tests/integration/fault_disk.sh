# Faults of the disk: full before a run, full during one, a read-only
# .hydro/.  Each in a mount namespace of its own, over a small tmpfs the
# test mounts (as root) and unmounts: hydro says what failed, nothing is
# left running, and what it could not write it says it lost.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
	echo "ok - fault_disk: skipped: needs root and mount namespaces"
	t_done
fi
SLEEP=$T_TMP/sleep
cp "$(command -v sleep)" "$SLEEP"

# run the shell text $1 in a mount namespace with a 256 KiB tmpfs on $W
in_small_disk() {
	unshare -m sh -c "mount -t tmpfs -o size=256k tmpfs '$W' || exit 99
		cd '$W' && : >x.hf
		$1
		cd / && umount '$W'" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
}

cat >"$T_TMP/say.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "a", "kind": "process", "on": "box",
   "cmd": ["sh", "-c", "$SLEEP 73 & yes filling-the-disk | head -c \$N; echo done"]}]}
JSON

t_case "a full disk before the run: a clear error, nothing started"
in_small_disk "cp '$T_TMP/say.json' f.json
	dd if=/dev/zero of=fill bs=1k count=1024 2>/dev/null
	N=10 '$HYDRO' run f.json; echo \"rc \$?\"
	pgrep -f '^$SLEEP 73' && echo LEFT"
t_expect_out "rc 1"
t_expect_err "No space left on device"
grep -q LEFT "$T_TMP/out" && t_fail "a process was left running"
t_end

t_case "a disk that fills during the run: said, nothing left, hydro down after"
in_small_disk "cp '$T_TMP/say.json' f.json
	N=1000000 '$HYDRO' run f.json 2>'$T_TMP/run.err' >/dev/null; echo \"rc \$?\"
	pgrep -f '^$SLEEP 73' && echo LEFT
	rm -rf .hydro/runs
	'$HYDRO' down . ; echo \"down rc \$?\""
grep -q "cannot write log file" "$T_TMP/run.err" ||
	t_fail "the lost log lines were not said: $(cat "$T_TMP/run.err")"
t_expect_out "rc 1"
t_expect_out "down rc 0"
grep -q LEFT "$T_TMP/out" && t_fail "a process was left running"
t_end

t_case "a read-only .hydro/: a clear error, nothing started"
in_small_disk "cp '$T_TMP/say.json' f.json
	mkdir -p .hydro && chmod 700 .hydro && mount -t tmpfs -o size=64k,mode=700 tmpfs .hydro &&
	mount -o remount,ro .hydro
	N=10 '$HYDRO' run f.json; echo \"rc \$?\"
	pgrep -f '^$SLEEP 73' && echo LEFT
	umount .hydro"
t_expect_out "rc 1"
t_expect_err "Read-only file system"
grep -q LEFT "$T_TMP/out" && t_fail "a process was left running"
t_end

t_done
