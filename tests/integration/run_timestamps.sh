# hydro run --timestamps: each echoed log line shows its arrival time, the
# one its .times file records (docs/guide.md, "Logs").
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

PY=/usr/bin/python3
cat >"$W/t.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "p", "kind": "process", "on": "box",
               "cmd": ["sh", "-c", "echo a; echo b; echo e >&2"]}]}
JSON
STAMP='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z'

t_case "--timestamps puts each line's time before it"
t_run "$HYDRO" run --timestamps --no-log-prefix "$W/t.json"
t_expect_rc 0
grep -qE "^$STAMP a\$" "$T_TMP/out" || t_fail "stdout: $(cat "$T_TMP/out")"
grep -qE "^$STAMP b\$" "$T_TMP/out" || t_fail "stdout: $(cat "$T_TMP/out")"
grep -qE "^$STAMP e\$" "$T_TMP/err" || t_fail "stderr: $(cat "$T_TMP/err")"
t_end

t_case "the times shown are the ones the .times file keeps"
run=$(ls -d "$W"/.hydro/runs/*/ | tail -1)
"$PY" - "$run/logs/p.out.times" "$T_TMP/out" <<'PY' || t_fail "$(cat "$T_TMP/out")"
import datetime, struct, sys
data = open(sys.argv[1], "rb").read()
# one little-endian uint64 a line: microseconds since the epoch, UTC
times = struct.unpack("<%dQ" % (len(data) // 8), data)
assert len(times) == 2, times
shown = [l.split(" ")[0] for l in open(sys.argv[2]).read().splitlines()]
want = [datetime.datetime.fromtimestamp(t // 1000000, datetime.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % (t % 1000000) for t in times]
assert shown == want, (shown, want)
PY
t_end

t_case "after the service's name"
t_run "$HYDRO" run --timestamps "$W/t.json"
t_expect_rc 0
grep -qE "^p \| $STAMP a\$" "$T_TMP/out" || t_fail "stdout: $(cat "$T_TMP/out")"
t_end

t_case "without --timestamps, no time"
t_run "$HYDRO" run --no-log-prefix "$W/t.json"
t_expect_rc 0
[ "$(head -1 "$T_TMP/out")" = a ] || t_fail "stdout: $(cat "$T_TMP/out")"
t_end

t_case "--timestamps is an option of run only"
t_run "$HYDRO" build --timestamps "$W/t.json"
t_expect_rc 2
t_expect_err "not known to hydro build"
t_end

t_case "nothing is left running"
l_expect_clean t
t_end

t_done
