#!/bin/sh
# A run prunes .hydro/runs: the folders of runs beyond the most recent
# HYDRO_KEEP_RUNS go, never the one of a run the state file still records
# (--keep), never anything named otherwise, never through a symbolic link;
# a bad HYDRO_KEEP_RUNS is warned about.  (ssh_prune.sh: the same on SSH
# hosts; test_prune: the order and the names.)
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

SLEEP=$T_TMP/sleep
cp "$(command -v sleep)" "$SLEEP"
R=$W/.hydro/runs
cat >"$W/d.json" <<'JSON'
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "a", "kind": "process", "on": "box", "cmd": ["echo", "hi"]}]}
JSON
cat >"$W/keep.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "k", "kind": "process", "on": "box",
   "cmd": ["sh", "-c", "echo up; exec $SLEEP 300"]}]}
JSON
# the run folders there (not links or files named as runs), by name
runs() {
	for f in "$R"/[0-9]*-*-*-*; do
		[ -d "$f" ] && [ ! -L "$f" ] && echo "${f##*/}"
	done
}

t_case "the folders of runs beyond HYDRO_KEEP_RUNS go, not others"
mkdir -p "$R/notes" "$T_TMP/outside"
for i in 1 2 3 4 5; do mkdir -p "$R/20200101-00000$i-1-0/logs"; done
: >"$T_TMP/outside/mine"
ln -s "$T_TMP/outside" "$R/20190101-000000-1-0"
: >"$R/20190102-000000-1-0"
t_run env HYDRO_KEEP_RUNS=3 "$HYDRO" run "$W/d.json"
t_expect_rc 0
t_expect_out "hi"
new=$(ls -t "$R" | head -n 1)
for r in 20200101-000001-1-0 20200101-000002-1-0 20200101-000003-1-0; do
	[ ! -e "$R/$r" ] || t_fail "$r is left"
done
for r in 20200101-000004-1-0 20200101-000005-1-0 "$new" notes 20190101-000000-1-0 \
	20190102-000000-1-0; do
	[ -e "$R/$r" ] || t_fail "$r was removed"
done
[ -L "$R/20190101-000000-1-0" ] && [ -e "$T_TMP/outside/mine" ] ||
	t_fail "the link or what it points to was removed"
t_end

t_case "a kept run's folder stays until hydro down"
"$HYDRO" --color=never run --keep "$W/keep.json" >"$T_TMP/out" 2>"$T_TMP/err" &
hp=$!
l_wait "grep -q up '$T_TMP/out'" 600 || t_fail "the kept service did not start: $(cat "$T_TMP/err")"
kill -INT $hp
l_wait "! kill -0 $hp" 300 || { t_fail "hydro did not end"; kill -9 $hp; }
wait $hp || t_fail "hydro run --keep failed: $(cat "$T_TMP/err")"
kept=$(ls -t "$R" | head -n 1)
t_run env HYDRO_KEEP_RUNS=0 "$HYDRO" run "$W/d.json"
t_expect_rc 0
cur=$(ls -t "$R" | head -n 1)
[ "$(runs | sort | tr '\n' ' ')" = "$(printf '%s\n' "$kept" "$cur" | sort | tr '\n' ' ')" ] ||
	t_fail "left: $(runs | tr '\n' ' '), not the kept $kept and the current $cur"
[ -e "$R/notes" ] || t_fail "notes was removed"
t_run "$HYDRO" down "$W"
t_expect_rc 0
l_wait "[ -z \"\$(l_live)\" ]" 30
l_expect_clean keep
t_run env HYDRO_KEEP_RUNS=0 "$HYDRO" run "$W/d.json"
t_expect_rc 0
[ ! -e "$R/$kept" ] || t_fail "the folder of the run stopped by hydro down is left"
t_end

t_case "a bad HYDRO_KEEP_RUNS is warned about, and the default kept"
t_run env HYDRO_KEEP_RUNS=many "$HYDRO" run "$W/d.json"
t_expect_rc 0
t_expect_err "warning: HYDRO_KEEP_RUNS='many' is not a number of runs from 0 to 1000000; keeping the last 20"
t_run env HYDRO_KEEP_RUNS=-1 "$HYDRO" run "$W/d.json"
t_expect_rc 0
t_expect_err "HYDRO_KEEP_RUNS='-1' is not a number of runs"
[ "$(runs | wc -l)" -eq 3 ] || t_fail "runs left: $(runs | tr '\n' ' ')"
t_end

t_done
