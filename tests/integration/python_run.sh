# Python config scripts that run: the seed's echo example on this machine,
# logs through async for, and cleanup whatever the script does.
. "$TOP/tests/lib.sh"
. "$TOP/tests/python/lib.sh"

W=$T_TMP/echo
py_echo_dir "$W"
MARK=hydro-test-$$-python-run
cp "$TOP"/tests/python/logs.hydro.py "$TOP"/tests/python/fail.hydro.py "$W/"

# whatever a failed case leaves, end it: only processes carrying this test's mark
kill_left() {
	for p in $(py_running "$MARK") $(py_running "$W/standin.py"); do kill -9 "$p"; done
}
t_on_exit kill_left

t_case "the seed's echo.hydro.py runs with Localhost() and stand-ins"
t_run timeout 60 "$HYDRO" -C "$W" run echo.hydro.py
t_expect_rc 0
# the script prints ten of the client's lines itself
[ "$(grep -c '^echo: ping' "$T_TMP/out")" -ge 10 ] ||
	t_fail "fewer than ten echoes: $(head -c 600 "$T_TMP/out")"
[ -z "$(py_running "$W/standin.py")" ] || t_fail "stand-ins still running after the script"
t_end

t_case "the typed example: deploy(start=False), start(), wait(), stop(), terminate()"
cp "$TOP/tests/python/typed.hydro.py" "$W/typed.hydro.py"
sed -i "s|^STANDIN = .*|STANDIN = '$W/standin.py'|" "$W/typed.hydro.py"
t_run timeout 60 "$HYDRO" -C "$W" run -D pings=3 typed.hydro.py
t_expect_rc 0
t_expect_out "echo: ping 3"
t_expect_out "reader exited with 0 0"
t_expect_out "reader: hello"
[ -z "$(py_running "$W/standin.py")" ] || t_fail "stand-ins still running after the script"
t_end

t_case "a script that runs asyncio.run(main()) itself runs main once"
cat >"$W/own.py" <<'EOF'
import asyncio
import hydro
async def main():
    d = hydro.Deployment()
    s = d.Process(cmd=["echo", "hi"])
    await d.deploy()
    print("main:", await s.wait())
if __name__ == "__main__":
    asyncio.run(main())
EOF
t_run timeout 60 "$HYDRO" -C "$W" run own.py
t_expect_rc 0
[ "$(grep -c '^main: 0$' "$T_TMP/out")" -eq 1 ] || t_fail "main did not run once: $(cat "$T_TMP/out")"
t_end

t_case "stdout() called late still starts at the first line"
t_run timeout 60 "$HYDRO" -C "$W" run -D case=late logs.hydro.py
t_expect_rc 0
t_expect_out "out: ['first', 'second']"
t_expect_out "err: third"
# shown on the terminal before the script subscribed, and not again
[ "$(grep -c '^early | first$' "$T_TMP/out")" -eq 1 ] ||
	t_fail "the early line is not shown once: $(cat "$T_TMP/out")"
t_end

t_case "a stream the script reads is not also echoed; the other one is"
t_run timeout 60 "$HYDRO" -C "$W" run -D case=echo logs.hydro.py
t_expect_rc 0
for l in o1 o2 o3; do
	[ "$(grep -c "^got: $l\$" "$T_TMP/out")" -eq 1 ] || t_fail "'$l' not read once: $(cat "$T_TMP/out")"
	grep -q "| $l\$" "$T_TMP/out" "$T_TMP/err" && t_fail "'$l' also echoed: $(cat "$T_TMP/out")"
done
for l in e1 e2; do
	[ "$(grep -c "^talk | $l\$" "$T_TMP/err")" -eq 1 ] || t_fail "stderr '$l' not echoed once: $(cat "$T_TMP/err")"
done
t_end

t_case "100 000 lines through async for, none lost, in order"
t_run timeout 120 "$HYDRO" -C "$W" run -D case=many -D lines=100000 logs.hydro.py
t_expect_rc 0
t_expect_out "lines: 100000 exit: 0"
t_end

