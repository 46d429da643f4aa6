# The log files hold a service's output in full: a line of exactly 64 KiB
# (LOG_LINE_MAX) is one line, not that line and an empty one.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

t_case "a line of exactly 64 KiB is kept as one line"
cat >"$W/long.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "p", "kind": "process", "on": "box",
               "cmd": ["sh", "-c", "head -c 65536 /dev/zero | tr '\\\\\\\\0' x; echo; echo end"]}]}
JSON
t_run "$HYDRO" run --no-log-prefix "$W/long.json"
t_expect_rc 0
f=$(ls "$W"/.hydro/runs/*/logs/p.out)
[ "$(awk '{ print length($0) }' "$f" | tr '\n' ' ')" = "65536 3 " ] ||
	t_fail "the log file's lines have lengths $(awk '{ print length($0) }' "$f" | tr '\n' ' ')"
[ "$(wc -l <"$T_TMP/out")" -eq 2 ] || t_fail "the terminal got $(wc -l <"$T_TMP/out") lines, not 2"
l_expect_clean long
t_end

t_done
