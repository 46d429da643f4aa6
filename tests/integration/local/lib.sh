# Shared by the local_*.sh tests (sourced after tests/lib.sh): a private copy of the protocol node (so that
# pgrep finds only this test's processes), a config directory, and checks
# that a run left nothing behind.
NODE=$T_TMP/node
cp "$BUILD/tests/progs/node" "$NODE" || { echo "not ok - $T_FILE: no tests/progs/node"; exit 1; }
W=$T_TMP/w
mkdir -p "$W"
: >"$W/x.hf"
PORTS_IO='[{"name": "in", "dir": "input"}, {"name": "out", "dir": "output"}]'
TMPDIR=$T_TMP
export TMPDIR

# the live (not zombie) processes running this test's node or sleeping for it
l_live() {
	for p in $(pgrep -f "$T_TMP/" 2>/dev/null); do
		s=$(ps -o stat= -p "$p" 2>/dev/null) || continue
		case $s in Z*) ;; *) echo "$p" ;; esac
	done
}

l_kill_all() {
	for p in $(pgrep -f "$T_TMP/" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
}
t_on_exit l_kill_all

# the records of DIR's state (state.json and its journal): KIND ID PID SERVICE
l_records() {
	/usr/bin/python3 "$TOP/tests/integration/local/records.py" "$1"
}

# the number of processes recorded in DIR's state with a pid
l_recorded() {
	l_records "$1" | awk '$1 == "process" && $3 != "-"' | wc -l
}

# no process left, and no record of one in the state file
l_expect_clean() {
	left=$(l_live)
	[ -z "$left" ] || { t_fail "$1: processes left: $(ps -o pid,stat,args -p $(echo $left | tr ' ' ,))"; l_kill_all; }
	if l_records "$W" | grep -q '^process '; then
		t_fail "$1: the state file still records processes"
		rm -f "$W/.hydro/state.json" "$W/.hydro/state.log"
	fi
}

# wait up to $2 tenths of a second for a command to succeed
l_wait() {
	n=0
	while ! eval "$1" >/dev/null 2>&1; do
		n=$((n + 1))
		[ $n -gt "$2" ] && return 1
		sleep 0.1
	done
}

# run `hydro -v run $1` in the background until its stdout has $2 lines
# matching the grep pattern $3, then Ctrl-C it; rc is its exit status,
# $T_TMP/out and $T_TMP/err what it printed
l_run_until() {
	"$HYDRO" -v --color=never run "$1" >"$T_TMP/out" 2>"$T_TMP/err" &
	hp=$!
	l_wait "[ \$(grep -c '$3' '$T_TMP/out') -ge $2 ]" 600 ||
		t_fail "saw $(grep -c "$3" "$T_TMP/out") of $2 lines '$3': $(tail -5 "$T_TMP/err")"
	kill -INT $hp
	l_wait "! kill -0 $hp" 300 || { t_fail "hydro did not end"; kill -9 $hp; }
	wait $hp
	rc=$?
}