t_case "two concurrent readers each see every line"
t_run timeout 120 "$HYDRO" -C "$W" run -D case=readers -D lines=20000 logs.hydro.py
t_expect_rc 0
t_expect_out "readers: 20000 20000 True True"
t_end

for at in 1 2 3 5 6; do
	t_case "an exception at point $at leaves nothing running"
	t_run timeout 60 "$HYDRO" -C "$W" run -D at=$at -D mark="$MARK" fail.hydro.py
	t_expect_rc 1
	t_expect_err "RuntimeError"
	t_expect_err 'File "fail.hydro.py"'
	sleep 0.2
	left=$(py_running "$MARK")
	[ -z "$left" ] || t_fail "still running: $(ps -o args= -p "$left" | head -3)"
	t_end
done

t_case "cancelling the task that awaits deploy() cancels the deployment"
t_run timeout 60 "$HYDRO" -C "$W" run -D at=7 -D mark="$MARK" fail.hydro.py
t_expect_rc 0
t_expect_out "deploy cancelled after 1 s"
sleep 0.2
[ -z "$(py_running "$MARK")" ] || t_fail "services left running"
t_end

t_case "the script ending normally leaves nothing running"
t_run timeout 60 "$HYDRO" -C "$W" run -D at=0 -D mark="$MARK" fail.hydro.py
t_expect_rc 0
t_expect_out "done"
[ -z "$(py_running "$MARK")" ] || t_fail "services left running"
t_end

t_case "--keep: the script ends, its services run on until hydro down"
cat >"$W/keep.py" <<EOF
import hydro
async def main():
    d = hydro.Deployment()
    h = d.Localhost()
    d.Process(cmd=["sh", "-c", "while :; do echo tick; sleep 0.1; done; : $MARK"], on=h, name="ticker")
    d.Process(cmd=["sh", "-c", "sleep 300; : $MARK"], on=h, name="sleeper")
    await d.deploy()
    print("deployed")
EOF
t_run timeout 60 "$HYDRO" -C "$W" run --keep keep.py
t_expect_rc 0
t_expect_err "left 'ticker' running (pid"
t_expect_err "left 'sleeper' running (pid"
sleep 0.5	# a closed pipe would kill the ticker at its next line
[ "$(py_running "$MARK" | wc -l)" -eq 2 ] || t_fail "the kept services are not running: $(py_running "$MARK")"
[ "$(grep -c '"pgid"' "$W/.hydro/state.json")" -eq 2 ] || t_fail "the records were not kept"
# its lines go on into its log file
n1=$(cat "$W"/.hydro/runs/*/logs/ticker.out | wc -l)
sleep 0.3
n2=$(cat "$W"/.hydro/runs/*/logs/ticker.out | wc -l)
[ "$n2" -gt "$n1" ] || t_fail "the kept ticker's lines do not reach its log file ($n1, $n2)"
t_run "$HYDRO" -C "$W" down
t_expect_rc 0
sleep 0.3
[ -z "$(py_running "$MARK")" ] || t_fail "left after hydro down: $(py_running "$MARK")"
[ -z "$(pgrep -f "run --keep keep.py")" ] || t_fail "the log drain outlived the services"
[ ! -f "$W/.hydro/state.json" ] || t_fail "records left: $(cat "$W/.hydro/state.json")"
t_end

t_case "Ctrl-C in async for cancels, cleans up and exits 130"
# a background job of a script has SIGINT ignored; give hydro the default back
$PY -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$HYDRO" -C "$W" run -D at=4 -D mark="$MARK" fail.hydro.py \
	>"$T_TMP/out" 2>"$T_TMP/err" &
pid=$!
i=0
while ! grep -q "waiting for Ctrl-C" "$T_TMP/out" && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
kill -INT "$pid"
wait "$pid"
rc=$?
t_expect_rc 130
t_expect_err "interrupted"
sleep 0.2
[ -z "$(py_running "$MARK")" ] || t_fail "services left running after Ctrl-C"
t_end

t_done
