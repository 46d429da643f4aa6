# The examples, run as the README runs them.
. "$TOP/tests/lib.sh"
. "$TOP/tests/python/lib.sh"	# the examples are Python configs: LSan as for those

# run a copy, so that the tree gets no .hydro/ and what is left running can
# be told from anyone else's: the programs run in the example's directory.
# The programs build into build/cargo-target, shared by every test that
# compiles Rust: hydroflow is compiled there once (minutes, cold).
CARGO_TARGET_DIR=$TOP/build/cargo-target
HYDRO_CACHE_DIR=$T_TMP/cache
export CARGO_TARGET_DIR HYDRO_CACHE_DIR
EX=$T_TMP/echo
cp -r "$TOP/examples/echo" "$EX"
running_in() {
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
	done
}
leftovers() {
	for p in $(running_in "$EX") $(running_in "$T_TMP/chat"); do kill -9 "$p"; done
}
t_on_exit leftovers

t_case "the echo example's programs compile"
t_run timeout 1800 nice "$HYDRO" --color=never build "$EX/echo.hydro.py"
t_expect_rc 0
t_end

t_case "the echo example prints ten echoes and stops everything"
t_run timeout 60 "$HYDRO" --color=never run "$EX/echo.hydro.py"
t_expect_rc 0
n=$(grep -c '^[0-9-]* [0-9:.]* UTC: Got EchoMsg { payload: "ping [0-9]*", ts: .* } from 127.0.0.1:[0-9]*$' "$T_TMP/out")
[ "$n" -eq 10 ] || t_fail "expected the script to print 10 echoes, got $n: $(head -c 800 "$T_TMP/out")"
grep -q '^echo_server | .*Got EchoMsg { payload: "ping 0"' "$T_TMP/out" ||
	t_fail "the server's log is not shown: $(head -c 800 "$T_TMP/out")"
# the client's lines are the script's: printed by it, not echoed as well
grep -q '^echo_client |' "$T_TMP/out" "$T_TMP/err" &&
	t_fail "the client's lines are shown twice: $(head -c 800 "$T_TMP/out")"
[ -z "$(running_in "$EX")" ] || t_fail "still running in the example's directory: $(running_in "$EX")"
t_end

t_case "the kvs example: each replica answers the client"
cp -r "$TOP/examples/kvs" "$T_TMP/kvs"
t_run timeout 1800 nice "$HYDRO" --color=never build "$T_TMP/kvs/kvs.hydro.py"
t_expect_rc 0
t_run timeout 60 "$HYDRO" --color=never run "$T_TMP/kvs/kvs.hydro.py"
t_expect_rc 0
t_expect_out "greeting = hello from client 0 (from replica0)"
t_expect_out "greeting = hello from client 0 (from replica1)"
t_end

t_case "the chat example: each client hears every other client's lines"
CH=$T_TMP/chat
cp -r "$TOP/examples/chat" "$CH"
t_run timeout 1800 nice "$HYDRO" --color=never build "$CH/chat.hydro.py"
t_expect_rc 0
t_run timeout 60 "$HYDRO" --color=never run "$CH/chat.hydro.py"
t_expect_rc 0
for me in alice bob carol; do
	for them in alice bob carol; do
		[ "$me" = "$them" ] && continue
		for i in 1 2; do
			grep -q "^$me heard [0-9:]* $them: line $i from $them\$" "$T_TMP/out" ||
				t_fail "$me did not hear line $i of $them: $(head -c 800 "$T_TMP/out")"
		done
	done
	grep -q "^$me heard [0-9:]* $me:" "$T_TMP/out" &&
		t_fail "$me heard its own line: $(head -c 800 "$T_TMP/out")"
done
for p in $(running_in "$CH"); do t_fail "still running in the example's directory: $p"; done
t_end

t_case "the echo example's programs check clean"
t_run "$HYDRO" check "$TOP/examples/echo/src/echo_server.hf" "$TOP/examples/echo/src/echo_client.hf"
t_expect_rc 0
[ -s "$T_TMP/err" ] && t_fail "diagnostics: $(cat "$T_TMP/err")"
t_end

t_case "the echo example's plan names both services and their wiring"
t_run "$HYDRO" plan "$TOP/examples/echo/echo.hydro.py"
t_expect_rc 0
t_expect_out "echo_server"
t_expect_out "echo_client"
t_end

t_done
